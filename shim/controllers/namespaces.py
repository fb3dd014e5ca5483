"""Namespace lifecycle: a terminating namespace is emptied, pods first, then its `kubernetes` finalizer is removed."""
from __future__ import annotations

import asyncio
import collections
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

from shim.clients.base import NAMESPACES, Client, Resource
from shim.controllers.runner import busy_while
from shim.machinery.errors import StatusError
from shim.machinery.timeutil import now_string

if TYPE_CHECKING:
    from shim.registry.catalog import Catalog

#: The namespaced resources to empty, asked again at every pass (CRDs come and go).
Namespaced = Callable[[], Iterable[Resource]]

log = logging.getLogger(__name__)


async def finalize_terminating(client: Client, namespaced: Namespaced, poll: float = 0.3) -> None:
    """Watch namespaces; each terminating one gets a worker that deletes its contents."""
    busy: set[str] = set()
    async for event in client.watch(NAMESPACES):
        meta = event.object["metadata"]
        name = meta["name"]
        if event.type == "DELETED" or not meta.get("deletionTimestamp") or name in busy:
            continue
        busy_while(busy, name, asyncio.create_task(_empty(client, name, namespaced, poll)))


PODS = Resource("", "v1", "pods")
#: the conditions the deleter keeps on a terminating namespace, with their reason and message while all is well
_OK = {
    "NamespaceDeletionDiscoveryFailure": ("ResourcesDiscovered", "All resources successfully discovered"),
    "NamespaceDeletionGroupVersionParsingFailure": ("ParsedGroupVersions",
                                                    "All legacy kube types successfully parsed"),
    "NamespaceDeletionContentFailure": ("ContentDeleted",
                                        "All content successfully deleted, may be waiting on finalization"),
    "NamespaceContentRemaining": ("ContentRemoved", "All content successfully removed"),
    "NamespaceFinalizersRemaining": ("ContentHasNoFinalizers", "All content-preserving finalizers finished"),
}


@dataclass
class _Pass:
    """What one pass over a namespace left behind: per resource, objects remaining; per finalizer, objects held."""
    remaining: collections.Counter[str] = field(default_factory=collections.Counter)
    finalizers: collections.Counter[str] = field(default_factory=collections.Counter)

    def failing(self) -> dict[str, tuple[str, str]]:
        """The conditions this pass sets True, with reason and message (upstream's wording)."""
        out = {}
        if self.remaining:
            counts = sorted(f"{r} has {n} resource instances" for r, n in self.remaining.items())
            out["NamespaceContentRemaining"] = ("SomeResourcesRemain",
                                                f"Some resources are remaining: {', '.join(counts)}")
        if self.finalizers:
            held = sorted(f"{f} in {n} resource instances" for f, n in self.finalizers.items())
            out["NamespaceFinalizersRemaining"] = (
                "SomeFinalizersRemain", f"Some content in the namespace has finalizers remaining: {', '.join(held)}")
        return out


async def _empty(client: Client, namespace: str, namespaced: Namespaced, poll: float) -> None:
    """Delete the namespace's pods first and, once none remain, everything else (upstream's ordered namespace
    deletion: nothing a running pod uses goes away under it); the namespace's conditions say what remains."""
    while True:
        done = _Pass()
        await _delete_all(client, PODS, namespace, done)
        if not done.remaining:
            for resource in namespaced():
                if resource != PODS:
                    await _delete_all(client, resource, namespace, done)
            failing = done.failing()
        else:
            failing = {}  # upstream reports remaining content only once it got past the pods
        if not await _set_conditions(client, namespace, failing):
            return
        if not done.remaining:
            break
        await asyncio.sleep(poll)
    try:
        ns = await client.get(NAMESPACES, namespace)
    except StatusError as err:
        if err.code == 404:
            return
        raise
    # only our own token: other finalizers in spec.finalizers belong to other controllers
    ns["spec"]["finalizers"] = [f for f in ns["spec"].get("finalizers") or [] if f != "kubernetes"]
    try:
        await client.update(NAMESPACES, ns, subresource="finalize")
    except StatusError as err:
        if err.code not in (404, 409):
            raise


async def _delete_all(client: Client, resource: Resource, namespace: str, done: _Pass) -> None:
    listed = await client.list(resource, namespace)
    for item in listed["items"]:
        meta = item["metadata"]
        done.remaining[f"{resource.plural}.{resource.group}"] += 1
        done.finalizers.update(meta.get("finalizers") or [])
        if meta.get("deletionTimestamp"):
            continue
        try:
            await client.delete(resource, meta["name"], namespace, propagation_policy="Background")
        except StatusError as err:
            if err.code not in (404, 409):
                log.warning("deleting %s/%s in %s: %s", resource.plural, meta["name"], namespace, err.message)


async def _set_conditions(client: Client, namespace: str, failing: dict[str, tuple[str, str]]) -> bool:
    """Bring the deleter's conditions up to date (True with a reason where `failing` says so, the all-is-well
    variant otherwise); False when the namespace is gone."""
    try:
        ns = await client.get(NAMESPACES, namespace)
    except StatusError as err:
        if err.code == 404:
            return False
        raise
    status = ns.setdefault("status", {})
    conditions = status.setdefault("conditions", [])
    changed = False
    for kind, ok in _OK.items():
        reason, message = failing.get(kind, ok)
        state = "True" if kind in failing else "False"
        old = next((c for c in conditions if c.get("type") == kind), None)
        if old is None:
            conditions.append({"type": kind, "status": state, "lastTransitionTime": now_string(),
                               "reason": reason, "message": message})
            changed = True
        elif (old.get("status"), old.get("reason"), old.get("message")) != (state, reason, message):
            if old.get("status") != state:
                old["lastTransitionTime"] = now_string()
            old.update(status=state, reason=reason, message=message)
            changed = True
    if changed:
        try:
            await client.update(NAMESPACES, ns, subresource="status")
        except StatusError as err:
            if err.code == 404:
                return False
            if err.code != 409:  # a concurrent writer: the next pass compares again
                raise
    return True


def namespaced_resources(catalog: Catalog) -> list[Resource]:
    """Every namespaced resource with its own storage (shared storage is listed once) that can be deleted: as
    upstream's deleter, computed resources (metrics.k8s.io: list but no delete) hold nothing to remove."""
    seen: set[str] = set()
    out: list[Resource] = []
    for info in catalog.all():
        if info.namespaced and {"list", "delete"} <= set(info.verbs) and info.storage not in seen:
            seen.add(info.storage)
            out.append(Resource(info.group, info.version, info.plural))
    return out
