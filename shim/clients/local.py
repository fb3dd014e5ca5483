"""The in-process client: the API verbs straight on the verbs layer, no HTTP, same semantics and errors."""
from __future__ import annotations

from typing import Any, AsyncIterator

from shim.clients.base import Resource, WatchEvent
from shim.machinery.fields import parse_field_selector
from shim.machinery.labels import parse_label_selector
from shim.machinery.users import MASTERS, User
from shim.registry.generic import iterate
from shim.registry.options import DeleteOptions, ListOptions, Patch, WriteOptions
from shim.registry.resource import ResourceInfo
from shim.registry.rest import Verbs

Obj = dict[str, Any]


class LocalClient:
    """`shim.clients.base.Client` over the verbs layer (shim.registry.rest) in the same process."""

    def __init__(self, verbs: Verbs, manager: str = "kubeshim") -> None:
        self.verbs = verbs
        #: the in-process controllers and kubelet act as the system itself
        self.opts = WriteOptions(field_manager=manager, user=User(manager, (MASTERS,)))

    def _info(self, resource: Resource) -> ResourceInfo:
        return self.verbs.resource(resource.group, resource.version, resource.plural)

    async def get(self, resource: Resource, name: str, namespace: str = "") -> Obj:
        return self.verbs.get(self._info(resource), namespace, name)

    async def list(self, resource: Resource, namespace: str = "", *, label_selector: str = "",
                   field_selector: str = "") -> Obj:
        info = self._info(resource)
        opts = ListOptions(parse_label_selector(label_selector), parse_field_selector(field_selector))
        return self.verbs.list_object(info, await self.verbs.list(info, namespace, opts))

    async def watch(self, resource: Resource, namespace: str = "", *, resource_version: str = "",
                    label_selector: str = "", field_selector: str = "") -> AsyncIterator[WatchEvent]:
        info = self._info(resource)
        opts = ListOptions(parse_label_selector(label_selector), parse_field_selector(field_selector),
                           resource_version=resource_version)
        watch = await self.verbs.watch(info, namespace, opts)
        try:
            async for kind, entry in iterate(watch):
                yield WatchEvent(kind, self.verbs.decode(info, entry))
        finally:
            watch.close()

    async def create(self, resource: Resource, obj: Obj, namespace: str = "", *, subresource: str = "") -> Obj:
        info = self._info(resource)
        meta = obj.get("metadata", {})
        namespace = namespace or meta.get("namespace", "")
        if subresource:
            return (await self.verbs.create(info, namespace, obj, self.opts, name=meta.get("name", ""),
                                            subresource=subresource)).object
        obj.setdefault("apiVersion", info.api_version)
        obj.setdefault("kind", info.kind)
        return (await self.verbs.create(info, namespace, obj, self.opts)).object

    async def update(self, resource: Resource, obj: Obj, *, subresource: str = "") -> Obj:
        info = self._info(resource)
        meta = obj.get("metadata", {})
        obj.setdefault("apiVersion", info.api_version)
        obj.setdefault("kind", info.kind)
        return (await self.verbs.update(info, meta.get("namespace", ""), meta.get("name", ""), obj, self.opts,
                                        subresource=subresource)).object

    async def patch(self, resource: Resource, name: str, patch: Any, *, namespace: str = "",
                    patch_type: str = "application/merge-patch+json", subresource: str = "") -> Obj:
        return (await self.verbs.patch(self._info(resource), namespace, name, Patch(patch_type, patch), self.opts,
                                       subresource=subresource)).object

    async def delete(self, resource: Resource, name: str, namespace: str = "", *,
                     grace_period_seconds: int | None = None, uid: str | None = None,
                     propagation_policy: str | None = None) -> Obj:
        deleted = await self.verbs.delete(self._info(resource), namespace, name,
                                          DeleteOptions(grace_period_seconds, propagation_policy, uid))
        return deleted.object
