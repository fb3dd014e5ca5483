"""managedFields: field sets (shim.machinery.fieldpath, shim.machinery.typed), who owns what after updates and
applies (shim.machinery.managed_fields), checked on plain objects and through the generic store."""
from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from registryhelpers import WRITE, Api, configmap, pod
from shim.machinery import fieldpath, managed_fields, typed
from shim.machinery.errors import StatusError
from shim.machinery.fieldpath import Set
from shim.machinery.managed_fields import FieldTypes
from shim.registry.builtin import builtin_resources
from shim.registry.options import Patch, WriteOptions

APPLY = "application/apply-patch+yaml"


def _types(plural: str) -> FieldTypes:
    info = next(r for r in builtin_resources() if r.plural == plural)
    return info.strategy.field_types(info.api_version, info.kind)


def _owners(obj: dict) -> dict[str, dict]:
    return {e["manager"] + (f"/{e['subresource']}" if e.get("subresource") else ""): e["fieldsV1"]
            for e in obj["metadata"].get("managedFields") or []}


def _created(obj: dict, manager: str = "alice", plural: str = "configmaps") -> dict:
    managed_fields.update(_types(plural), None, obj, manager)
    return obj


def _updated(old: dict, new: dict, manager: str, plural: str = "configmaps", subresource: str = "") -> dict:
    new.setdefault("metadata", {}).setdefault("uid", old["metadata"].get("uid", "u"))
    managed_fields.update(_types(plural), old, new, manager, subresource)
    return new


def _stored(obj: dict) -> dict:
    obj["metadata"]["uid"] = "u"
    return obj


# -- field sets ---------------------------------------------------------------------------------------------


def test_fieldsv1_round_trips_with_dot_for_members_that_have_children() -> None:
    fields = {"f:data": {".": {}, "f:a": {}}, "f:metadata": {"f:labels": {"f:x": {}}}}
    parsed = Set.from_fields(fields)
    assert parsed.has(("f:data",)) and parsed.has(("f:data", "f:a")) and not parsed.has(("f:metadata",))
    assert parsed.to_fields() == fields


def test_fieldsv1_keys_are_read_in_any_order_and_written_sorted() -> None:
    parsed = Set.from_fields({'k:{"protocol":"TCP","port":80}': {}})
    assert parsed.to_fields() == {'k:{"port":80,"protocol":"TCP"}': {}}


def test_fieldsv1_elements_of_unknown_kinds_are_dropped_and_bad_ones_refused() -> None:
    assert Set.from_fields({"f:data": {"x:future": {}}}).to_fields() == {"f:data": {}}
    with pytest.raises(ValueError):
        Set.from_fields({'k:{"port":': {}})


def test_an_applied_configuration_owns_list_items_by_the_schemas_map_keys_and_defaults() -> None:
    service = {"apiVersion": "v1", "kind": "Service",
               "spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}}
    ports = typed.to_field_set(service, _types("services").atom).to_fields()["f:spec"]["f:ports"]
    assert set(ports) == {'k:{"port":80,"protocol":"TCP"}', 'k:{"port":53,"protocol":"UDP"}'}
    container = pod("p")
    container["spec"]["containers"][0]["ports"] = [{"containerPort": 80}]
    fields = typed.to_field_set(container, _types("pods").atom).to_fields()
    assert list(fields["f:spec"]["f:containers"]['k:{"name":"main"}']["f:ports"]) == \
        ['k:{"containerPort":80,"protocol":"TCP"}']


def test_sets_own_their_items_by_value_and_atomic_values_as_one_field() -> None:
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"finalizers": ["a", "b"]},
           "spec": {"containers": [{"name": "c", "args": ["x", "y"]}]}}
    fields = typed.to_field_set(obj, _types("pods").atom).to_fields()
    assert fields["f:metadata"]["f:finalizers"] == {'v:"a"': {}, 'v:"b"': {}}
    assert fields["f:spec"]["f:containers"]['k:{"name":"c"}']["f:args"] == {}  # an atomic list
    selector = {"apiVersion": "v1", "kind": "Service", "spec": {"selector": {"app": "web"}}}
    assert typed.to_field_set(selector, _types("services").atom).to_fields()["f:spec"] == {"f:selector": {}}


def test_merge_keeps_live_list_items_and_replaces_atomic_maps() -> None:
    atom = _types("services").atom
    live = {"spec": {"selector": {"app": "web", "tier": "x"}, "ports": [{"port": 80, "protocol": "TCP"}]}}
    merged = typed.merge(live, {"spec": {"selector": {"app": "api"}, "ports": [{"port": 53, "protocol": "UDP"}]}}, atom)
    assert merged["spec"]["selector"] == {"app": "api"}
    assert [p["port"] for p in merged["spec"]["ports"]] == [80, 53]


def test_merge_keys_ports_by_the_whole_list_map_key() -> None:
    # structured merge keeps TCP and UDP 53 apart (strategic merge would not: kubernetes/kubernetes#39188)
    live = pod("p")
    live["spec"]["containers"][0]["ports"] = [{"containerPort": 53, "protocol": "TCP", "name": "dns-tcp"}]
    config = pod("p")
    config["spec"]["containers"][0]["ports"] = [{"containerPort": 53, "protocol": "UDP", "name": "dns"},
                                                {"containerPort": 53, "protocol": "TCP", "hostPort": 5353}]
    merged = typed.merge(live, config, _types("pods").atom)
    assert merged["spec"]["containers"][0]["ports"] == [
        {"containerPort": 53, "protocol": "UDP", "name": "dns"},
        {"containerPort": 53, "protocol": "TCP", "name": "dns-tcp", "hostPort": 5353}]


def test_merge_unions_list_maps_that_have_no_patch_strategy() -> None:
    live = pod("p")
    live["spec"]["containers"][0]["resources"] = {"claims": [{"name": "gpu"}]}
    config = pod("p")
    config["spec"]["containers"][0]["resources"] = {"claims": [{"name": "fpga"}]}
    merged = typed.merge(live, config, _types("pods").atom)
    assert merged["spec"]["containers"][0]["resources"] == {"claims": [{"name": "gpu"}, {"name": "fpga"}]}


# -- updates ------------------------------------------------------------------------------------------------


def test_a_create_marks_every_map_and_list_item_it_created_with_a_dot() -> None:
    obj = _created(configmap("c", {"a": "1"}, labels={"x": "y"}))
    [entry] = obj["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["apiVersion"]) == ("alice", "Update", "v1")
    assert entry["fieldsV1"] == {"f:data": {".": {}, "f:a": {}}, "f:metadata": {"f:labels": {".": {}, "f:x": {}}}}


def test_a_create_does_not_mark_structs_go_always_has_nor_own_status() -> None:
    created = _created({**pod("p"), "status": {"phase": "Pending"}}, plural="pods")
    fields = _owners(created)["alice"]
    assert "." not in fields["f:spec"] and "." not in fields["f:spec"]["f:containers"]
    assert fields["f:spec"]["f:containers"]['k:{"name":"main"}']["."] == {}
    assert "f:status" not in fields


def test_fields_the_server_fills_in_after_the_request_are_nobodys() -> None:
    info = next(r for r in builtin_resources() if r.plural == "services")
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"},
           "spec": {"ports": [{"port": 443}]}}
    info.strategy.default(obj)
    managed_fields.update(info.strategy.field_types("v1", "Service"), None, obj, "poster")
    info.strategy.prepare_for_create(obj)
    spec = _owners(obj)["poster"]["f:spec"]
    assert "ipFamilies" in obj["spec"] and "f:clusterIP" not in spec and "f:ipFamilies" not in spec
    assert {"f:type", "f:sessionAffinity", "f:ports"} <= set(spec)


def test_an_update_takes_changed_fields_and_drops_removed_ones() -> None:
    old = _stored(_created(configmap("c", {"a": "1", "b": "2"})))
    new = _updated(old, {**configmap("c", {"a": "changed", "c": "3"}), "metadata": dict(old["metadata"])}, "bob")
    assert _owners(new) == {"alice": {"f:data": {}},  # a went to bob, b is gone for everyone: data stays hers
                            "bob": {"f:data": {"f:a": {}, "f:c": {}}}}


def test_a_status_write_records_status_fields_under_its_subresource() -> None:
    old = _stored(_created({**pod("p"), "status": {"phase": "Pending"}}, "kubectl", "pods"))
    new = {**old, "status": {"phase": "Running", "podIP": "10.0.0.1"}, "metadata": dict(old["metadata"])}
    owners = _owners(_updated(old, new, "kubelet", "pods", "status"))
    assert owners["kubelet/status"] == {"f:status": {"f:phase": {}, "f:podIP": {}}}
    assert "f:spec" in owners["kubectl"]


def test_a_write_that_changes_nothing_keeps_the_entries() -> None:
    obj = _stored(_created(configmap("c")))
    again = _updated(obj, {**configmap("c"), "metadata": dict(obj["metadata"])}, "bob")
    assert list(_owners(again)) == ["alice"]


def test_an_update_without_managed_fields_keeps_the_stored_ones() -> None:
    old = _stored(_created(configmap("c", {"a": "1"})))
    meta = {k: v for k, v in old["metadata"].items() if k != "managedFields"}
    new = _updated(old, {**configmap("c", {"a": "1", "b": "2"}), "metadata": meta}, "bob")
    assert _owners(new) == {"alice": {"f:data": {".": {}, "f:a": {}}}, "bob": {"f:data": {"f:b": {}}}}


def test_managed_fields_a_write_sets_replace_the_stored_ones() -> None:
    old = _stored(_created(configmap("c", {"a": "1"})))
    given = [{"manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
              "fieldsV1": {"f:data": {"f:a": {}}}}]
    new = _updated(old, {**configmap("c", {"a": "1"}), "metadata": {**old["metadata"], "managedFields": given}},
                   "kubectl")
    assert [(e["manager"], e["operation"], e["fieldsV1"]) for e in new["metadata"]["managedFields"]] == \
        [("kubectl", "Apply", {"f:data": {"f:a": {}}})]


def test_managed_fields_that_do_not_decode_leave_the_stored_ones() -> None:
    old = _stored(_created(configmap("c", {"a": "1"})))
    bad = [{"manager": "x", "operation": "Delete", "apiVersion": "v1", "fieldsType": "FieldsV1"}]
    new = _updated(old, {**configmap("c", {"a": "1"}), "metadata": {**old["metadata"], "managedFields": bad}}, "x")
    assert list(_owners(new)) == ["alice"]


@pytest.mark.parametrize("cleared", [[], [{}]], ids=["empty", "one-empty-entry"])
def test_managed_fields_cleared_by_a_write_stay_untracked_until_an_apply(cleared: list) -> None:
    old = _stored(_created(configmap("c", {"a": "1"})))
    new = _updated(old, {**configmap("c", {"a": "2"}), "metadata": {**old["metadata"], "managedFields": cleared}},
                   "bob")
    assert "managedFields" not in new["metadata"]
    applied = managed_fields.apply(_types("configmaps"), new, configmap("c", {"b": "1"}), "carol", False)
    assert _owners(applied) == {"before-first-apply": {"f:data": {".": {}, "f:a": {}}},
                                "carol": {"f:data": {"f:b": {}}}}


def test_managed_fields_validation_refuses_a_manager_name_too_long() -> None:
    entries = [{"manager": "m" * 129, "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1"}]
    assert [c["field"] for c in managed_fields.validate(entries)] == ["metadata.managedFields[0].manager"]


# -- applies ------------------------------------------------------------------------------------------------


def test_an_apply_owns_exactly_its_configuration() -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    owners = _owners(managed_fields.apply(_types("services"), None, service, "deployer", False))
    assert owners["deployer"] == {"f:spec": {"f:selector": {}, "f:ports": {
        'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:port": {}}}}}


def test_apply_conflicts_unless_forced_and_takes_fields_over() -> None:
    types = _types("configmaps")
    live = _stored(_created(configmap("c", {"a": "1"})))
    with pytest.raises(StatusError) as err:
        managed_fields.apply(types, live, configmap("c", {"a": "2"}), "bob", force=False)
    assert (err.value.code, [c["field"] for c in err.value.causes or []]) == (409, [".data.a"])
    assert err.value.message == 'Apply failed with 1 conflict: conflict with "alice" using v1: .data.a'
    assert err.value.name is None and err.value.kind is None  # upstream's 409 details carry the causes only
    merged = managed_fields.apply(types, live, configmap("c", {"a": "2"}), "bob", force=True)
    assert merged["data"] == {"a": "2"}
    assert _owners(merged) == {"alice": {"f:data": {}}, "bob": {"f:data": {"f:a": {}}}}
    same = managed_fields.apply(types, live, configmap("c", {"a": "1"}), "bob", force=False)  # same value: shared
    assert set(_owners(same)) == {"alice", "bob"}


def test_apply_removes_what_the_manager_no_longer_applies() -> None:
    types = _types("configmaps")
    live = _stored(_created(configmap("c", {"kept": "nobody applied it"})))
    first = managed_fields.apply(types, live, configmap("c", {"a": "1", "b": "2"}), "bob", force=False)
    second = managed_fields.apply(types, first, configmap("c", {"a": "1"}), "bob", force=False)
    assert second["data"] == {"kept": "nobody applied it", "a": "1"}


def test_kubectl_takes_over_what_its_client_side_apply_set() -> None:
    types = _types("configmaps")
    config = configmap("c", {"mode": "fast"})
    live = configmap("c", {"mode": "fast"})
    live["metadata"]["annotations"] = {managed_fields.LAST_APPLIED: managed_fields.last_applied(config)}
    _stored(_created(live, "kubectl-client-side-apply"))
    with pytest.raises(StatusError):
        managed_fields.apply(types, live, configmap("c", {"mode": "slow"}), "someone", False)
    applied = managed_fields.apply(types, live, configmap("c", {"mode": "slow"}), "kubectl", False)
    assert applied["data"] == {"mode": "slow"}
    assert _owners(applied)["kubectl"] == {"f:data": {"f:mode": {}}}
    assert applied["metadata"]["annotations"][managed_fields.LAST_APPLIED] == \
        managed_fields.last_applied(configmap("c", {"mode": "slow"}))


# -- through the store --------------------------------------------------------------------------------------


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    api = await Api(tmp_path).start()
    yield api
    api.store.close()


async def test_the_store_records_managers_by_field_manager_or_user_agent(api: Api) -> None:
    info = api.info("configmaps")
    await api.verbs.create(info, "default", configmap("m", {"a": "1"}), WriteOptions(user_agent="kubectl/v1.33"))
    patched = await api.verbs.patch(info, "default", "m", Patch("application/merge-patch+json", {"data": {"b": "2"}}),
                                    WRITE)
    owners = _owners(patched.object)
    assert owners["kubectl"]["f:data"] == {".": {}, "f:a": {}}
    assert owners["tests"] == {"f:data": {"f:b": {}}}
    assert all(e["operation"] == "Update" for e in patched.object["metadata"]["managedFields"])


async def test_a_patch_that_only_rewrites_managed_fields_is_stored(api: Api) -> None:
    info = api.info("configmaps")
    created = await api.verbs.create(info, "default", configmap("m", {"a": "1"}), WRITE)
    rewrite = [{"op": "replace", "path": "/metadata/managedFields", "value": [
        {"manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:data": {"f:a": {}}}}]}]
    patched = await api.verbs.patch(info, "default", "m", Patch("application/json-patch+json", rewrite), WRITE)
    assert patched.object["metadata"]["resourceVersion"] != created.object["metadata"]["resourceVersion"]
    assert list(_owners(patched.object)) == ["kubectl"]


async def test_a_server_side_apply_that_creates_says_so(api: Api) -> None:
    info = api.info("configmaps")
    written = await api.verbs.patch(info, "default", "new", Patch(APPLY, configmap("new", {"a": "1"})),
                                    WriteOptions(field_manager="applier"))
    again = await api.verbs.patch(info, "default", "new", Patch(APPLY, configmap("new", {"a": "2"})),
                                  WriteOptions(field_manager="applier"))
    assert (written.created, again.created) == (True, False)


async def test_an_applied_configuration_with_an_undeclared_field_is_refused_and_nothing_is_stored(api: Api) -> None:
    info = api.info("configmaps")
    config = configmap("typo", {"a": "1"})
    config["metadata"]["lables"] = {"x": "y"}
    config["unknown"] = True
    with pytest.raises(StatusError) as refused:
        await api.verbs.patch(info, "default", "typo", Patch(APPLY, config), WriteOptions(field_manager="applier"))
    assert refused.value.code == 400
    assert refused.value.message == (
        'failed to create typed patch object (/typo; /v1, Kind=ConfigMap): errors:\n'
        '  .metadata.lables: field not declared in schema\n  .unknown: field not declared in schema')
    assert api.registry.get_entry(info, "default", "typo") is None


def test_undeclared_fields_are_found_in_list_items_by_their_keys() -> None:
    pod_config = pod("p")
    pod_config["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "protocol": "TCP", "hostIp": "x"}]
    problems = typed.validate(pod_config, _types("pods").atom)
    assert [(fieldpath.render(p), problem) for p, problem in problems] == [
        ('.spec.containers[name="main"].ports[containerPort=80,protocol="TCP"].hostIp',
         "field not declared in schema")]


def test_values_of_the_wrong_type_are_reported_in_structured_merge_diffs_words() -> None:
    config = configmap("c", {"k": [1.5, "x\n", None, {"b": 1}], "n": 12345678})
    config["immutable"] = "yes"
    config["metadata"]["generation"] = "1"
    config["metadata"]["labels"] = [1, 2]
    problems = typed.validate(config, _types("configmaps").atom)
    assert [(fieldpath.render(p), problem) for p, problem in problems] == [
        (".data.k", 'expected string, got &value.valueUnstructured{Value:[]interface {}{1.5, "x\\n", '
                    'interface {}(nil), map[string]interface {}{"b":1}}}'),
        (".data.n", "expected string, got &value.valueUnstructured{Value:12345678}"),
        (".immutable", "expected boolean, got &{yes}"),
        (".metadata.generation", "expected numeric (int or float), got string"),
        (".metadata.labels", "expected map, got &{[1 2]}")]


def test_list_items_an_associative_list_cannot_key_are_reported() -> None:
    config = configmap("c", {})
    config["metadata"]["finalizers"] = ["a", "a"]
    config["metadata"]["ownerReferences"] = [5]
    problems = typed.validate(config, _types("configmaps").atom)
    assert [(fieldpath.render(p), problem) for p, problem in problems] == [
        (".metadata.finalizers", 'duplicate entries for key [="a"]'),
        (".metadata.ownerReferences", "element 0: associative list with keys may not have non-map elements")]


def test_a_value_of_an_untyped_field_is_not_walked_however_deep() -> None:
    deep: object = "leaf"
    for _ in range(5000):
        deep = {"a": deep}
    assert typed.validate({"spec": {"x": deep}}, typed.DEDUCED) == []
