"""Create, read, list, replace, patch and delete for every served built-in kind, through the typed client.

The typed client deserializes every answer into its models, so a missing required field or a wrong type in
what the server returns fails here too. Kind-specific behaviour (pod defaults, status and binding, Secret
stringData, events seen through two APIs, node status) has its own tests below.
"""
from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from kubernetes import client

from apihelpers import expect_status, gone, pod_manifest, unique
from harness import wait_for

Obj = dict[str, Any]
NOW = dt.datetime.now(dt.timezone.utc)


@dataclass
class Kind:
    """How the typed client names one kind's methods, and a valid manifest for it."""

    api: Callable[[Any], Any]
    snake: str
    namespaced: bool
    manifest: Callable[[str], Obj]
    name_for: Callable[[str], str] = lambda n: n

    def call(self, api_client: Any, verb: str, ns: str, *args: Any, **kw: Any) -> Any:
        """`verb` (create, read, list, replace, patch, delete) on this kind, in `ns` when namespaced."""
        api = self.api(api_client)
        if not self.namespaced:
            return getattr(api, f"{verb}_{self.snake}")(*args, **kw)
        method = getattr(api, f"{verb}_namespaced_{self.snake}")
        if verb in ("create", "list"):
            return method(ns, *args, **kw)
        name, *rest = args
        return method(name, ns, *rest, **kw)


def _webhooks(name: str) -> list[Obj]:
    return [{"name": f"{name}.example.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
             "clientConfig": {"url": "https://127.0.0.1:1/hook"}, "failurePolicy": "Ignore",
             "rules": [{"apiGroups": ["example.com"], "apiVersions": ["v1"], "operations": ["CREATE"],
                        "resources": ["nothings"]}]}]


def _crd(name: str) -> Obj:
    group = name.split(".", 1)[1]
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": name},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}}}]}}


RULES = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
KINDS: dict[str, Kind] = {
    "namespaces": Kind(client.CoreV1Api, "namespace", False, lambda n: {"metadata": {"name": n}}),
    "pods": Kind(client.CoreV1Api, "pod", True, lambda n: pod_manifest(n)),
    "configmaps": Kind(client.CoreV1Api, "config_map", True,
                       lambda n: {"metadata": {"name": n}, "data": {"a": "1"}}),
    "secrets": Kind(client.CoreV1Api, "secret", True,
                    lambda n: {"metadata": {"name": n}, "data": {"a": base64.b64encode(b"1").decode()}}),
    "serviceaccounts": Kind(client.CoreV1Api, "service_account", True, lambda n: {"metadata": {"name": n}}),
    "services": Kind(client.CoreV1Api, "service", True,
                     lambda n: {"metadata": {"name": n}, "spec": {"ports": [{"port": 80}], "selector": {"a": "b"}}}),
    "endpoints": Kind(client.CoreV1Api, "endpoints", True,
                      lambda n: {"metadata": {"name": n}, "subsets": [{"addresses": [{"ip": "10.0.0.1"}],
                                                                      "ports": [{"port": 80}]}]}),
    "events": Kind(client.CoreV1Api, "event", True,
                   lambda n: {"metadata": {"name": n}, "involvedObject": {"kind": "Pod", "name": "p"},
                              "reason": "Tested", "message": "hello", "type": "Normal"}),
    "events.events.k8s.io": Kind(client.EventsV1Api, "event", True,
                                 lambda n: {"metadata": {"name": n}, "eventTime": NOW, "action": "Test",
                                            "reason": "Tested", "note": "hello", "type": "Normal",
                                            "reportingController": "tests/api", "reportingInstance": "i-1",
                                            "regarding": {"kind": "Pod", "name": "p"}}),
    "resourcequotas": Kind(client.CoreV1Api, "resource_quota", True,
                           lambda n: {"metadata": {"name": n}, "spec": {"hard": {"pods": "10"}}}),
    "limitranges": Kind(client.CoreV1Api, "limit_range", True,
                        lambda n: {"metadata": {"name": n},
                                   "spec": {"limits": [{"type": "Container", "default": {"cpu": "1"}}]}}),
    "podtemplates": Kind(client.CoreV1Api, "pod_template", True,
                         lambda n: {"metadata": {"name": n}, "template": {"spec": pod_manifest("x")["spec"]}}),
    "nodes": Kind(client.CoreV1Api, "node", False, lambda n: {"metadata": {"name": n}}),
    "leases": Kind(client.CoordinationV1Api, "lease", True,
                   lambda n: {"metadata": {"name": n}, "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15,
                                                                "acquireTime": NOW, "renewTime": NOW}}),
    "customresourcedefinitions": Kind(client.ApiextensionsV1Api, "custom_resource_definition", False,
                                      lambda n: _crd(n), lambda n: f"widgets.{n}.example.com"),
    "mutatingwebhookconfigurations": Kind(client.AdmissionregistrationV1Api, "mutating_webhook_configuration",
                                          False, lambda n: {"metadata": {"name": n}, "webhooks": _webhooks(n)}),
    "validatingwebhookconfigurations": Kind(client.AdmissionregistrationV1Api, "validating_webhook_configuration",
                                            False, lambda n: {"metadata": {"name": n}, "webhooks": _webhooks(n)}),
    "roles": Kind(client.RbacAuthorizationV1Api, "role", True, lambda n: {"metadata": {"name": n}, "rules": RULES}),
    "rolebindings": Kind(client.RbacAuthorizationV1Api, "role_binding", True,
                         lambda n: {"metadata": {"name": n},
                                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": n},
                                    "subjects": [{"kind": "User", "name": "alice"}]}),
    "clusterroles": Kind(client.RbacAuthorizationV1Api, "cluster_role", False,
                         lambda n: {"metadata": {"name": n}, "rules": RULES}),
    "clusterrolebindings": Kind(client.RbacAuthorizationV1Api, "cluster_role_binding", False,
                                lambda n: {"metadata": {"name": n},
                                           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                       "name": n},
                                           "subjects": [{"kind": "User", "name": "alice"}]}),
}


@pytest.mark.parametrize("resource", list(KINDS))
def test_crud_roundtrip(api_client, ns, resource):
    kind = KINDS[resource]
    name = kind.name_for(unique("crud"))
    created = kind.call(api_client, "create", ns, kind.manifest(name))
    assert created.metadata.name == name
    assert created.metadata.uid and created.metadata.resource_version
    if kind.namespaced:
        assert created.metadata.namespace == ns

    got = kind.call(api_client, "read", ns, name)
    assert got.metadata.uid == created.metadata.uid
    assert got.metadata.resource_version == created.metadata.resource_version

    listed = kind.call(api_client, "list", ns)
    assert name in [i.metadata.name for i in listed.items]

    got.metadata.labels = {**(got.metadata.labels or {}), "step": "replaced"}
    replaced = kind.call(api_client, "replace", ns, name, got)
    assert replaced.metadata.labels["step"] == "replaced"
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)

    patched = kind.call(api_client, "patch", ns, name, {"metadata": {"annotations": {"step": "patched"}}})
    assert patched.metadata.annotations["step"] == "patched"
    assert patched.metadata.labels["step"] == "replaced"

    kind.call(api_client, "delete", ns, name)
    wait_for(lambda: gone(lambda: kind.call(api_client, "read", ns, name)), what=f"{resource} {name} gone")


def test_pod_gets_upstream_defaults_and_pending_phase(core, ns):
    pod = core.create_namespaced_pod(ns, pod_manifest("defaults", containers=[
        {"name": "a", "image": "busybox"}, {"name": "b", "image": "busybox:1.36"}]))
    spec = pod.spec
    assert spec.restart_policy == "Always"
    assert spec.termination_grace_period_seconds == 30
    assert spec.dns_policy == "ClusterFirst"
    assert spec.scheduler_name == "default-scheduler"
    assert spec.enable_service_links is True
    assert spec.priority == 0
    assert spec.service_account_name == "default"
    a, b = spec.containers
    for c in (a, b):
        assert c.termination_message_path == "/dev/termination-log"
        assert c.termination_message_policy == "File"
    assert a.image_pull_policy == "Always"  # no tag means :latest
    assert b.image_pull_policy == "IfNotPresent"
    assert pod.status.phase == "Pending"


def test_pod_create_ignores_status_in_body(core, ns):
    body = pod_manifest("nostatus")
    body["status"] = {"phase": "Running", "podIP": "10.1.2.3"}
    pod = core.create_namespaced_pod(ns, body)
    assert pod.status.phase == "Pending"
    assert pod.status.pod_ip is None


def test_pod_status_subresource_writes_status(core, ns):
    core.create_namespaced_pod(ns, pod_manifest("st"))
    pod = core.read_namespaced_pod_status("st", ns)
    pod.status.phase = "Running"
    pod.status.pod_ip = "10.0.0.7"
    updated = core.replace_namespaced_pod_status("st", ns, pod)
    assert updated.status.phase == "Running"
    assert core.read_namespaced_pod("st", ns).status.pod_ip == "10.0.0.7"
    patched = core.patch_namespaced_pod_status("st", ns, {"status": {"message": "hi"}})
    assert patched.status.message == "hi" and patched.status.phase == "Running"


def test_pod_binding_assigns_node_and_marks_scheduled(core, ns):
    core.create_namespaced_pod(ns, pod_manifest("bind"))
    body = client.V1Binding(metadata=client.V1ObjectMeta(name="bind"),
                            target=client.V1ObjectReference(kind="Node", name="node-a"))
    core.create_namespaced_pod_binding("bind", ns, body, _preload_content=False)
    pod = core.read_namespaced_pod("bind", ns)
    assert pod.spec.node_name == "node-a"
    assert any(c.type == "PodScheduled" and c.status == "True" for c in pod.status.conditions)


def test_pod_binding_twice_is_a_conflict(core, ns):
    core.create_namespaced_pod(ns, pod_manifest("bind2"))
    body = {"metadata": {"name": "bind2"}, "target": {"kind": "Node", "name": "node-a"}}
    core.create_namespaced_pod_binding("bind2", ns, body, _preload_content=False)
    body["target"]["name"] = "node-b"
    expect_status(lambda: core.create_namespaced_pod_binding("bind2", ns, body, _preload_content=False),
                  409, "Conflict")
    assert core.read_namespaced_pod("bind2", ns).spec.node_name == "node-a"


def test_secret_string_data_folds_into_data(core, ns):
    secret = core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "stringData": {"user": "admin"},
                                                "data": {"other": base64.b64encode(b"x").decode()}})
    assert secret.type == "Opaque"
    assert secret.string_data is None
    assert base64.b64decode(secret.data["user"]) == b"admin"
    assert base64.b64decode(secret.data["other"]) == b"x"
    secret.string_data = {"user": "root"}
    updated = core.replace_namespaced_secret("s", ns, secret)
    assert base64.b64decode(updated.data["user"]) == b"root"
    assert updated.string_data is None


def test_service_gets_cluster_ip_and_defaults(core, ns):
    svc = core.create_namespaced_service(ns, {"metadata": {"name": "web"},
                                              "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}})
    assert svc.spec.type == "ClusterIP"
    assert svc.spec.cluster_ip and svc.spec.cluster_ip != "None"
    assert svc.spec.ports[0].protocol == "TCP"
    assert svc.spec.ports[0].target_port == 80


def test_headless_selectorless_service_defaults_to_both_ip_families(core, ns):
    svc = core.create_namespaced_service(ns, {"metadata": {"name": "dns"},
                                              "spec": {"clusterIP": "None", "ports": [{"port": 53}]}})
    assert svc.spec.cluster_ips == ["None"]
    assert (svc.spec.ip_family_policy, svc.spec.ip_families) == ("RequireDualStack", ["IPv4", "IPv6"])


def test_node_port_service_defaults_external_traffic_policy(core, ns):
    svc = core.create_namespaced_service(ns, {"metadata": {"name": "np"},
                                              "spec": {"type": "NodePort", "ports": [{"port": 80}]}})
    assert svc.spec.external_traffic_policy == "Cluster"


def test_core_event_is_visible_through_events_k8s_io(core, ns, http):
    core.create_namespaced_event(ns, {"metadata": {"name": "ev1"}, "involvedObject": {"kind": "Pod", "name": "p1",
                                                                                      "namespace": ns},
                                      "reason": "Started", "message": "started it", "type": "Normal",
                                      "source": {"component": "kubelet"}})
    # raw HTTP: a core event has no eventTime, which events.k8s.io/v1 serializes as null (as upstream does),
    # and the Python client's EventsV1Event model refuses a null eventTime
    seen = http.get(f"/apis/events.k8s.io/v1/namespaces/{ns}/events/ev1").json()
    assert (seen["apiVersion"], seen["kind"]) == ("events.k8s.io/v1", "Event")
    assert seen["regarding"]["name"] == "p1"
    assert seen["note"] == "started it"
    assert seen["reason"] == "Started"
    assert seen["deprecatedSource"] == {"component": "kubelet"}
    assert "involvedObject" not in seen and "message" not in seen


def test_events_k8s_io_event_is_visible_as_core_event(api_client, core, ns):
    events_v1 = client.EventsV1Api(api_client)
    created = events_v1.create_namespaced_event(ns, KINDS["events.events.k8s.io"].manifest("ev2"))
    seen = core.read_namespaced_event("ev2", ns)
    assert seen.metadata.uid == created.metadata.uid
    assert seen.involved_object.name == "p"
    assert seen.message == "hello"
    assert seen.reporting_component == "tests/api"
    assert [e.metadata.name for e in core.list_namespaced_event(ns).items] == \
        [e.metadata.name for e in events_v1.list_namespaced_event(ns).items]


def test_node_status_subresource_keeps_spec(core):
    name = unique("node")
    core.create_node({"metadata": {"name": name}, "spec": {"podCIDR": "10.244.0.0/24"}})
    try:
        patched = core.patch_node_status(name, {"spec": {"unschedulable": True},
                                                "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
        assert patched.status.conditions[0].type == "Ready"
        assert not patched.spec.unschedulable
        node = core.read_node(name)
        node.status.capacity = {"cpu": "2"}
        assert core.replace_node_status(name, node).status.capacity == {"cpu": "2"}
    finally:
        core.delete_node(name)


def test_node_main_endpoint_ignores_status(core):
    name = unique("node")
    core.create_node({"metadata": {"name": name}})
    try:
        core.patch_node_status(name, {"status": {"capacity": {"cpu": "4"}}})
        node = core.patch_node(name, {"spec": {"unschedulable": True}, "status": {"capacity": {"cpu": "99"}}})
        assert node.spec.unschedulable is True
        assert node.status.capacity == {"cpu": "4"}
    finally:
        core.delete_node(name)


def test_lease_times_round_trip_as_microtime(api_client, ns, http):
    leases = client.CoordinationV1Api(api_client)
    stamp = dt.datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=dt.timezone.utc)
    leases.create_namespaced_lease(ns, {"metadata": {"name": "l"}, "spec": {"holderIdentity": "a",
                                                                            "renewTime": stamp}})
    assert leases.read_namespaced_lease("l", ns).spec.renew_time == stamp
    http.patch(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/l",
               json={"spec": {"renewTime": "2025-01-02T03:04:06.000001Z"}},
               headers={"Content-Type": "application/merge-patch+json"}).raise_for_status()
    assert leases.read_namespaced_lease("l", ns).spec.renew_time == stamp.replace(second=6, microsecond=1)
