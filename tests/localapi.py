"""kubeshim's API in this process, with no HTTP: a SQLite Store, the generic Registry and the Catalog behind the
LocalClient every controller uses. The kubelet tier runs a real Kubelet on it; the unit tier drives a PodWorker
with it. A plain module (not a conftest) so that both import it by name.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from shim.clients.base import Resource, WatchEvent
from shim.clients.local import LocalClient
from shim.controllers.bootstrap import ensure_namespaces
from shim.registry.catalog import Catalog
from shim.registry.generic import Registry
from shim.registry.rest import Verbs
from shim.storage.store import Store


class LocalApi:
    """kubeshim's API in this process: Store + Registry + Catalog, reached through the real LocalClient."""

    def __init__(self, path: Path) -> None:
        self.store = Store(path)
        self.store.open()
        self.registry = Registry(self.store)
        self.catalog = Catalog(self.store)
        self.client = LocalClient(Verbs(self.registry, self.catalog))
        self._watches: list[asyncio.Task[None]] = []

    async def start(self) -> "LocalApi":
        """Start the store's writer on the running loop and create the system namespaces."""
        self.store.start(asyncio.get_running_loop())
        await ensure_namespaces(self.client)
        return self

    async def close(self) -> None:
        for task in self._watches:
            task.cancel()
        await asyncio.gather(*self._watches, return_exceptions=True)
        self._watches.clear()
        self.store.close()

    def get(self, resource: Resource, name: str, namespace: str = "") -> dict[str, Any] | None:
        """The object as stored right now (None when it does not exist), read synchronously."""
        info = self.catalog.lookup(resource.group, resource.version, resource.plural)
        assert info is not None, resource
        entry = self.registry.get_entry(info, namespace if info.namespaced else "", name)
        return self.registry.decode(info, entry) if entry is not None else None

    def record(self, resource: Resource, name: str, namespace: str = "default") -> list[WatchEvent]:
        """Every change to one object from now on, as a real watch delivers it (the list fills in the
        background; it is complete up to whatever the caller waits for)."""
        events: list[WatchEvent] = []
        since = str(self.store.revision)  # resume point: nothing after this call can be missed

        async def run() -> None:
            async for event in self.client.watch(resource, namespace, resource_version=since,
                                                 field_selector=f"metadata.name={name}"):
                events.append(event)

        self._watches.append(asyncio.create_task(run(), name=f"record-{name}"))
        return events
