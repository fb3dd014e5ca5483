"""Shared informers for the workload controllers (client-go's SharedInformerFactory, small): one list+watch per
resource, a cache by namespace and name, and handlers told of every add, update (with the old object) and delete.

On 410 Expired or a broken stream the informer relists and tells its handlers what changed meanwhile, deletions
included, so a handler never misses an object going away.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Iterator

from shim.clients.base import Client, Resource
from shim.machinery.errors import StatusError

log = logging.getLogger(__name__)
Obj = dict[str, Any]
#: (old, new): old is None for an add, new is None for a delete
Handler = Callable[[Obj | None, Obj | None], None]


def namespace_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace", ""))


def name_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


class Informer:
    def __init__(self, client: Client, resource: Resource, retry_seconds: float = 1.0) -> None:
        self.client = client
        self.resource = resource
        self.retry_seconds = retry_seconds
        self.handlers: list[Handler] = []
        self._by_namespace: dict[str, dict[str, Obj]] = {}
        self.synced = asyncio.Event()

    def add_handler(self, handler: Handler) -> None:
        self.handlers.append(handler)

    def get(self, namespace: str, name: str) -> Obj | None:
        return self._by_namespace.get(namespace, {}).get(name)

    def list(self, namespace: str | None = None) -> list[Obj]:
        """Cached objects of one namespace (all with None)."""
        if namespace is not None:
            return list(self._by_namespace.get(namespace, {}).values())
        return [obj for objs in self._by_namespace.values() for obj in objs.values()]

    def __iter__(self) -> Iterator[Obj]:
        return iter(self.list())

    def _emit(self, old: Obj | None, new: Obj | None) -> None:
        for handler in self.handlers:
            try:
                handler(old, new)
            except Exception:  # noqa: BLE001 - one bad handler must not stop the informer
                log.exception("informer handler for %s failed", self.resource.plural)

    def _put(self, obj: Obj) -> Obj | None:
        objs = self._by_namespace.setdefault(namespace_of(obj), {})
        old = objs.get(name_of(obj))
        objs[name_of(obj)] = obj
        return old

    def _drop(self, obj: Obj) -> Obj | None:
        objs = self._by_namespace.get(namespace_of(obj), {})
        old = objs.pop(name_of(obj), None)
        if not objs:
            self._by_namespace.pop(namespace_of(obj), None)
        return old

    async def _relist(self) -> str:
        listing = await self.client.list(self.resource)
        fresh = {(namespace_of(o), name_of(o)): o for o in listing.get("items") or []}
        for gone in self.list():
            if (namespace_of(gone), name_of(gone)) not in fresh:
                self._drop(gone)
                self._emit(gone, None)
        for obj in fresh.values():
            old = self._put(obj)
            if old is None or _rv(old) != _rv(obj):
                self._emit(old, obj)
        self.synced.set()
        return str((listing.get("metadata") or {}).get("resourceVersion", ""))

    async def run(self) -> None:
        """List, then watch forever; cancel to stop."""
        rv = ""
        while True:
            try:
                if not rv:
                    rv = await self._relist()
                async for event in self.client.watch(self.resource, resource_version=rv):
                    obj = event.object
                    if event.type == "ERROR":
                        rv = "" if obj.get("code") == 410 else rv
                        break
                    rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                    if event.type == "BOOKMARK":
                        continue
                    if event.type == "DELETED":
                        self._drop(obj)
                        self._emit(obj, None)
                    else:
                        self._emit(self._put(obj), obj)
            except asyncio.CancelledError:
                raise
            except StatusError as exc:
                if exc.code != 410:
                    log.warning("watch %s failed: %s", self.resource.plural, exc.message)
                    await asyncio.sleep(self.retry_seconds)
                rv = ""
            except Exception as exc:  # noqa: BLE001 - connection trouble: back off and relist
                log.warning("watch %s failed: %r", self.resource.plural, exc)
                rv = ""
                await asyncio.sleep(self.retry_seconds)


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))


class Informers:
    """One informer per resource, shared by every controller that asks for it."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._informers: dict[Resource, Informer] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def get(self, resource: Resource) -> Informer:
        if resource not in self._informers:
            self._informers[resource] = Informer(self.client, resource)
        return self._informers[resource]

    def start(self) -> None:
        """Start every informer asked for and not yet running."""
        running = len(self._tasks)
        for informer in list(self._informers.values())[running:]:
            self._tasks.append(asyncio.create_task(informer.run(), name=f"informer-{informer.resource.plural}"))

    async def wait_synced(self) -> None:
        await asyncio.gather(*(i.synced.wait() for i in self._informers.values()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
