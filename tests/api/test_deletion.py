"""Deletion with finalizers: the object stays with a deletionTimestamp until its finalizers are gone."""
from __future__ import annotations

from apihelpers import cm_manifest, expect_status, gone, pod_manifest, watch_events
from harness import wait_for

HOLD = "example.com/hold"


def _held(core, ns, name="held"):
    return core.create_namespaced_config_map(ns, cm_manifest(name, finalizers=[HOLD]))


def test_delete_with_finalizer_keeps_object_with_deletion_timestamp(core, ns, http):
    _held(core, ns)
    resp = http.delete(f"/api/v1/namespaces/{ns}/configmaps/held")
    assert resp.status_code == 200
    answered = resp.json()
    assert answered["kind"] == "ConfigMap", "a delete that does not finish answers the object"
    obj = core.read_namespaced_config_map("held", ns)
    assert obj.metadata.deletion_timestamp is not None
    assert obj.metadata.deletion_grace_period_seconds == 0
    assert obj.metadata.finalizers == [HOLD]


def test_removing_the_last_finalizer_deletes_the_object(core, ns):
    _held(core, ns)
    core.delete_namespaced_config_map("held", ns)
    core.patch_namespaced_config_map("held", ns, {"metadata": {"finalizers": None}})
    assert gone(lambda: core.read_namespaced_config_map("held", ns))


def test_removing_one_of_two_finalizers_keeps_the_object(core, ns):
    core.create_namespaced_config_map(ns, cm_manifest("two", finalizers=[HOLD, "example.com/other"]))
    core.delete_namespaced_config_map("two", ns)
    obj = core.read_namespaced_config_map("two", ns)
    obj.metadata.finalizers = ["example.com/other"]
    core.replace_namespaced_config_map("two", ns, obj)
    assert core.read_namespaced_config_map("two", ns).metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("two", ns, {"metadata": {"finalizers": None}})
    assert gone(lambda: core.read_namespaced_config_map("two", ns))


def test_no_new_finalizers_while_deleting(core, ns):
    _held(core, ns)
    core.delete_namespaced_config_map("held", ns)
    status = expect_status(lambda: core.patch_namespaced_config_map(
        "held", ns, {"metadata": {"finalizers": [HOLD, "example.com/late"]}}), 422, "Invalid")
    assert status["details"]["causes"][0]["reason"] == "FieldValueForbidden"
    assert "no new finalizers can be added if the object is being deleted" in status["message"]
    assert core.read_namespaced_config_map("held", ns).metadata.finalizers == [HOLD]


def test_other_updates_are_allowed_while_deleting(core, ns):
    _held(core, ns)
    core.delete_namespaced_config_map("held", ns)
    obj = core.patch_namespaced_config_map("held", ns, {"metadata": {"labels": {"a": "b"}}, "data": {"k": "2"}})
    assert obj.metadata.labels == {"a": "b"} and obj.data == {"k": "2"}
    assert obj.metadata.deletion_timestamp is not None


def test_deletion_timestamp_cannot_be_cleared_by_update(core, ns):
    _held(core, ns)
    core.delete_namespaced_config_map("held", ns)
    obj = core.read_namespaced_config_map("held", ns)
    stamp = obj.metadata.deletion_timestamp
    obj.metadata.deletion_timestamp = None
    assert core.replace_namespaced_config_map("held", ns, obj).metadata.deletion_timestamp == stamp


def test_second_delete_of_a_deleting_object_changes_nothing(core, ns):
    _held(core, ns)
    core.delete_namespaced_config_map("held", ns)
    before = core.read_namespaced_config_map("held", ns).metadata
    core.delete_namespaced_config_map("held", ns)
    after = core.read_namespaced_config_map("held", ns).metadata
    assert (after.resource_version, after.deletion_timestamp) == (before.resource_version, before.deletion_timestamp)


def test_watch_sees_deletion_start_then_deleted(core, ns, http):
    rv = _held(core, ns).metadata.resource_version
    core.delete_namespaced_config_map("held", ns)
    core.patch_namespaced_config_map("held", ns, {"metadata": {"finalizers": None}})
    events = watch_events(http, f"/api/v1/namespaces/{ns}/configmaps", {"resourceVersion": rv, "timeoutSeconds": "1"})
    assert [e["type"] for e in events] == ["MODIFIED", "DELETED"]
    assert events[0]["object"]["metadata"]["deletionTimestamp"]
    assert int(events[1]["object"]["metadata"]["resourceVersion"]) > int(events[0]["object"]["metadata"]
                                                                         ["resourceVersion"])


def test_delete_with_uid_precondition_of_another_object_is_conflict(core, ns):
    core.create_namespaced_config_map(ns, cm_manifest("pre"))
    expect_status(lambda: core.delete_namespaced_config_map(
        "pre", ns, body={"preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}}), 409, "Conflict")
    assert core.read_namespaced_config_map("pre", ns)


def test_dry_run_delete_keeps_the_object(http, core, ns):
    core.create_namespaced_config_map(ns, cm_manifest("dry"))
    assert http.delete(f"/api/v1/namespaces/{ns}/configmaps/dry", params={"dryRun": "All"}).status_code == 200
    assert core.read_namespaced_config_map("dry", ns)


def test_unscheduled_pod_is_deleted_at_once(core, ns):
    core.create_namespaced_pod(ns, pod_manifest("p"))
    core.delete_namespaced_pod("p", ns)
    assert gone(lambda: core.read_namespaced_pod("p", ns))


def test_a_pod_deleted_at_once_is_answered_as_gracefully_deleted_with_grace_zero(core, ns):
    created = core.create_namespaced_pod(ns, pod_manifest("p"))
    deleted = core.delete_namespaced_pod("p", ns)
    assert deleted.metadata.deletion_timestamp is not None
    assert deleted.metadata.deletion_grace_period_seconds == 0
    assert deleted.metadata.generation == created.metadata.generation + 1


def test_scheduled_pod_deletion_is_graceful(core, ns):
    core.create_namespaced_pod(ns, pod_manifest("p"))
    core.create_namespaced_pod_binding("p", ns, {"metadata": {"name": "p"}, "target": {"name": "n1"}},
                                       _preload_content=False)
    deleted = core.delete_namespaced_pod("p", ns)
    assert deleted.metadata.deletion_grace_period_seconds == 30
    assert deleted.metadata.deletion_timestamp is not None
    pod = core.read_namespaced_pod("p", ns)
    assert pod.metadata.deletion_timestamp == deleted.metadata.deletion_timestamp
    core.delete_namespaced_pod("p", ns, grace_period_seconds=0)
    wait_for(lambda: gone(lambda: core.read_namespaced_pod("p", ns)), what="pod gone after grace 0")


def test_delete_collection_with_selector_deletes_only_matching(core, ns):
    for name, labels in (("a", {"x": "1"}), ("b", {"x": "1"}), ("c", {"x": "2"})):
        core.create_namespaced_config_map(ns, cm_manifest(name, labels=labels))
    core.delete_collection_namespaced_config_map(ns, label_selector="x=1")
    assert [i.metadata.name for i in core.list_namespaced_config_map(ns).items] == ["c"]


def test_delete_collection_answers_a_list_of_untyped_items(http, core, ns):
    """As upstream's List of internal objects: the list has apiVersion and kind, its items neither."""
    core.create_namespaced_config_map(ns, cm_manifest("a"))
    answer = http.delete(f"/api/v1/namespaces/{ns}/configmaps").json()
    assert (answer["kind"], [i["metadata"]["name"] for i in answer["items"]]) == ("ConfigMapList", ["a"])
    assert not {"apiVersion", "kind"} & set(answer["items"][0])
def test_a_collection_delete_one_item_refuses_deletes_none(core, ns, http):
    """Every item is checked before any goes: a refused collection delete changes nothing."""
    first = core.create_namespaced_config_map(ns, cm_manifest("a"))
    core.create_namespaced_config_map(ns, cm_manifest("b"))
    resp = http.request("DELETE", f"/api/v1/namespaces/{ns}/configmaps",
                        json={"preconditions": {"uid": first.metadata.uid}})
    assert resp.status_code == 409, resp.text
    assert sorted(cm.metadata.name for cm in core.list_namespaced_config_map(ns).items) == ["a", "b"]
