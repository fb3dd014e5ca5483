"""Per-kind strategies and per-subresource update rules, called directly: what each kind contributes."""
from __future__ import annotations

import copy

import pytest

from registryhelpers import crd
from shim.machinery import typed
from shim.machinery.errors import StatusError
from shim.registry.catalog import custom_resources
from shim.registry.kinds.custom import CustomResourceStrategy
from shim.registry.kinds.events import EventsV1Strategy, from_core, to_core
from shim.registry.kinds.namespaces import NAME_LABEL, NamespaceStrategy
from shim.registry.kinds.pods import PodStrategy
from shim.registry.strategy import NoStatusStrategy, Strategy
from shim.registry.subresources.finalize import FinalizeRules
from shim.registry.subresources.scale import Scalable
from shim.registry.subresources.status import StatusRules


def _pod() -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "main", "image": "busybox",
                                     "resources": {"limits": {"cpu": "1", "memory": "64Mi"}}}]}}


def _create(strategy: PodStrategy, obj: dict) -> None:
    """What the registry does to a new pod: scheme defaults, then the server's own fields."""
    strategy.default(obj)
    strategy.prepare_for_create(obj)


def test_pod_defaults_match_upstream() -> None:
    obj = _pod()
    _create(PodStrategy(), obj)
    spec, container = obj["spec"], obj["spec"]["containers"][0]
    assert (spec["restartPolicy"], spec["terminationGracePeriodSeconds"]) == ("Always", 30)
    assert container["imagePullPolicy"] == "Always"  # no tag: latest
    assert container["resources"]["requests"] == {"cpu": "1", "memory": "64Mi"}  # requests default to limits
    assert obj["status"] == {"phase": "Pending", "qosClass": "Guaranteed"}


def test_pod_spec_is_immutable_but_for_images_and_a_few_fields() -> None:
    strategy = PodStrategy()
    old = _pod()
    _create(strategy, old)
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "busybox:1.37"
    new["spec"]["activeDeadlineSeconds"] = 30
    assert strategy.validate_update(new, old) == []
    new["spec"]["restartPolicy"] = "Never"
    assert [c["field"] for c in strategy.validate_update(new, old)] == ["spec"]


def test_pod_grace_period() -> None:
    strategy, obj = PodStrategy(), _pod()
    assert strategy.grace_period(obj, 10) == 0  # not scheduled: goes at once
    obj["spec"]["nodeName"] = "n1"
    assert strategy.grace_period(obj, None) == 30 and strategy.grace_period(obj, 5) == 5
    obj["status"] = {"phase": "Succeeded"}
    assert strategy.grace_period(obj, None) == 0


def test_pod_selectable_fields() -> None:
    obj = _pod()
    PodStrategy().prepare_for_create(obj)
    fields = PodStrategy().fields(obj)
    assert fields["status.phase"] == "Pending" and fields["spec.nodeName"] == ""
    assert fields["metadata.namespace"] == "default"


def test_namespace_lifecycle_rules() -> None:
    strategy = NamespaceStrategy()
    ns = {"metadata": {"name": "team"}}
    strategy.prepare_for_create(ns)
    assert ns["spec"] == {"finalizers": ["kubernetes"]} and ns["status"] == {"phase": "Active"}
    assert ns["metadata"]["labels"][NAME_LABEL] == "team"
    assert strategy.blocks_deletion(ns)
    strategy.prepare_for_delete(ns)
    assert ns["status"]["phase"] == "Terminating"
    assert strategy.validate_name("Not-A-Label") != [] and strategy.validate_name("team") == []


def test_status_rules_keep_the_spec_and_the_kinds_protected_metadata() -> None:
    old = _pod()
    old["metadata"]["labels"] = {"keep": "me"}
    old["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "u"}]
    old["status"] = {"phase": "Pending"}
    new = copy.deepcopy(old)
    new["spec"]["restartPolicy"] = "Never"
    new["metadata"]["labels"] = {"changed": "yes"}
    new["metadata"]["ownerReferences"] = []
    new["status"] = {"phase": "Running"}
    StatusRules(PodStrategy()).prepare_for_update(new, old)
    assert new["status"] == {"phase": "Running"}
    assert new["spec"] == old["spec"] and new["metadata"]["ownerReferences"] == old["metadata"]["ownerReferences"]
    assert new["metadata"]["labels"] == {"changed": "yes"}


def test_finalize_rules_keep_everything_but_spec_finalizers() -> None:
    old = {"metadata": {"name": "ns"}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Terminating"}}
    new = {"metadata": {"name": "ns"}, "spec": {"finalizers": []}, "status": {"phase": "Active"}}
    rules = FinalizeRules(NamespaceStrategy())
    rules.prepare_for_update(new, old)
    assert new == {"metadata": {"name": "ns"}, "spec": {}, "status": {"phase": "Terminating"}}
    assert rules.validate_update(new, old) == []


def test_main_endpoint_keeps_status_where_there_is_a_status_subresource() -> None:
    strategy = Strategy()
    strategy.has_status_subresource = True
    new, old = {"spec": {"a": 2}, "status": {"x": 1}}, {"spec": {"a": 1}, "status": {"x": 0}}
    strategy.prepare_for_update(new, old)
    assert new == {"spec": {"a": 2}, "status": {"x": 0}}
    assert strategy.spec_changed(new, old)
    assert not NoStatusStrategy.tracks_generation


def test_built_in_kinds_take_strategic_merge_and_protobuf_and_are_go_typed() -> None:
    for strategy in (PodStrategy(), NamespaceStrategy(), NoStatusStrategy()):
        assert strategy.protobuf and strategy.strategic_merge and strategy.go_typed
        assert strategy.openapi_schema() is None
    assert not EventsV1Strategy.go_typed


def test_events_v1_and_core_convert_both_ways() -> None:
    v1 = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"},
          "regarding": {"kind": "Pod", "name": "p"}, "note": "hello", "reason": "Started", "type": "Normal",
          "eventTime": None, "reportingController": "kubelet", "deprecatedFirstTimestamp": None,
          "deprecatedLastTimestamp": None}
    core = to_core(v1)
    assert (core["apiVersion"], core["involvedObject"], core["message"], core["reportingComponent"]) == (
        "v1", {"kind": "Pod", "name": "p"}, "hello", "kubelet")
    assert from_core(core) == v1


# -- custom resources ------------------------------------------------------------------------------------------

@pytest.fixture
def widgets() -> CustomResourceStrategy:
    infos = {info.version: info for info in custom_resources(crd())}
    assert set(infos) == {"v1", "v1beta1"}
    assert set(infos["v1"].subresources) == {"status", "scale"} and infos["v1beta1"].subresources == {}
    strategy = infos["v1"].strategy
    assert isinstance(strategy, CustomResourceStrategy)
    return strategy


def _widget(**spec: object) -> dict:
    return {"apiVersion": "example.com/v1beta1", "kind": "Widget", "metadata": {"name": "w", "namespace": "d"},
            "spec": dict(spec)}


def test_custom_resources_are_pruned_defaulted_and_validated(widgets: CustomResourceStrategy) -> None:
    obj = _widget(selector="a=b", extra=1)
    assert widgets.prune_unknown(obj) == ["spec.extra"]
    widgets.default(obj)
    assert obj["spec"] == {"selector": "a=b", "replicas": 1}
    obj["spec"]["replicas"] = "many"
    assert [c["field"] for c in widgets.validate(obj)] == ["spec.replicas"]


def test_custom_resources_have_their_crd_facts(widgets: CustomResourceStrategy) -> None:
    assert not (widgets.protobuf or widgets.strategic_merge or widgets.go_typed)
    assert widgets.openapi_schema()["properties"]["spec"]["properties"]["replicas"]["default"] == 1
    assert widgets.from_storage(_widget())["apiVersion"] == "example.com/v1"
    assert [c["name"] for c in widgets.table_columns()] == ["Replicas", "Age"]  # Age last, a date
    assert widgets.table_cells(_widget(replicas=3)) == [3]
    assert widgets.fields(_widget(selector="app=x"))["spec.selector"] == "app=x"
    widgets.admit_create()
    terminating = CustomResourceStrategy(crd()["spec"]["versions"][0], "example.com/v1", terminating=True)
    with pytest.raises(StatusError) as err:
        terminating.admit_create()
    assert err.value.code == 405


def test_custom_resources_scale_through_their_paths(widgets: CustomResourceStrategy) -> None:
    assert isinstance(widgets, Scalable) and not isinstance(PodStrategy(), Scalable)
    obj = {**_widget(replicas=2, selector="app=w"), "status": {"replicas": 1}}
    scale = widgets.scale(obj)
    assert (scale["spec"], scale["status"]) == ({"replicas": 2}, {"replicas": 1, "selector": "app=w"})
    assert widgets.set_scale(obj, {"spec": {"replicas": 5}})["spec"]["replicas"] == 5
    with pytest.raises(StatusError) as err:
        widgets.set_scale(obj, {"spec": {"replicas": -1}})
    assert err.value.code == 422


def test_custom_resources_apply_merge_by_list_map_keys(widgets: CustomResourceStrategy) -> None:
    live = _widget(ports=[{"name": "http", "port": 80}])
    atom = widgets.field_types("example.com/v1", "Widget").atom
    merged = typed.merge(live, _widget(ports=[{"name": "grpc", "port": 90}]), atom)
    assert sorted(p["name"] for p in merged["spec"]["ports"]) == ["grpc", "http"]
    replaced = typed.merge(live, _widget(ports=[{"name": "grpc", "port": 90}]), typed.DEDUCED)
    assert [p["name"] for p in replaced["spec"]["ports"]] == ["grpc"]  # no schema: lists are atomic
