"""A minimal list+watch cache (client-go's reflector + store, in one small class).

The kubelet and its scheduler share one pod informer: every pod in every namespace, so the scheduler sees
pending pods and the node's used resources, and the kubelet sees the pods bound to its node. On 410 Expired
(or a broken stream) it relists and synthesizes the events it missed, deletions included.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from shim.clients.base import Client, Resource
from shim.machinery.errors import StatusError

log = logging.getLogger(__name__)
Handler = Callable[[str, dict[str, Any]], Awaitable[None] | None]


def key_of(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace", ""), meta.get("name", "")


class Informer:
    def __init__(self, client: Client, resource: Resource, handler: Handler, *, namespace: str = "",
                 field_selector: str = "", label_selector: str = "", retry_seconds: float = 1.0) -> None:
        self.client = client
        self.resource = resource
        self.handler = handler
        self.namespace = namespace
        self.field_selector = field_selector
        self.label_selector = label_selector
        self.retry_seconds = retry_seconds
        self.store: dict[tuple[str, str], dict[str, Any]] = {}
        self.synced = asyncio.Event()

    async def _emit(self, kind: str, obj: dict[str, Any]) -> None:
        try:
            result = self.handler(kind, obj)
            if asyncio.iscoroutine(result):
                await result
        except Exception:  # noqa: BLE001 - one bad handler call must not stop the informer
            log.exception("informer handler failed for %s %s", kind, key_of(obj))

    async def _relist(self) -> str:
        listing = await self.client.list(self.resource, self.namespace, label_selector=self.label_selector,
                                         field_selector=self.field_selector)
        fresh = {key_of(o): o for o in listing.get("items") or []}
        for key in list(self.store):
            if key not in fresh:
                gone = self.store.pop(key)
                await self._emit("DELETED", gone)
        for key, obj in fresh.items():
            kind = "MODIFIED" if key in self.store else "ADDED"
            old = self.store.get(key)
            self.store[key] = obj
            if old is None or (old.get("metadata") or {}).get("resourceVersion") != \
                    (obj.get("metadata") or {}).get("resourceVersion"):
                await self._emit(kind, obj)
        self.synced.set()
        rv: str = (listing.get("metadata") or {}).get("resourceVersion", "")
        return rv

    async def run(self) -> None:
        """List, then watch forever; cancel to stop."""
        rv = ""
        while True:
            try:
                if not rv:
                    rv = await self._relist()
                async for event in self.client.watch(self.resource, self.namespace, resource_version=rv,
                                                     label_selector=self.label_selector,
                                                     field_selector=self.field_selector):
                    obj = event.object
                    if event.type == "ERROR":
                        if obj.get("code") == 410:
                            rv = ""
                        break
                    new_rv = (obj.get("metadata") or {}).get("resourceVersion")
                    if new_rv:
                        rv = new_rv
                    if event.type == "BOOKMARK":
                        continue
                    if event.type == "DELETED":
                        self.store.pop(key_of(obj), None)
                    else:
                        self.store[key_of(obj)] = obj
                    await self._emit(event.type, obj)
            except asyncio.CancelledError:
                raise
            except StatusError as exc:
                if exc.code == 410:
                    rv = ""
                    continue
                log.warning("watch %s failed: %s", self.resource.plural, exc.message)
                await asyncio.sleep(self.retry_seconds)
            except Exception as exc:  # noqa: BLE001 - connection trouble: back off and relist
                log.warning("watch %s failed: %r", self.resource.plural, exc)
                rv = ""
                await asyncio.sleep(self.retry_seconds)
