"""The kinds beyond core through a real server and the official Python client: each kind's defaults and a
refusal, the objects a fresh server has, pod admission by PriorityClass and RuntimeClass, and the local
APIServices following the CRDs."""
from __future__ import annotations

from typing import Any, Iterator

import pytest
from kubernetes import client

from apihelpers import expect_http, expect_status, unique
from harness import wait_for

Obj = dict[str, Any]


@pytest.fixture(scope="module")
def scheduling(api_client) -> client.SchedulingV1Api:
    return client.SchedulingV1Api(api_client)


@pytest.fixture(scope="module")
def flowcontrol(api_client) -> client.FlowcontrolApiserverV1Api:
    return client.FlowcontrolApiserverV1Api(api_client)


@pytest.fixture(scope="module")
def apiregistration(api_client) -> client.ApiregistrationV1Api:
    return client.ApiregistrationV1Api(api_client)


@pytest.fixture
def priority_class(scheduling) -> Iterator[str]:
    name = unique("pc")
    scheduling.create_priority_class({"metadata": {"name": name}, "value": 700, "preemptionPolicy": "Never"})
    yield name
    scheduling.delete_priority_class(name)


def test_system_priority_classes_exist_at_start(scheduling) -> None:
    found = {pc.metadata.name: pc.value for pc in scheduling.list_priority_class().items}
    assert found["system-node-critical"] == 2000001000
    assert found["system-cluster-critical"] == 2000000000


def test_priority_class_defaults_and_the_reserved_prefix(scheduling) -> None:
    name = unique("pc")
    created = scheduling.create_priority_class({"metadata": {"name": name}, "value": 5})
    assert (created.preemption_policy, created.metadata.generation) == ("PreemptLowerPriority", 1)
    scheduling.delete_priority_class(name)
    status = expect_status(lambda: scheduling.create_priority_class({"metadata": {"name": "system-x"}, "value": 5}),
                           422, "Invalid")
    assert status["details"]["causes"][0]["field"] == "metadata.name"


def test_pod_gets_the_priority_of_its_class(core, ns, priority_class) -> None:
    pod = core.create_namespaced_pod(ns, {"metadata": {"name": "p"}, "spec": {
        "priorityClassName": priority_class, "containers": [{"name": "c", "image": "busybox"}]}})
    assert (pod.spec.priority, pod.spec.preemption_policy) == (700, "Never")


def test_pod_naming_an_unknown_class_is_forbidden(core, ns) -> None:
    status = expect_status(lambda: core.create_namespaced_pod(ns, {"metadata": {"name": "p"}, "spec": {
        "priorityClassName": "nothing", "containers": [{"name": "c", "image": "busybox"}]}}), 403, "Forbidden")
    assert status["message"] == 'pods "p" is forbidden: no PriorityClass with name nothing was found'


def test_runtime_class_overhead_is_copied_and_a_missing_class_refused(api_client, core, ns) -> None:
    nodes = client.NodeV1Api(api_client)
    name = unique("rc")
    nodes.create_runtime_class({"metadata": {"name": name}, "handler": "runc",
                                "overhead": {"podFixed": {"cpu": "100m"}}})
    try:
        pod = core.create_namespaced_pod(ns, {"metadata": {"name": "p"}, "spec": {
            "runtimeClassName": name, "containers": [{"name": "c", "image": "busybox"}]}})
        assert pod.spec.overhead == {"cpu": "100m"}
        status = expect_status(lambda: core.create_namespaced_pod(ns, {"metadata": {"name": "q"}, "spec": {
            "runtimeClassName": "missing", "containers": [{"name": "c", "image": "busybox"}]}}), 403, "Forbidden")
        assert status["message"].endswith('pod rejected: RuntimeClass "missing" not found')
    finally:
        nodes.delete_runtime_class(name)


def test_pod_disruption_budget_status_and_exclusive_bounds(api_client, ns) -> None:
    policy = client.PolicyV1Api(api_client)
    pdb = policy.create_namespaced_pod_disruption_budget(ns, {"metadata": {"name": "b"}, "spec": {
        "minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
    assert (pdb.status.disruptions_allowed, pdb.status.expected_pods, pdb.metadata.generation) == (0, 0, 1)
    status = expect_status(lambda: policy.create_namespaced_pod_disruption_budget(ns, {
        "metadata": {"name": "c"}, "spec": {"minAvailable": 1, "maxUnavailable": 1}}), 422, "Invalid")
    assert status["details"]["causes"][0]["field"] == "spec"


def test_ingress_and_network_policy_defaults(api_client, ns) -> None:
    net = client.NetworkingV1Api(api_client)
    ingress = net.create_namespaced_ingress(ns, {"metadata": {"name": "i"}, "spec": {"defaultBackend": {
        "service": {"name": "web", "port": {"number": 80}}}}})
    assert ingress.metadata.generation == 1
    policy = net.create_namespaced_network_policy(ns, {"metadata": {"name": "n"}, "spec": {
        "podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]}})
    assert policy.spec.policy_types == ["Ingress"]
    assert policy.spec.ingress[0].ports[0].protocol == "TCP"


def test_flowcontrol_bootstrap_objects_exist_at_start(flowcontrol) -> None:
    schemas = {fs.metadata.name: fs for fs in flowcontrol.list_flow_schema().items}
    levels = {pl.metadata.name for pl in flowcontrol.list_priority_level_configuration().items}
    assert {"exempt", "catch-all", "global-default", "system-nodes"} <= set(schemas)
    assert {"exempt", "catch-all", "workload-low"} <= levels
    conditions = wait_for(lambda: flowcontrol.read_flow_schema("catch-all").status.conditions, 10,
                          "the Dangling condition of catch-all")
    assert [(c.type, c.status, c.reason) for c in conditions] == [("Dangling", "False", "Found")]


def test_flow_schema_naming_a_missing_level_is_dangling(flowcontrol) -> None:
    name = unique("fs")
    flowcontrol.create_flow_schema({"metadata": {"name": name}, "spec": {
        "priorityLevelConfiguration": {"name": f"{name}-missing"}}})
    try:
        conditions = wait_for(lambda: flowcontrol.read_flow_schema(name).status.conditions, 10,
                              f"the Dangling condition of {name}")
        assert [(c.type, c.status, c.reason) for c in conditions] == [("Dangling", "True", "NotFound")]
    finally:
        flowcontrol.delete_flow_schema(name)


def test_mandatory_priority_level_cannot_change(http) -> None:
    resp = http.patch("/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations/catch-all",
                      json={"spec": {"limited": {"nominalConcurrencyShares": 6}}},
                      headers={"Content-Type": "application/merge-patch+json"})
    expect_http(resp, 422, "Invalid")


def test_local_apiservices_are_available(apiregistration) -> None:
    services = {a.metadata.name: a for a in apiregistration.list_api_service().items}
    assert {"v1.", "v1.scheduling.k8s.io", "v1.flowcontrol.apiserver.k8s.io"} <= set(services)
    assert "v1.apiregistration.k8s.io" not in services
    available = services["v1.policy"].status.conditions[0]
    assert (available.type, available.status, available.reason) == ("Available", "True", "Local")


def test_a_crd_gets_an_apiservice_while_it_exists(api_client, apiregistration) -> None:
    extensions = client.ApiextensionsV1Api(api_client)
    group = f"{unique('g')}.example.com"
    extensions.create_custom_resource_definition({"metadata": {"name": f"widgets.{group}"}, "spec": {
        "group": group, "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
        "versions": [{"name": "v1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {"type": "object"}}}]}})
    name = f"v1.{group}"
    service = wait_for(lambda: next((a for a in apiregistration.list_api_service().items
                                     if a.metadata.name == name), None), 10, f"APIService {name}")
    assert (service.spec.group_priority_minimum, service.spec.version_priority) == (1000, 100)
    assert service.metadata.labels == {"kube-aggregator.kubernetes.io/automanaged": "true"}
    extensions.delete_custom_resource_definition(f"widgets.{group}")
    wait_for(lambda: all(a.metadata.name != name for a in apiregistration.list_api_service().items), 15,
             f"APIService {name} to go")


def test_remote_apiservice_is_stored_and_says_it_is_not_available(apiregistration, ns) -> None:
    group = f"{unique('g')}.example.com"
    name = f"v1.{group}"
    apiregistration.create_api_service({"metadata": {"name": name}, "spec": {
        "group": group, "version": "v1", "groupPriorityMinimum": 100, "versionPriority": 10,
        "insecureSkipTLSVerify": True, "service": {"namespace": ns, "name": "metrics"}}})
    try:
        conditions = wait_for(lambda: apiregistration.read_api_service(name).status.conditions, 10,
                              f"the availability of {name}")
        assert [(c.status, c.reason) for c in conditions] == [("False", "ServiceNotFound")]
    finally:
        apiregistration.delete_api_service(name)
