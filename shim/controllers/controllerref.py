"""Claiming dependents as upstream's ControllerRefManager does (pkg/controller/controller_ref_manager.go): an owner
keeps its dependents that match its selector, adopts matching orphans and releases its own that stopped matching.

`claim_plan` decides (pure); `claim` applies the decision with strategic-merge patches that name the dependent's
uid, so a dependent deleted and recreated under the same name is never adopted by mistake. Every workload
controller claims this way: ReplicaSets and Jobs their pods, Deployments their ReplicaSets, StatefulSets and
DaemonSets their pods.
"""
from __future__ import annotations

from dataclasses import dataclass

from shim.clients.base import Client, Resource
from shim.controllers.podutil import Obj, controller_of, controller_ref, key_of
from shim.machinery.errors import StatusError
from shim.machinery.labels import LabelSelector

SMP = "application/strategic-merge-patch+json"


@dataclass(frozen=True)
class Claim:
    """What claiming does to the candidates: `owned` stay (adopted ones included), `adopt` get the owner's
    controller reference, `release` lose it."""

    owned: list[Obj]
    adopt: list[Obj]
    release: list[Obj]


@dataclass(frozen=True)
class OwnerKind:
    """Who claims: the owner's resource (re-read before adopting) and the kind its controller references name."""

    resource: Resource
    kind: str

    @property
    def api_version(self) -> str:
        return self.resource.api_version


def claim_plan(owner: Obj, selector: LabelSelector, candidates: list[Obj]) -> Claim:
    """Keep our matching dependents, release our non-matching ones (unless we are being deleted), adopt matching
    orphans of our namespace that are not being deleted (unless we are)."""
    meta = owner.get("metadata") or {}
    uid, deleting = meta.get("uid"), bool(meta.get("deletionTimestamp"))
    owned: list[Obj] = []
    adopt: list[Obj] = []
    release: list[Obj] = []
    for dependent in candidates:
        dep_meta = dependent.get("metadata") or {}
        matches = selector.matches(dep_meta.get("labels") or {})
        ref = controller_of(dependent)
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if matches:
                owned.append(dependent)
            elif not deleting:
                release.append(dependent)
            continue
        if deleting or not matches or dep_meta.get("deletionTimestamp"):
            continue
        if dep_meta.get("namespace") != meta.get("namespace"):
            continue
        adopt.append(dependent)
        owned.append(dependent)
    return Claim(owned, adopt, release)


async def claim(client: Client, owner: Obj, owner_kind: OwnerKind, selector: LabelSelector, candidates: list[Obj],
                dependents: Resource, adopted_metadata: Obj | None = None) -> list[Obj]:
    """The owner's dependents after claiming: adoptions and releases patched, adopted ones as the server returned
    them. `adopted_metadata` joins the controller reference on adoption (a Job's tracking finalizer). Before
    adopting, the owner is re-read (RecheckDeletionTimestamp): a replaced or deleting owner adopts nothing."""
    plan = claim_plan(owner, selector, candidates)
    meta = owner.get("metadata") or {}
    if plan.adopt:
        fresh = (await client.get(owner_kind.resource, meta["name"], meta.get("namespace", ""))).get("metadata") or {}
        if fresh.get("uid") != meta.get("uid"):
            raise RuntimeError(f"original {owner_kind.kind} {key_of(owner)} is gone: got uid {fresh.get('uid')}, "
                               f"wanted {meta.get('uid')}")
        if fresh.get("deletionTimestamp"):
            raise RuntimeError(f"{owner_kind.kind} {key_of(owner)} has just been deleted at "
                               f"{fresh['deletionTimestamp']}")
    ref = controller_ref(owner, owner_kind.api_version, owner_kind.kind)
    owned = list(plan.owned)
    for dependent in plan.adopt:
        dep_meta = dependent["metadata"]
        patch = {"metadata": {**(adopted_metadata or {}), "ownerReferences": [ref], "uid": dep_meta.get("uid")}}
        try:
            adopted = await client.patch(dependents, dep_meta["name"], patch,
                                         namespace=dep_meta.get("namespace", ""), patch_type=SMP)
        except StatusError as err:
            if err.code != 404:
                raise
            owned.remove(dependent)
            continue
        owned[owned.index(dependent)] = adopted
    for dependent in plan.release:
        dep_meta = dependent["metadata"]
        patch = {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": meta.get("uid")}],
                              "uid": dep_meta.get("uid")}}
        try:
            await client.patch(dependents, dep_meta["name"], patch, namespace=dep_meta.get("namespace", ""),
                               patch_type=SMP)
        except StatusError as err:
            if err.code not in (404, 422):
                raise
    return owned
