"""The verbs layer: every verb of the API once, for every resource (upstream's registry/rest).

A resource is the generic store (shim.registry.generic) driven by its kind's strategy, plus the handlers of its
subresources (shim.registry.subresource); a virtual resource is a handler alone. The HTTP server
(shim.server.resources) and the in-process client (shim.clients.local) both call this layer, so a verb means
the same whichever way it arrives; nothing else implements one.
"""
from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from typing import Any, Callable

from shim.machinery import errors, nesting, patch as patches, schemas, strategic_merge
from shim.machinery.errors import StatusError
from shim.registry.admission import PolicyAdmission
from shim.registry.admission_chain import AdmissionChain
from shim.registry.apply import applying, repeated_key_warnings, server_side_apply
from shim.registry.catalog import Catalog
from shim.registry.generic import ListResult, Registry, Watch
from shim.registry.options import Deleted, DeleteOptions, ListOptions, Patch, WriteOptions, Written
from shim.registry.resource import ResourceInfo
from shim.registry.services import Services
from shim.registry.webhooks.dispatch import WebhookAdmission
from shim.registry.subresource import Subresource
from shim.storage.store import Entry

Obj = dict[str, Any]

def list_metadata(result: ListResult) -> Obj:
    """The ListMeta of a list: its revision, and where the next page starts."""
    meta: Obj = {"resourceVersion": str(result.resource_version)}
    if result.continue_token:
        meta["continue"] = result.continue_token
    if result.remaining is not None:
        meta["remainingItemCount"] = result.remaining
    return meta


class Verbs:
    """get/list/watch/create/update/patch/delete/deletecollection for any served resource."""

    def __init__(self, registry: Registry, catalog: Catalog, services: Services | None = None) -> None:
        self.registry = registry
        self.catalog = catalog
        self.services = services or Services()
        # webhooks and the policies bound to a write admit it, whichever way it arrives (HTTP or in-process)
        policies = PolicyAdmission(registry.store, catalog, self.services)
        registry.admission = AdmissionChain(policies, WebhookAdmission(registry.store, catalog, policies.decide))

    def resource(self, group: str, version: str, plural: str) -> ResourceInfo:
        """The served resource, or the 404 upstream answers for an unknown one."""
        info = self.catalog.lookup(group, version, plural)
        if info is None:
            raise errors.not_served()
        return info

    def route(self, info: ResourceInfo, subresource: str, verb: str) -> Subresource | None:
        """The handler that serves `verb` on the resource or its `subresource` (None: the generic store); 404
        for a subresource the resource lacks, 405 for a verb it does not take."""
        handler = info.subresources.get(subresource) if subresource else info.handler
        if subresource and handler is None:
            raise errors.not_served()
        served = handler.verbs if handler is not None else info.verbs
        if verb == "watch" and "list" in served and verb not in served:
            raise errors.method_not_supported(info.plural, info.group, verb)
        if verb not in served:
            raise errors.method_not_allowed()
        return handler

    def _store_only(self, info: ResourceInfo, verb: str) -> None:
        """Verbs only the generic store implements (list, watch, delete, deletecollection)."""
        if self.route(info, "", verb) is not None:
            raise errors.method_not_allowed()

    # -- reads ----------------------------------------------------------------------------------------------

    def get(self, info: ResourceInfo, namespace: str, name: str, *, subresource: str = "") -> Obj:
        handler = self.route(info, subresource, "get")
        if handler is not None:
            return handler.get(self, info, namespace, name)
        return self.registry.get(info, namespace, name)

    async def stream(self, info: ResourceInfo, namespace: str, name: str, subresource: str,
                     options: Mapping[str, str]) -> AsyncIterator[bytes]:
        """GET of a streaming subresource (pods/log): its bytes, with `options` as the request's query gives
        them; errors are raised before the first byte."""
        handler = self.route(info, subresource, "get")
        if handler is None or not handler.streams:
            raise errors.method_not_allowed()
        return await handler.stream(self, info, namespace, name, options)

    async def list(self, info: ResourceInfo, namespace: str, opts: ListOptions) -> ListResult:
        """The selected entries as stored (callers that serve them as they are need not decode them)."""
        self._store_only(info, "list")
        return await self.registry.list(info, namespace, opts)

    async def list_computed(self, info: ResourceInfo, namespace: str, opts: ListOptions) -> Obj:
        """The List object of a virtual resource whose handler computes the items (metrics.k8s.io)."""
        handler = self.route(info, "", "list")
        if handler is None:
            raise errors.method_not_allowed()
        return await handler.list(self, info, namespace, opts)

    def decode(self, info: ResourceInfo, entry: Entry) -> Obj:
        return self.registry.decode(info, entry)

    def list_object(self, info: ResourceInfo, result: ListResult) -> Obj:
        """The List object of a list's entries, e.g. a PodList."""
        return {"kind": info.list_kind, "apiVersion": info.api_version, "metadata": list_metadata(result),
                "items": [self.registry.decode(info, e) for e in result.entries]}

    async def watch(self, info: ResourceInfo, namespace: str, opts: ListOptions, *,
                    send_initial_events: bool | None = None) -> Watch:
        self._store_only(info, "watch")
        return await self.registry.watch(info, namespace, opts, send_initial_events=send_initial_events)

    # -- writes ---------------------------------------------------------------------------------------------

    async def create(self, info: ResourceInfo, namespace: str, obj: Obj, opts: WriteOptions, *, name: str = "",
                     subresource: str = "") -> Written:
        """POST to the collection, or to a named object's subresource (pods/{name}/binding)."""
        handler = self.route(info, subresource, "create")
        if handler is not None:
            nesting.check(obj)  # the store's own writes check after the type checks (Registry._check_type)
            return await handler.create(self, info, namespace, name, obj, opts)
        if name:
            raise errors.method_not_allowed()
        return await self.registry.create(info, namespace, obj, opts)

    async def update(self, info: ResourceInfo, namespace: str, name: str, obj: Obj, opts: WriteOptions, *,
                     subresource: str = "") -> Written:
        handler = self.route(info, subresource, "update")
        if handler is not None:
            nesting.check(obj)
            return await handler.update(self, info, namespace, name, obj, opts)
        return await self.registry.update(info, namespace, name, obj, opts)

    async def patch(self, info: ResourceInfo, namespace: str, name: str, patch: Patch, opts: WriteOptions, *,
                    subresource: str = "") -> Written:
        """JSON, merge and strategic merge patches as read-modify-write; apply creates or merges."""
        handler = self.route(info, subresource, "patch")
        if patch.type == patches.APPLY_PATCH:
            if handler is None:
                return await server_side_apply(self.registry, info, namespace, name, patch, opts)
            mutate = applying(info, name, patch, opts, subresource)
            written = await handler.patch(self, info, namespace, name, mutate,
                                          dataclasses.replace(opts, fields_recorded=True))
            return dataclasses.replace(written, warnings=repeated_key_warnings(patch, opts) + written.warnings)
        mutate = _mutation(info, patch)
        if handler is not None:
            return await handler.patch(self, info, namespace, name, mutate, opts)
        return await self.registry.update_with(info, namespace, name, mutate, opts)

    async def delete(self, info: ResourceInfo, namespace: str, name: str, opts: DeleteOptions) -> Deleted:
        self._store_only(info, "delete")
        opts.validate()
        return await self.registry.delete(info, namespace, name, opts)

    async def delete_collection(self, info: ResourceInfo, namespace: str, selection: ListOptions,
                                opts: DeleteOptions) -> Written:
        """Delete what a list selects; the List of what was deleted (or started deleting), and the warnings of
        each delete. Every item is checked before any goes, so that a refused collection delete changes nothing
        (upstream's deletes the items before the one it refuses, and bypasses the protection of system priority
        classes)."""
        self._store_only(info, "deletecollection")
        opts.validate()
        result = await self.registry.list(info, namespace, selection)
        metas = [self.registry.decode(info, entry)["metadata"] for entry in result.entries]
        for meta in metas:
            self.registry.deletable(info, meta.get("namespace", ""), meta["name"], opts)
        items = []
        warnings: tuple[str, ...] = ()
        for meta in metas:
            try:
                deleted = await self.registry.delete(info, meta.get("namespace", ""), meta["name"], opts)
                items.append({k: v for k, v in deleted.object.items() if k not in ("apiVersion", "kind")})
                warnings += deleted.warnings
            except StatusError as err:
                if err.code != 404:
                    raise
        return Written({"kind": info.list_kind, "apiVersion": info.api_version,
                        "metadata": {"resourceVersion": str(self.registry.store.revision)}, "items": items}, warnings)


def _mutation(info: ResourceInfo, patch: Patch) -> Callable[[Obj], Obj]:
    """The read-modify-write step of a JSON, merge or strategic merge patch; 415 for other media types."""
    if patch.type == patches.JSON_PATCH:
        return lambda current: patches.json_patch(current, patch.body)
    if patch.type == patches.STRATEGIC_PATCH and not info.strategy.strategic_merge:
        raise errors.unsupported_media_type([patches.JSON_PATCH, patches.MERGE_PATCH, patches.APPLY_PATCH])
    if patch.type not in (patches.MERGE_PATCH, patches.STRATEGIC_PATCH):
        raise errors.unsupported_media_type([patches.JSON_PATCH, patches.MERGE_PATCH, patches.STRATEGIC_PATCH,
                                             patches.APPLY_PATCH])
    if not isinstance(patch.body, dict):
        raise errors.bad_request("the patch must be a JSON object")
    nesting.check(patch.body)  # both walk the patch recursively
    if patch.type == patches.MERGE_PATCH:
        return lambda current: patches.merge_patch(current, patch.body)
    schema = schemas.definition_for(info.api_version, info.kind) or {}
    return lambda current: strategic_merge.strategic_merge_patch(current, patch.body, schema)
