"""Garbage collection on ownerReferences: Background, Foreground and Orphan propagation."""
from __future__ import annotations

import time
import uuid

import pytest

from apihelpers import cm_manifest, gone, pod_manifest
from harness import wait_for

HOLD = "example.com/hold"


def _ref(owner, block: bool = False) -> dict:
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": owner.metadata.name, "uid": owner.metadata.uid}
    if block:
        ref["blockOwnerDeletion"] = True
    return ref


def _owned_cm(core, ns, name, *owners, **meta):
    return core.create_namespaced_config_map(ns, cm_manifest(name, ownerReferences=list(owners), **meta))


def _exists(read) -> bool:
    return not gone(read)


def test_background_deletion_removes_dependents(core, ns):
    owner = core.create_namespaced_config_map(ns, cm_manifest("owner"))
    _owned_cm(core, ns, "dep1", _ref(owner))
    pod = pod_manifest("dep2")
    pod["metadata"]["ownerReferences"] = [_ref(owner)]
    core.create_namespaced_pod(ns, pod)
    core.delete_namespaced_config_map("owner", ns, propagation_policy="Background")
    assert gone(lambda: core.read_namespaced_config_map("owner", ns)), "the owner goes at once"
    wait_for(lambda: gone(lambda: core.read_namespaced_config_map("dep1", ns)), what="dep1 collected")
    wait_for(lambda: gone(lambda: core.read_namespaced_pod("dep2", ns)), what="dep2 collected")


def test_default_propagation_collects_dependents_in_background(core, ns):
    owner = core.create_namespaced_config_map(ns, cm_manifest("owner"))
    _owned_cm(core, ns, "dep", _ref(owner))
    core.delete_namespaced_config_map("owner", ns)
    assert gone(lambda: core.read_namespaced_config_map("owner", ns))
    wait_for(lambda: gone(lambda: core.read_namespaced_config_map("dep", ns)), what="dep collected")


def test_collection_cascades_through_generations(core, ns):
    owner = core.create_namespaced_config_map(ns, cm_manifest("grandparent"))
    parent = _owned_cm(core, ns, "parent", _ref(owner))
    _owned_cm(core, ns, "child", _ref(parent))
    core.delete_namespaced_config_map("grandparent", ns)
    wait_for(lambda: gone(lambda: core.read_namespaced_config_map("child", ns)), what="grandchild collected")


def test_foreground_deletion_keeps_owner_until_blocking_dependents_are_gone(core, ns):
    owner = core.create_namespaced_config_map(ns, cm_manifest("owner"))
    _owned_cm(core, ns, "blocker", _ref(owner, block=True), finalizers=[HOLD])
    core.delete_namespaced_config_map("owner", ns, propagation_policy="Foreground")
    held = core.read_namespaced_config_map("owner", ns)
    assert held.metadata.deletion_timestamp is not None
    assert "foregroundDeletion" in held.metadata.finalizers
    wait_for(lambda: core.read_namespaced_config_map("blocker", ns).metadata.deletion_timestamp,
             what="the blocking dependent being deleted")
    time.sleep(0.5)
    assert _exists(lambda: core.read_namespaced_config_map("owner", ns)), "owner waits for its blocking dependent"
    core.patch_namespaced_config_map("blocker", ns, {"metadata": {"finalizers": None}})
    wait_for(lambda: gone(lambda: core.read_namespaced_config_map("blocker", ns)), what="blocker gone")
    wait_for(lambda: gone(lambda: core.read_namespaced_config_map("owner", ns)), what="owner gone after dependents")


def test_foreground_deletion_also_deletes_non_blocking_dependents(core, ns):
    owner = core.create_namespaced_config_map(ns, cm_manifest("owner"))
    _owned_cm(core, ns, "loose", _ref(owner, block=False))
    core.delete_namespaced_config_map("owner", ns, propagation_policy="Foreground")
    wait_for(lambda: gone(lambda: core.read_namespaced_config_map("loose", ns)), what="dependent gone")
    wait_for(lambda: gone(lambda: core.read_namespaced_config_map("owner", ns)), what="owner gone")


def test_orphan_deletion_keeps_dependents_and_drops_their_owner_reference(core, ns):
    owner = core.create_namespaced_config_map(ns, cm_manifest("owner"))
    other = core.create_namespaced_config_map(ns, cm_manifest("other-owner"))
    _owned_cm(core, ns, "dep", _ref(owner))
    _owned_cm(core, ns, "shared", _ref(owner), _ref(other))
    core.delete_namespaced_config_map("owner", ns, propagation_policy="Orphan")
    wait_for(lambda: gone(lambda: core.read_namespaced_config_map("owner", ns)), what="owner gone")
    dep = core.read_namespaced_config_map("dep", ns)
    assert not dep.metadata.owner_references
    assert dep.metadata.deletion_timestamp is None
    shared = core.read_namespaced_config_map("shared", ns)
    assert [r.uid for r in shared.metadata.owner_references] == [other.metadata.uid]
    time.sleep(0.5)
    assert _exists(lambda: core.read_namespaced_config_map("dep", ns)), "orphans stay"


def test_orphan_finalizer_holds_owner_until_dependents_are_released(core, ns, http):
    owner = core.create_namespaced_config_map(ns, cm_manifest("owner"))
    _owned_cm(core, ns, "dep", _ref(owner))
    answered = http.delete(f"/api/v1/namespaces/{ns}/configmaps/owner", params={"propagationPolicy": "Orphan"})
    assert answered.status_code in (200, 202)
    body = answered.json()
    if body["kind"] == "ConfigMap":  # still there: it must carry the orphan finalizer
        assert "orphan" in body["metadata"]["finalizers"]
    wait_for(lambda: gone(lambda: core.read_namespaced_config_map("owner", ns)), what="owner gone")
    assert not core.read_namespaced_config_map("dep", ns).metadata.owner_references


def test_dependent_whose_owner_never_existed_is_collected(core, ns):
    ghost = {"apiVersion": "v1", "kind": "ConfigMap", "name": "ghost", "uid": str(uuid.uuid4())}
    _owned_cm(core, ns, "stray", ghost)
    wait_for(lambda: gone(lambda: core.read_namespaced_config_map("stray", ns)), what="stray collected")


def test_dependent_with_a_live_owner_stays_and_loses_the_dangling_reference(core, ns):
    live = core.create_namespaced_config_map(ns, cm_manifest("live"))
    ghost = {"apiVersion": "v1", "kind": "ConfigMap", "name": "ghost", "uid": str(uuid.uuid4())}
    _owned_cm(core, ns, "half", _ref(live), ghost)
    wait_for(lambda: [r.uid for r in core.read_namespaced_config_map("half", ns).metadata.owner_references]
             == [live.metadata.uid], what="the dangling reference removed")
    assert core.read_namespaced_config_map("half", ns).metadata.deletion_timestamp is None


def test_dependent_with_a_live_owner_survives_the_other_owner(core, ns):
    a = core.create_namespaced_config_map(ns, cm_manifest("a"))
    b = core.create_namespaced_config_map(ns, cm_manifest("b"))
    _owned_cm(core, ns, "both", _ref(a), _ref(b))
    core.delete_namespaced_config_map("a", ns)
    wait_for(lambda: [r.uid for r in core.read_namespaced_config_map("both", ns).metadata.owner_references]
             == [b.metadata.uid], what="reference to the deleted owner removed")
    core.delete_namespaced_config_map("b", ns)
    wait_for(lambda: gone(lambda: core.read_namespaced_config_map("both", ns)), what="collected with its last owner")


def test_cluster_scoped_owner_collects_namespaced_dependents(core, ns, api_client):
    from kubernetes import client
    rbac = client.RbacAuthorizationV1Api(api_client)
    name = f"gc-owner-{ns}"
    owner = rbac.create_cluster_role({"metadata": {"name": name}, "rules": []})
    ref = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "name": name,
           "uid": owner.metadata.uid}
    _owned_cm(core, ns, "dep", ref)
    rbac.delete_cluster_role(name)
    wait_for(lambda: gone(lambda: core.read_namespaced_config_map("dep", ns)), what="dep collected")


@pytest.mark.parametrize("policy", ["Background", "Foreground", "Orphan"])
def test_owner_without_dependents_goes_under_every_policy(core, ns, policy):
    core.create_namespaced_config_map(ns, cm_manifest("lonely"))
    core.delete_namespaced_config_map("lonely", ns, propagation_policy=policy)
    wait_for(lambda: gone(lambda: core.read_namespaced_config_map("lonely", ns)), what=f"{policy} delete done")


def test_foreground_deletion_of_an_ownership_cycle_deletes_every_member(core, ns):
    members = [core.create_namespaced_config_map(ns, cm_manifest(f"link{i}")) for i in range(3)]
    for i, member in enumerate(members):
        owner = members[i - 1]  # link0 is owned by link2: a cycle of blocking references
        core.patch_namespaced_config_map(member.metadata.name, ns,
                                         {"metadata": {"ownerReferences": [_ref(owner, block=True)]}})
    core.delete_namespaced_config_map("link0", ns, propagation_policy="Foreground")
    for member in members:
        wait_for(lambda name=member.metadata.name: gone(lambda: core.read_namespaced_config_map(name, ns)),
                 what=f"{member.metadata.name} deleted despite the cycle")
