"""The kinds beyond core, their strategies and admission called directly: defaults, validation causes, Table
cells and what admission does to a pod (upstream's messages and field paths; the differential tier checks the
same against kube-apiserver)."""
from __future__ import annotations

from typing import Any

import pytest

from shim.controllers.apiservices import availability
from shim.controllers.flowcontrol import dangling_condition
from shim.machinery import validation
from shim.machinery.errors import StatusError
from shim.registry.kinds import networking, node, scheduling
from shim.registry.kinds.apiregistration import APIServiceStrategy
from shim.registry.kinds.flowcontrol import (FlowSchemaStrategy, PriorityLevelConfigurationStrategy,
                                             bootstrap_objects)
from shim.registry.kinds.networking import IngressClassStrategy, IngressStrategy, NetworkPolicyStrategy
from shim.registry.kinds.node import RuntimeClassStrategy, merge_tolerations
from shim.registry.kinds.pods import PodStrategy
from shim.registry.kinds.policy import PodDisruptionBudgetStrategy
from shim.registry.kinds.scheduling import PriorityClassStrategy

Obj = dict[str, Any]


class Stored:
    """Objects by storage key, as admission reads them."""

    def __init__(self) -> None:
        self.by_key: dict[str, list[Obj]] = {}

    def get(self, storage: str, namespace: str, name: str) -> Obj | None:
        return next((o for o in self.by_key.get(storage, []) if o["metadata"]["name"] == name), None)

    def items(self, storage: str) -> list[Obj]:
        return self.by_key.get(storage, [])


def classes(*pcs: Obj) -> Stored:
    stored = Stored()
    stored.by_key[scheduling.STORAGE] = list(pcs)
    return stored


def runtime_classes(*rcs: Obj) -> Stored:
    stored = Stored()
    stored.by_key[node.STORAGE] = list(rcs)
    return stored


def pc(name: str, value: int, **fields: Any) -> Obj:
    return {"metadata": {"name": name}, "value": value, "preemptionPolicy": "PreemptLowerPriority", **fields}


def pod(**spec: Any) -> Obj:
    return {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}], **spec}}


def fields(causes: list[dict[str, str]]) -> list[str]:
    return [c["field"] for c in causes]


# ----- PriorityClass and the Priority plugin -----

def test_priority_class_defaults_its_preemption_policy() -> None:
    obj = {"metadata": {"name": "high"}, "value": 10}
    PriorityClassStrategy().prepare_for_create(obj)
    assert obj["preemptionPolicy"] == "PreemptLowerPriority"


def test_system_prefix_is_reserved() -> None:
    causes = PriorityClassStrategy().validate({"metadata": {"name": "system-mine"}, "value": 1})
    assert causes[0]["message"] == ("Forbidden: priority class names with 'system-' prefix are reserved for system use "
                                    "only. error: system-mine is not a known system priority class")


def test_user_priority_is_capped_at_a_billion() -> None:
    causes = PriorityClassStrategy().validate(pc("high", 1_000_000_001))
    assert causes == [{"reason": "FieldValueForbidden", "field": "value",
                       "message": "Forbidden: maximum allowed value of a user defined priority is 1000000000"}]


def test_priority_class_value_is_immutable() -> None:
    causes = PriorityClassStrategy().validate_update(pc("high", 2), pc("high", 1))
    assert causes[0]["message"] == "Forbidden: may not be changed in an update."


def test_only_one_default_priority_class() -> None:
    with pytest.raises(StatusError) as refused:
        PriorityClassStrategy().validate_admission(pc("b", 2, globalDefault=True), None,
                                                   classes(pc("a", 1, globalDefault=True)))
    assert refused.value.code == 403
    assert refused.value.message == ('priorityclasses.scheduling.k8s.io "b" is forbidden: PriorityClass a is already '
                                     "marked as default. Only one default can exist")


def test_system_priority_classes_cannot_be_deleted() -> None:
    with pytest.raises(StatusError) as refused:
        PriorityClassStrategy().admit_delete(scheduling.SYSTEM_CLASSES[0])
    assert refused.value.code == 403


def test_pod_priority_comes_from_its_class() -> None:
    obj = pod(priorityClassName="high")
    scheduling.admit_pod_priority(obj, None, classes(pc("high", 500, preemptionPolicy="Never")))
    assert (obj["spec"]["priority"], obj["spec"]["preemptionPolicy"]) == (500, "Never")


def test_pod_without_class_gets_the_global_default() -> None:
    obj = pod()
    scheduling.admit_pod_priority(obj, None, classes(pc("low", 3, globalDefault=True), pc("lower", 2,
                                                                                          globalDefault=True)))
    assert (obj["spec"]["priorityClassName"], obj["spec"]["priority"]) == ("lower", 2)


def test_pod_without_any_class_gets_priority_zero() -> None:
    obj = pod()
    scheduling.admit_pod_priority(obj, None, classes())
    assert (obj["spec"]["priority"], obj["spec"]["preemptionPolicy"]) == (0, "PreemptLowerPriority")
    assert "priorityClassName" not in obj["spec"]


def test_pod_naming_an_unknown_class_is_refused() -> None:
    with pytest.raises(StatusError) as refused:
        scheduling.admit_pod_priority(pod(priorityClassName="nothing"), None, classes())
    assert refused.value.message == 'pods "p" is forbidden: no PriorityClass with name nothing was found'


def test_pod_priority_may_not_contradict_its_class() -> None:
    with pytest.raises(StatusError) as refused:
        scheduling.admit_pod_priority(pod(priorityClassName="high", priority=7), None, classes(pc("high", 500)))
    assert "the integer value of priority (7) must not be provided in pod spec" in refused.value.message


def test_pod_update_keeps_the_priority_creation_resolved() -> None:
    new, old = pod(), pod(priority=500, preemptionPolicy="Never")
    scheduling.admit_pod_priority(new, old, classes())
    assert (new["spec"]["priority"], new["spec"]["preemptionPolicy"]) == (500, "Never")


def test_pod_defaults_leave_priority_to_admission() -> None:
    obj = pod()
    PodStrategy().prepare_for_create(obj)
    assert "priority" not in obj["spec"]


# ----- RuntimeClass and its plugin -----

def test_runtime_class_handler_is_a_dns_label() -> None:
    causes = RuntimeClassStrategy().validate({"metadata": {"name": "rc"}, "handler": "a.b"})
    assert causes == [{"reason": "FieldValueInvalid", "field": "handler",
                       "message": 'Invalid value: "a.b": must not contain dots'}]


def test_runtime_class_handler_is_immutable() -> None:
    causes = RuntimeClassStrategy().validate_update({"metadata": {"name": "rc"}, "handler": "b"},
                                                    {"metadata": {"name": "rc"}, "handler": "a"})
    assert fields(causes) == ["handler"]


def test_runtime_class_overhead_is_validated_as_container_limits() -> None:
    causes = RuntimeClassStrategy().validate({"metadata": {"name": "rc"}, "handler": "runc",
                                              "overhead": {"podFixed": {"cpu": "-1"}}})
    assert fields(causes) == ["overhead.limits[cpu]"]


def test_pod_naming_a_missing_runtime_class_is_refused() -> None:
    with pytest.raises(StatusError) as refused:
        node.admit_pod_runtime_class(pod(runtimeClassName="gvisor"), runtime_classes())
    assert refused.value.message == 'pods "p" is forbidden: pod rejected: RuntimeClass "gvisor" not found'


def test_runtime_class_overhead_and_scheduling_are_copied_into_the_pod() -> None:
    rc = {"metadata": {"name": "fast"}, "handler": "runc", "overhead": {"podFixed": {"cpu": "100m"}},
          "scheduling": {"nodeSelector": {"runtime": "fast"}, "tolerations": [{"key": "t", "operator": "Exists"}]}}
    obj = pod(runtimeClassName="fast", nodeSelector={"zone": "a"})
    node.admit_pod_runtime_class(obj, runtime_classes(rc))
    assert obj["spec"]["overhead"] == {"cpu": "100m"}
    assert obj["spec"]["nodeSelector"] == {"zone": "a", "runtime": "fast"}
    assert obj["spec"]["tolerations"] == [{"key": "t", "operator": "Exists"}]


def test_merged_tolerations_drop_the_ones_another_covers() -> None:
    broad = {"key": "k", "operator": "Exists"}
    narrow = {"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}
    assert merge_tolerations([narrow], [broad, broad]) == [broad]


# ----- PodDisruptionBudget -----

def test_pdb_min_available_and_max_unavailable_exclude_each_other() -> None:
    causes = PodDisruptionBudgetStrategy().validate({"spec": {"minAvailable": 1, "maxUnavailable": "150%"}})
    assert causes[0]["message"] == ('Invalid value: {"MinAvailable":1,"Selector":null,"MaxUnavailable":"150%",'
                                    '"UnhealthyPodEvictionPolicy":null}: minAvailable and maxUnavailable cannot be '
                                    "both set")
    assert causes[1] == {"reason": "FieldValueInvalid", "field": "spec.maxUnavailable",
                         "message": 'Invalid value: "150%": must not be greater than 100%'}


def test_pdb_selector_is_validated() -> None:
    causes = PodDisruptionBudgetStrategy().validate({"spec": {"selector": {"matchExpressions": [
        {"key": "a", "operator": "In"}, {"key": "b", "operator": "Near"}]}}})
    assert fields(causes) == ["spec.selector.matchExpressions[0].values", "spec.selector.matchExpressions[1].operator"]


def test_pdb_starts_with_zero_counters() -> None:
    obj = {"spec": {}, "status": {"disruptionsAllowed": 9}}
    PodDisruptionBudgetStrategy().prepare_for_create(obj)
    assert obj["status"] == {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}


def test_pdb_status_counters_may_not_be_negative() -> None:
    causes = PodDisruptionBudgetStrategy().validate_status_update({"status": {"expectedPods": -1}}, {})
    assert fields(causes) == ["status.expectedPods"]


def test_pdb_table_shows_na_for_the_unset_bound() -> None:
    assert PodDisruptionBudgetStrategy().table_cells({"spec": {"minAvailable": "50%"}, "status": {}}) == [
        "50%", "N/A", 0]


# ----- networking -----

def test_ingress_needs_rules_or_a_default_backend() -> None:
    causes = IngressStrategy().validate({"metadata": {"name": "i"}, "spec": {}})
    assert causes[0]["message"] == "Invalid value: null: either `defaultBackend` or `rules` must be specified"


def test_ingress_path_needs_a_type_and_an_absolute_path() -> None:
    spec = {"rules": [{"http": {"paths": [{"path": "/", "backend": {}},
                                          {"path": "x", "pathType": "Prefix", "backend": {
                                              "service": {"name": "s", "port": {"number": 80}}}}]}}]}
    causes = IngressStrategy().validate({"metadata": {"name": "i"}, "spec": spec})
    assert fields(causes) == ["spec.rules[0].http.paths[0].pathType", "spec.rules[0].http.paths[1].path"]


def test_ingress_gets_the_default_class() -> None:
    stored = Stored()
    stored.by_key[networking.INGRESS_CLASSES] = [
        {"metadata": {"name": "old", "creationTimestamp": "2024-01-01T00:00:00Z",
                      "annotations": {networking.DEFAULT_CLASS_ANNOTATION: "true"}}},
        {"metadata": {"name": "new", "creationTimestamp": "2024-02-01T00:00:00Z",
                      "annotations": {networking.DEFAULT_CLASS_ANNOTATION: "true"}}}]
    obj = {"metadata": {"name": "i"}, "spec": {}}
    IngressStrategy().admit(obj, None, stored)
    assert obj["spec"]["ingressClassName"] == "new"


def test_ingress_hosts_column_shows_three_then_how_many_more() -> None:
    rules = [{"host": f"h{i}.example.com"} for i in range(5)]
    cells = IngressStrategy().table_cells({"spec": {"rules": rules}, "status": {}})
    assert cells[1] == "h0.example.com,h1.example.com,h2.example.com + 2 more..."


def test_ingress_class_parameters_default_to_cluster_scope() -> None:
    obj = {"metadata": {"name": "c"}, "spec": {"controller": "example.com/x", "parameters": {"kind": "K", "name": "n"}}}
    IngressClassStrategy().prepare_for_create(obj)
    assert obj["spec"]["parameters"]["scope"] == "Cluster"
    assert IngressClassStrategy().validate(obj) == []


def test_ingress_class_controller_is_a_domain_prefixed_path() -> None:
    causes = IngressClassStrategy().validate({"metadata": {"name": "c"}, "spec": {"controller": "plain"}})
    assert causes[0]["message"] == 'Invalid value: "plain": must be a domain-prefixed path (such as "acme.io/foo")'


def test_network_policy_defaults_policy_types_and_protocols() -> None:
    obj = {"spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53}]}]}}
    NetworkPolicyStrategy().prepare_for_create(obj)
    assert obj["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert obj["spec"]["egress"][0]["ports"][0]["protocol"] == "TCP"


def test_network_policy_except_must_be_inside_the_cidr() -> None:
    spec = {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}}]}]}
    causes = NetworkPolicyStrategy().validate({"spec": spec})
    assert causes == [{"reason": "FieldValueInvalid", "field": "spec.ingress[0].from[0].ipBlock.except[0]",
                       "message": 'Invalid value: "11.0.0.0/16": must be a strict subset of `cidr`'}]


def test_network_policy_warns_of_an_ambiguous_cidr() -> None:
    spec = {"egress": [{"to": [{"ipBlock": {"cidr": "10.1.2.3/8"}}]}]}
    assert NetworkPolicyStrategy().warnings({"spec": spec}, None) == [
        'spec.egress[0].to[0].ipBlock.cidr: CIDR value "10.1.2.3/8" is ambiguous in this context (should be '
        '"10.0.0.0/8" or "10.1.2.3/32"?)']


def test_label_selector_column_sorts_requirements_by_key() -> None:
    selector = {"matchLabels": {"b": "1"},
                "matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["y", "x"]}]}
    assert validation.format_label_selector(selector) == "a notin (x,y),b=1"
    assert validation.format_label_selector({}) == "<none>"


# ----- flowcontrol -----

def test_bootstrap_has_the_mandatory_and_suggested_objects() -> None:
    kinds = [(o["kind"], o["metadata"]["name"]) for o in bootstrap_objects()]
    assert ("FlowSchema", "exempt") in kinds and ("PriorityLevelConfiguration", "catch-all") in kinds
    assert len(kinds) == 19


def test_bootstrap_objects_are_valid() -> None:
    for obj in bootstrap_objects():
        strategy = FlowSchemaStrategy() if obj["kind"] == "FlowSchema" else PriorityLevelConfigurationStrategy()
        assert strategy.validate(obj) == [], obj["metadata"]["name"]


def test_mandatory_flow_schema_spec_is_fixed() -> None:
    exempt = next(o for o in bootstrap_objects() if o["kind"] == "FlowSchema" and o["metadata"]["name"] == "exempt")
    changed = {**exempt, "spec": {**exempt["spec"], "matchingPrecedence": 2}}
    messages = [c["message"] for c in FlowSchemaStrategy().validate(changed)]
    assert messages[-1].endswith("spec of 'exempt' must equal the fixed value")
    assert messages[-1].startswith('Invalid value: {"PriorityLevelConfiguration":{"Name":"exempt"},'
                                   '"MatchingPrecedence":2,"DistinguisherMethod":null,')


def test_flow_schema_precedence_defaults_to_1000() -> None:
    obj = {"metadata": {"name": "f"}, "spec": {"priorityLevelConfiguration": {"name": "x"}}}
    FlowSchemaStrategy().prepare_for_create(obj)
    assert obj["spec"]["matchingPrecedence"] == 1000


def test_priority_level_defaults() -> None:
    obj = {"metadata": {"name": "l"}, "spec": {"type": "Limited", "limited": {"limitResponse": {
        "type": "Queue", "queuing": {}}}}}
    PriorityLevelConfigurationStrategy().prepare_for_create(obj)
    assert obj["spec"]["limited"] == {"nominalConcurrencyShares": 30, "lendablePercent": 0, "limitResponse": {
        "type": "Queue", "queuing": {"handSize": 8, "queues": 64, "queueLengthLimit": 50}}}
    assert obj["status"] == {}


def test_priority_level_hand_size_entropy_is_bounded() -> None:
    spec = {"type": "Limited", "limited": {"limitResponse": {"type": "Queue", "queuing": {
        "queues": 1000000, "handSize": 5, "queueLengthLimit": 1}}}}
    causes = PriorityLevelConfigurationStrategy().validate({"metadata": {"name": "l"}, "spec": spec})
    assert causes[0]["message"] == ("Invalid value: 5: required entropy bits of deckSize 1000000 and handSize 5 should "
                                    "not be greater than 60")


def test_flow_schema_table_lists_by_precedence() -> None:
    schemas = [{"metadata": {"name": n}, "spec": {"matchingPrecedence": p}} for n, p in (("b", 5), ("c", 1), ("a", 5))]
    assert [o["metadata"]["name"] for o in FlowSchemaStrategy().table_order(schemas)] == ["c", "a", "b"]


def test_dangling_condition_keeps_its_transition_time_while_its_status_holds() -> None:
    first = dangling_condition("x", False, None)
    assert (first["status"], first["reason"]) == ("True", "NotFound")
    assert dangling_condition("x", False, first)["lastTransitionTime"] == first["lastTransitionTime"]
    assert dangling_condition("x", True, first)["message"] == (
        'This FlowSchema references the PriorityLevelConfiguration object named "x" and it exists')


# ----- APIService -----

def apiservice(name: str, **spec: Any) -> Obj:
    return {"metadata": {"name": name}, "spec": {"groupPriorityMinimum": 100, "versionPriority": 10, **spec}}


def test_local_apiservice_is_available_at_once() -> None:
    obj = apiservice("v1.example.com", group="example.com", version="v1")
    APIServiceStrategy().prepare_for_create(obj)
    assert [(c["type"], c["status"], c["reason"]) for c in obj["status"]["conditions"]] == [
        ("Available", "True", "Local")]
    assert APIServiceStrategy().table_cells(obj) == ["Local", "True"]


def test_apiservice_name_is_version_dot_group() -> None:
    causes = APIServiceStrategy().validate(apiservice("v2.example.com", group="example.com", version="v1"))
    assert causes[0]["message"] == 'Invalid value: "v2.example.com": must be `spec.version+"."+spec.group`: ' \
                                   '"v1.example.com"'


def test_apiservice_service_port_defaults_to_443() -> None:
    obj = apiservice("v1.example.com", group="example.com", version="v1", service={"namespace": "n", "name": "s"})
    APIServiceStrategy().prepare_for_create(obj)
    assert obj["spec"]["service"]["port"] == 443
    assert obj["status"] == {}


def test_remote_apiservice_is_not_available() -> None:
    obj = apiservice("v1.example.com", service={"namespace": "n", "name": "s"})
    assert availability(obj, set()) == ("False", "ServiceNotFound", 'service/s in "n" is not present')
    assert availability(obj, {("n", "s")})[:2] == ("False", "NotProxied")
