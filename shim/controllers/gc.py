"""Garbage collector on ownerReferences: Background, Foreground (blockOwnerDeletion) and Orphan.

Keeps a graph of every object's owners, fed by one watch per resource. When an owner goes, dependents with no
other live owner are deleted; an owner with the `orphan` finalizer has its dependents released first; one with
`foregroundDeletion` waits until its blocking dependents are gone.
"""
from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from shim.clients.base import Client, Resource
from shim.controllers.runner import forever
from shim.machinery.errors import StatusError

log = logging.getLogger(__name__)
Obj = dict[str, Any]
ORPHAN, FOREGROUND = "orphan", "foregroundDeletion"


def collected_resources(catalog: Any) -> list[Resource]:
    """Every watchable resource once per storage: resources sharing one (core and events.k8s.io events, the
    served versions of a CRD) hold the same objects."""
    seen, out = set(), []
    for info in catalog.all():
        if "watch" in info.verbs and info.storage not in seen:
            seen.add(info.storage)
            out.append(Resource(info.group, info.version, info.plural))
    return out


@dataclass
class Node:
    resource: Resource
    namespace: str
    name: str
    uid: str
    owners: list[Obj]
    deleting: bool = False
    finalizers: tuple[str, ...] = ()


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    dependents: dict[str, set[str]] = field(default_factory=dict)

    def put(self, node: Node) -> None:
        self.remove(node.uid)
        self.nodes[node.uid] = node
        for ref in node.owners:
            self.dependents.setdefault(ref.get("uid", ""), set()).add(node.uid)

    def remove(self, uid: str) -> None:
        old = self.nodes.pop(uid, None)
        if old is None:
            return
        for ref in old.owners:
            deps = self.dependents.get(ref.get("uid", ""))
            if deps is not None:
                deps.discard(uid)


class GarbageCollector:
    def __init__(self, client: Client, resources: Callable[[], list[Resource]], settle: float = 0.2) -> None:
        self.client = client
        self.resources = resources
        self.graph = Graph()
        self.dirty: asyncio.Queue[str] = asyncio.Queue()
        self.settle = settle
        self.watched: dict[Resource, asyncio.Task[None]] = {}
        self.synced: set[Resource] = set()

    async def run(self) -> None:
        worker = asyncio.create_task(forever("gc-worker", self._work))
        try:
            while True:
                for resource in self.resources():
                    if resource not in self.watched or self.watched[resource].done():
                        self.watched[resource] = asyncio.create_task(
                            forever(f"gc-watch-{resource.plural}", functools.partial(self._watch, resource)))
                await asyncio.sleep(1.0)
        finally:
            worker.cancel()
            for task in self.watched.values():
                task.cancel()

    async def _watch(self, resource: Resource) -> None:
        listed = await self.client.list(resource)
        for item in listed["items"]:
            self._observe(resource, "ADDED", item)
        self.synced.add(resource)
        rv = listed["metadata"]["resourceVersion"]
        async for event in self.client.watch(resource, resource_version=rv):
            self._observe(resource, event.type, event.object)

    def _observe(self, resource: Resource, kind: str, obj: Obj) -> None:
        meta = obj.get("metadata", {})
        uid = meta.get("uid", "")
        if kind == "DELETED":
            gone = self.graph.nodes.get(uid)
            self.graph.remove(uid)
            for ref in gone.owners if gone else ():
                self.dirty.put_nowait(ref.get("uid", ""))
            for dep in list(self.graph.dependents.get(uid, ())):
                self.dirty.put_nowait(dep)
            return
        node = Node(resource, meta.get("namespace", ""), meta.get("name", ""), uid,
                    list(meta.get("ownerReferences") or []), bool(meta.get("deletionTimestamp")),
                    tuple(meta.get("finalizers") or ()))
        self.graph.put(node)
        if node.owners:
            self.dirty.put_nowait(uid)
        if node.deleting and (ORPHAN in node.finalizers or FOREGROUND in node.finalizers):
            self.dirty.put_nowait(uid)
        if node.deleting:
            for ref in node.owners:
                self.dirty.put_nowait(ref.get("uid", ""))

    async def _work(self) -> None:
        while True:
            uid = await self.dirty.get()
            await asyncio.sleep(0)
            node = self.graph.nodes.get(uid)
            if node is None:
                continue
            try:
                if node.deleting and ORPHAN in node.finalizers:
                    await self._orphan(node)
                elif node.deleting and FOREGROUND in node.finalizers:
                    await self._foreground(node)
                if node.owners:
                    await self._check_owners(node)
            except StatusError as err:
                if err.code not in (404, 409):
                    log.warning("gc on %s/%s: %s", node.resource.plural, node.name, err.message)
                elif err.code == 409:
                    await asyncio.sleep(self.settle)
                    self.dirty.put_nowait(uid)

    def _all_synced(self) -> bool:
        return all(r in self.synced for r in self.resources())

    def _owner_state(self, ref: Obj) -> str:
        """'live', 'gone', 'foreground' (being deleted in the foreground), or 'unknown' before sync."""
        owner = self.graph.nodes.get(ref.get("uid", ""))
        if owner is None:
            return "gone" if self._all_synced() else "unknown"
        if owner.deleting and FOREGROUND in owner.finalizers:
            return "foreground"
        return "live"

    async def _check_owners(self, node: Node) -> None:
        states = [self._owner_state(ref) for ref in node.owners]
        if "unknown" in states:
            await asyncio.sleep(self.settle)
            self.dirty.put_nowait(node.uid)
            return
        if "live" in states:
            gone = [ref for ref, s in zip(node.owners, states, strict=True) if s == "gone"]
            if gone:
                await self._drop_refs(node, {r.get("uid") for r in gone})
            return
        if node.deleting:
            return
        if "foreground" in states:
            await self._delete_for_waiting_owner(node)
        else:
            await self.client.delete(node.resource, node.name, node.namespace, propagation_policy="Background",
                                     uid=node.uid)

    async def _delete_for_waiting_owner(self, node: Node) -> None:
        """Delete `node` in the foreground, as an owner waits for it. When one of its own dependents waits too
        (an ownership cycle), its references stop blocking first, or the owners would wait for each other
        forever (upstream breaks cycles the same way)."""
        waiting = (self.graph.nodes.get(uid) for uid in self.graph.dependents.get(node.uid, ()))
        if any(dep is not None and dep.deleting and FOREGROUND in dep.finalizers for dep in waiting):
            await self._unblock_refs(node)
        await self.client.delete(node.resource, node.name, node.namespace, propagation_policy="Foreground",
                                 uid=node.uid)

    async def _drop_refs(self, node: Node, uids: set[str | None]) -> None:
        """Remove the owner references with these uids (None: references without one)."""
        current = await self.client.get(node.resource, node.name, node.namespace)
        refs = current["metadata"].get("ownerReferences") or []
        kept = [r for r in refs if r.get("uid") not in uids]
        if kept != refs:
            current["metadata"]["ownerReferences"] = kept
            await self.client.update(node.resource, current)

    async def _unblock_refs(self, node: Node) -> None:
        """Make every owner reference of `node` non-blocking."""
        current = await self.client.get(node.resource, node.name, node.namespace)
        refs = current["metadata"].get("ownerReferences") or []
        if any(r.get("blockOwnerDeletion") for r in refs):
            current["metadata"]["ownerReferences"] = [{**r, "blockOwnerDeletion": False} for r in refs]
            await self.client.update(node.resource, current)

    async def _remove_finalizer(self, node: Node, finalizer: str) -> None:
        current = await self.client.get(node.resource, node.name, node.namespace)
        finalizers = current["metadata"].get("finalizers") or []
        if finalizer in finalizers:
            current["metadata"]["finalizers"] = [f for f in finalizers if f != finalizer]
            await self.client.update(node.resource, current)

    async def _orphan(self, node: Node) -> None:
        for dep_uid in list(self.graph.dependents.get(node.uid, ())):
            dep = self.graph.nodes.get(dep_uid)
            if dep is not None:
                await self._drop_refs(dep, {node.uid})
        await self._remove_finalizer(node, ORPHAN)

    async def _foreground(self, node: Node) -> None:
        blocking = 0
        for dep_uid in list(self.graph.dependents.get(node.uid, ())):
            dep = self.graph.nodes.get(dep_uid)
            if dep is None:
                continue
            ref = next((r for r in dep.owners if r.get("uid") == node.uid), {})
            if ref.get("blockOwnerDeletion"):
                blocking += 1
            if not dep.deleting:
                others_live = any(self._owner_state(r) == "live" for r in dep.owners if r.get("uid") != node.uid)
                if others_live:
                    await self._drop_refs(dep, {node.uid})
                else:
                    await self._delete_for_waiting_owner(dep)
        if blocking == 0:
            await self._remove_finalizer(node, FOREGROUND)
