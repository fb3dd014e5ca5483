"""Namespace lifecycle: a terminating namespace is emptied, then its `kubernetes` finalizer is removed."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Callable, Iterable

from shim.clients.base import NAMESPACES, Client, Resource
from shim.controllers.runner import busy_while
from shim.machinery.errors import StatusError

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


async def _empty(client: Client, namespace: str, namespaced: Namespaced, poll: float) -> None:
    while True:
        remaining = 0
        for resource in namespaced():
            listed = await client.list(resource, namespace)
            for item in listed["items"]:
                remaining += 1
                if item["metadata"].get("deletionTimestamp"):
                    continue
                try:
                    await client.delete(resource, item["metadata"]["name"], namespace,
                                        propagation_policy="Background")
                except StatusError as err:
                    if err.code not in (404, 409):
                        log.warning("deleting %s/%s in %s: %s", resource.plural, item["metadata"]["name"],
                                    namespace, err.message)
        if remaining == 0:
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


def namespaced_resources(catalog: Catalog) -> list[Resource]:
    """Every namespaced resource with its own storage (shared storage is listed once)."""
    seen: set[str] = set()
    out: list[Resource] = []
    for info in catalog.all():
        if info.namespaced and "list" in info.verbs and info.storage not in seen:
            seen.add(info.storage)
            out.append(Resource(info.group, info.version, info.plural))
    return out
