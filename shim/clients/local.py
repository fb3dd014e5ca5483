"""The in-process client: the API verbs straight on the registry, no HTTP, same semantics and errors."""
from __future__ import annotations

from typing import Any, AsyncIterator

from shim.clients.base import Resource, WatchEvent
from shim.machinery import errors, patch as patches
from shim.machinery.fields import parse_field_selector
from shim.machinery.labels import parse_label_selector
from shim.registry import subresources
from shim.registry.catalog import Catalog
from shim.registry.generic import DeleteOptions, ListOptions, Registry, WriteOptions, iterate
from shim.registry.resource import ResourceInfo

Obj = dict[str, Any]


class LocalClient:
    """`shim.clients.base.Client` over a Registry in the same process."""

    def __init__(self, registry: Registry, catalog: Catalog, manager: str = "kubeshim") -> None:
        self.registry = registry
        self.catalog = catalog
        self.opts = WriteOptions(field_manager=manager)

    def _info(self, resource: Resource) -> ResourceInfo:
        info = self.catalog.lookup(resource.group, resource.version, resource.plural)
        if info is None:
            raise errors.StatusError(404, "NotFound", "the server could not find the requested resource")
        return info

    async def get(self, resource: Resource, name: str, namespace: str = "") -> Obj:
        return self.registry.get(self._info(resource), namespace, name)

    async def list(self, resource: Resource, namespace: str = "", *, label_selector: str = "",
                   field_selector: str = "") -> Obj:
        info = self._info(resource)
        opts = ListOptions(parse_label_selector(label_selector), parse_field_selector(field_selector))
        result = await self.registry.list(info, namespace, opts)
        return {"kind": info.list_kind, "apiVersion": info.api_version,
                "metadata": {"resourceVersion": str(result.resource_version)},
                "items": [self.registry.decode(info, e) for e in result.entries]}

    async def watch(self, resource: Resource, namespace: str = "", *, resource_version: str = "",
                    label_selector: str = "", field_selector: str = "") -> AsyncIterator[WatchEvent]:
        info = self._info(resource)
        opts = ListOptions(parse_label_selector(label_selector), parse_field_selector(field_selector),
                           resource_version=resource_version)
        watch = await self.registry.watch(info, namespace, opts)
        try:
            async for kind, entry in iterate(watch):
                yield WatchEvent(kind, self.registry.decode(info, entry))
        finally:
            watch.close()

    async def create(self, resource: Resource, obj: Obj, namespace: str = "") -> Obj:
        info = self._info(resource)
        if resource.plural == "bindings":
            pods = self._info(Resource("", "v1", "pods"))
            return await subresources.bind(self.registry, pods, namespace, obj, self.opts)
        obj.setdefault("apiVersion", info.api_version)
        obj.setdefault("kind", info.kind)
        return await self.registry.create(info, namespace or obj.get("metadata", {}).get("namespace", ""), obj,
                                          self.opts)

    async def update(self, resource: Resource, obj: Obj, *, subresource: str = "") -> Obj:
        info = self._info(resource)
        meta = obj.get("metadata", {})
        obj.setdefault("apiVersion", info.api_version)
        obj.setdefault("kind", info.kind)
        return await self.registry.update(info, meta.get("namespace", ""), meta.get("name", ""), obj, self.opts,
                                          subresource=subresource)

    async def patch(self, resource: Resource, name: str, patch: Any, *, namespace: str = "",
                    patch_type: str = "application/merge-patch+json", subresource: str = "") -> Obj:
        info = self._info(resource)
        if patch_type == "application/json-patch+json":
            mutate = lambda current: patches.json_patch(current, patch)  # noqa: E731
        elif patch_type == "application/merge-patch+json":
            mutate = lambda current: patches.merge_patch(current, patch)  # noqa: E731
        else:
            raise errors.unsupported_media_type(["application/json-patch+json", "application/merge-patch+json"])
        return await self.registry.update_with(info, namespace, name, mutate, self.opts, subresource=subresource)

    async def delete(self, resource: Resource, name: str, namespace: str = "", *,
                     grace_period_seconds: int | None = None, uid: str | None = None,
                     propagation_policy: str | None = None) -> Obj:
        info = self._info(resource)
        obj, _ = await self.registry.delete(info, namespace, name,
                                            DeleteOptions(grace_period_seconds, propagation_policy, uid))
        return obj
