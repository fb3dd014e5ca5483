"""Namespace lifecycle: defaults, Terminating, contents deleted, then the namespace; no new content meanwhile."""
from __future__ import annotations

from apihelpers import cm_manifest, expect_status, gone, pod_manifest, unique
from harness import wait_for

HOLD = "example.com/hold"


def test_new_namespace_is_active_with_name_label_and_kubernetes_finalizer(core):
    name = unique("nsd")
    ns = core.create_namespace({"metadata": {"name": name}})
    try:
        assert ns.status.phase == "Active"
        assert ns.metadata.labels["kubernetes.io/metadata.name"] == name
        assert ns.spec.finalizers == ["kubernetes"]
    finally:
        core.delete_namespace(name)


def test_new_namespace_gets_a_default_service_account(core, ns):
    wait_for(lambda: not gone(lambda: core.read_namespaced_service_account("default", ns)),
             what="default service account")


def test_system_namespaces_exist(core):
    names = {n.metadata.name for n in core.list_namespace().items}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names


def test_deleting_a_namespace_deletes_its_contents_then_itself(core):
    name = unique("nsdel")
    core.create_namespace({"metadata": {"name": name}})
    core.create_namespaced_config_map(name, cm_manifest("cm"))
    core.create_namespaced_secret(name, {"metadata": {"name": "s"}, "stringData": {"a": "b"}})
    core.create_namespaced_pod(name, pod_manifest("p"))
    core.delete_namespace(name)
    wait_for(lambda: gone(lambda: core.read_namespace(name)), what="namespace gone")
    assert core.list_namespaced_config_map(name).items == []
    assert core.list_namespaced_secret(name).items == []
    assert core.list_namespaced_pod(name).items == []


def test_deleting_namespace_is_terminating_until_contents_are_gone(core):
    name = unique("nsterm")
    core.create_namespace({"metadata": {"name": name}})
    core.create_namespaced_config_map(name, cm_manifest("held", finalizers=[HOLD]))
    core.create_namespaced_config_map(name, cm_manifest("plain"))
    core.delete_namespace(name)
    ns = core.read_namespace(name)
    assert ns.status.phase == "Terminating"
    assert ns.metadata.deletion_timestamp is not None
    wait_for(lambda: gone(lambda: core.read_namespaced_config_map("plain", name)), what="plain content deleted")
    wait_for(lambda: core.read_namespaced_config_map("held", name).metadata.deletion_timestamp,
             what="held content being deleted")
    assert core.read_namespace(name).status.phase == "Terminating"
    core.patch_namespaced_config_map("held", name, {"metadata": {"finalizers": None}})
    wait_for(lambda: gone(lambda: core.read_namespace(name)), what="namespace gone once empty")


def test_creating_in_a_terminating_namespace_is_forbidden(core):
    name = unique("nsforb")
    core.create_namespace({"metadata": {"name": name}})
    core.create_namespaced_config_map(name, cm_manifest("held", finalizers=[HOLD]))
    core.delete_namespace(name)
    try:
        status = expect_status(lambda: core.create_namespaced_config_map(name, cm_manifest("late")), 403, "Forbidden")
        assert status["message"] == (f'configmaps "late" is forbidden: unable to create new content in namespace '
                                     f'{name} because it is being terminated')
        assert {"reason": "NamespaceTerminating", "message": f"namespace {name} is being terminated",
                "field": "metadata.namespace"} in status["details"]["causes"]
        assert gone(lambda: core.read_namespaced_config_map("late", name))
    finally:
        core.patch_namespaced_config_map("held", name, {"metadata": {"finalizers": None}})
    wait_for(lambda: gone(lambda: core.read_namespace(name)), what="namespace gone")


def test_updates_in_a_terminating_namespace_are_allowed(core):
    name = unique("nsupd")
    core.create_namespace({"metadata": {"name": name}})
    core.create_namespaced_config_map(name, cm_manifest("held", finalizers=[HOLD]))
    core.delete_namespace(name)
    try:
        obj = core.patch_namespaced_config_map("held", name, {"data": {"k": "changed"}})
        assert obj.data == {"k": "changed"}
    finally:
        core.patch_namespaced_config_map("held", name, {"metadata": {"finalizers": None}})


def test_namespace_spec_finalizers_only_change_through_finalize(core):
    name = unique("nsfin")
    core.create_namespace({"metadata": {"name": name}})
    try:
        ns = core.read_namespace(name)
        ns.spec.finalizers = []
        assert core.replace_namespace(name, ns).spec.finalizers == ["kubernetes"]
        ns = core.read_namespace(name)
        ns.spec.finalizers = ["kubernetes", "example.com/extra"]
        assert core.replace_namespace_finalize(name, ns).spec.finalizers == ["kubernetes", "example.com/extra"]
    finally:
        ns = core.read_namespace(name)
        ns.spec.finalizers = []
        core.replace_namespace_finalize(name, ns)
        core.delete_namespace(name)
    wait_for(lambda: gone(lambda: core.read_namespace(name)), what="namespace gone")


def test_namespace_with_extra_spec_finalizer_waits_for_it(core):
    name = unique("nsext")
    core.create_namespace({"metadata": {"name": name}})
    ns = core.read_namespace(name)
    ns.spec.finalizers = ["kubernetes", "example.com/extra"]
    core.replace_namespace_finalize(name, ns)
    core.delete_namespace(name)
    wait_for(lambda: core.read_namespace(name).spec.finalizers == ["example.com/extra"],
             what="the kubernetes finalizer removed by the namespace controller")
    assert core.read_namespace(name).status.phase == "Terminating"
    ns = core.read_namespace(name)
    ns.spec.finalizers = []
    core.replace_namespace_finalize(name, ns)
    wait_for(lambda: gone(lambda: core.read_namespace(name)), what="namespace gone")


def test_deleted_namespace_name_can_be_reused(core):
    name = unique("nsre")
    core.create_namespace({"metadata": {"name": name}})
    core.create_namespaced_config_map(name, cm_manifest("old"))
    core.delete_namespace(name)
    wait_for(lambda: gone(lambda: core.read_namespace(name)), what="namespace gone")
    core.create_namespace({"metadata": {"name": name}})
    try:
        assert core.list_namespaced_config_map(name).items == []
        core.create_namespaced_config_map(name, cm_manifest("new"))
    finally:
        core.delete_namespace(name)


def test_a_deleted_namespace_has_a_deletion_timestamp_and_no_grace_period(core, http):
    name = unique("nsgrace")
    core.create_namespace({"metadata": {"name": name}})
    answer = http.delete(f"/api/v1/namespaces/{name}").json()
    assert answer["metadata"]["deletionTimestamp"]
    assert "deletionGracePeriodSeconds" not in answer["metadata"]


def test_namespaces_take_no_collection_delete(core, http):
    """As upstream serves them: DELETE on /api/v1/namespaces is a 405, not the end of every namespace."""
    resp = http.request("DELETE", "/api/v1/namespaces", params={"dryRun": "All"})
    assert (resp.status_code, resp.json()["reason"]) == (405, "MethodNotAllowed")
    verbs = next(r["verbs"] for r in http.get("/api/v1").json()["resources"] if r["name"] == "namespaces")
    assert "deletecollection" not in verbs
