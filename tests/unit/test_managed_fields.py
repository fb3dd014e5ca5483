"""managedFields: who owns which fields after Update writes (shim.machinery.managed_fields) and Apply merges
(shim.registry.apply), checked on plain objects and through the generic store."""
from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import pytest

from registryhelpers import WRITE, Api, configmap, pod
from shim.machinery import managed_fields
from shim.machinery.errors import StatusError
from shim.registry.apply import merge_applied
from shim.registry.builtin import builtin_resources
from shim.registry.options import Patch, WriteOptions
from shim.registry.resource import ResourceInfo


def _owners(obj: dict) -> dict[str, dict]:
    return {e["manager"] + (f"/{e['subresource']}" if e.get("subresource") else ""): e["fieldsV1"]
            for e in obj["metadata"].get("managedFields") or []}


def _configmaps() -> ResourceInfo:
    return next(r for r in builtin_resources() if r.plural == "configmaps")


def test_fields_of_keys_list_elements_as_upstream_does() -> None:
    fields = managed_fields.fields_of(pod("p"))
    assert fields == {"f:spec": {"f:containers": {'k:{"name":"main"}': {".": {}, "f:name": {}, "f:image": {}}}}}
    assert managed_fields.fields_of({"spec": {"args": ["a", "b"]}})["f:spec"]["f:args"] == {'v:"a"': {}, 'v:"b"': {}}


def test_a_create_gives_the_writer_what_it_set_but_status() -> None:
    obj = {**configmap("c", {"a": "1"}, labels={"x": "y"}), "status": {"ignored": True}}
    managed_fields.record(obj, None, "alice", "Update", "v1", "")
    [entry] = obj["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["apiVersion"]) == ("alice", "Update", "v1")
    assert entry["fieldsV1"] == {"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {"f:x": {}}}}


def test_an_update_takes_changed_fields_and_drops_removed_ones() -> None:
    old = configmap("c", {"a": "1", "b": "2"})
    managed_fields.record(old, None, "alice", "Update", "v1", "")
    new = {**configmap("c", {"a": "changed", "c": "3"}), "metadata": dict(old["metadata"])}
    managed_fields.record(new, old, "bob", "Update", "v1", "")
    owners = _owners(new)
    assert "alice" not in owners  # lost a to bob, and b is gone for everyone: nothing left
    assert owners["bob"] == {"f:data": {"f:a": {}, "f:c": {}}}


def test_a_status_write_records_status_fields_under_its_subresource() -> None:
    old = {**pod("p"), "status": {"phase": "Pending"}}
    managed_fields.record(old, None, "kubectl", "Update", "v1", "")
    new = {**old, "status": {"phase": "Running", "podIP": "10.0.0.1"}, "metadata": dict(old["metadata"])}
    managed_fields.record(new, old, "kubelet", "Update", "v1", "status")
    owners = _owners(new)
    assert owners["kubelet/status"] == {"f:status": {"f:phase": {}, "f:podIP": {}}}
    assert "f:spec" in owners["kubectl"]


def test_a_write_that_changes_nothing_keeps_the_entries() -> None:
    obj = configmap("c")
    managed_fields.record(obj, None, "alice", "Update", "v1", "")
    again = {**configmap("c"), "metadata": dict(obj["metadata"])}
    managed_fields.record(again, obj, "bob", "Update", "v1", "")
    assert list(_owners(again)) == ["alice"]


def test_apply_conflicts_unless_forced_and_takes_fields_over() -> None:
    info = _configmaps()
    live = configmap("c", {"a": "1"})
    managed_fields.record(live, None, "alice", "Update", "v1", "")
    with pytest.raises(StatusError) as err:
        merge_applied(info, live, configmap("c", {"a": "2"}), "bob", force=False)
    assert (err.value.code, [c["field"] for c in err.value.causes]) == (409, [".data.a"])
    merged = merge_applied(info, live, configmap("c", {"a": "2"}), "bob", force=True)
    owners = _owners(merged)
    assert merged["data"] == {"a": "2"}
    assert owners == {"bob": {"f:data": {"f:a": {}}}}  # alice owned nothing else
    same = merge_applied(info, live, configmap("c", {"a": "1"}), "bob", force=False)  # same value: shared
    assert set(_owners(same)) == {"alice", "bob"}


def test_apply_removes_what_the_manager_no_longer_applies() -> None:
    info = _configmaps()
    live = configmap("c", {"kept": "nobody applied it"})
    first = merge_applied(info, live, configmap("c", {"a": "1", "b": "2"}), "bob", force=False)
    second = merge_applied(info, first, configmap("c", {"a": "1"}), "bob", force=False)
    assert second["data"] == {"kept": "nobody applied it", "a": "1"}


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
    assert owners["kubectl"]["f:data"] == {"f:a": {}}
    assert owners["tests"] == {"f:data": {"f:b": {}}}
    assert all(e["operation"] == "Update" for e in patched.object["metadata"]["managedFields"])
