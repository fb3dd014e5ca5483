"""CRD deletion: a deleted CRD's custom resources go first, then its cleanup finalizer (apiextensions' finalizer
controller, pkg/controller/finalizer/crd_finalizer.go).

Deleting a CRD only marks it (see CRDStrategy.prepare_for_delete): its instances stay served for delete, get,
list and watch until this controller has deleted them all, so recreating the CRD never resurrects old objects.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from shim.clients.base import CRDS, Client, Resource
from shim.controllers.runner import busy_while
from shim.machinery.errors import StatusError
from shim.registry.kinds.crds import CLEANUP_FINALIZER, storage_version

log = logging.getLogger(__name__)


async def cleanup_terminating(client: Client, poll: float = 0.2) -> None:
    """Watch CRDs; each one being deleted with our finalizer gets a worker that empties it."""
    busy: set[str] = set()
    async for event in client.watch(CRDS):
        meta = event.object["metadata"]
        name = meta["name"]
        if (event.type == "DELETED" or not meta.get("deletionTimestamp")
                or CLEANUP_FINALIZER not in (meta.get("finalizers") or []) or name in busy):
            continue
        busy_while(busy, name, asyncio.create_task(_empty(client, event.object, poll)))


def _instances(crd: dict[str, Any]) -> Resource | None:
    spec = crd.get("spec") or {}
    names = (crd.get("status") or {}).get("acceptedNames") or spec.get("names") or {}
    served = [v.get("name") for v in spec.get("versions") or [] if v.get("served", True)]
    version = storage_version(crd) if storage_version(crd) in served else (served[0] if served else None)
    if not version or not names.get("plural") or not spec.get("group"):
        return None
    return Resource(spec["group"], version, names["plural"])


async def _empty(client: Client, crd: dict[str, Any], poll: float) -> None:
    resource = _instances(crd)
    while resource is not None:
        try:
            items = (await client.list(resource))["items"]
        except StatusError as err:
            if err.code != 404:
                raise
            break
        if not items:
            break
        for item in items:
            meta = item["metadata"]
            if meta.get("deletionTimestamp"):
                continue
            try:
                await client.delete(resource, meta["name"], meta.get("namespace", ""),
                                    propagation_policy="Background")
            except StatusError as err:
                if err.code not in (404, 409):
                    log.warning("deleting %s %s/%s: %s", resource.plural, meta.get("namespace", ""),
                                meta["name"], err.message)
        await asyncio.sleep(poll)
    name = crd["metadata"]["name"]
    while True:
        try:
            current = await client.get(CRDS, name)
        except StatusError as err:
            if err.code == 404:
                return
            raise
        meta = current["metadata"]
        meta["finalizers"] = [f for f in meta.get("finalizers") or [] if f != CLEANUP_FINALIZER]
        try:
            await client.update(CRDS, current)
            return
        except StatusError as err:
            if err.code == 404:
                return
            if err.code != 409:
                raise
