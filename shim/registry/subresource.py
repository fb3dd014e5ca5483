"""The handler of a subresource (pods/{name}/status, pods/{name}/binding...) or of a virtual resource (bindings,
the review kinds): the verbs it takes, the kind it answers, and what each verb does.

The verbs layer routes to handlers (shim.registry.rest); discovery and the OpenAPI documents read their
declarations. Adding a subresource (exec, attach, portforward, ...) is writing one handler in
shim/registry/subresources/ and listing it with its resource (shim.registry.builtin).
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shim.machinery import errors
from shim.registry.options import ListOptions, WriteOptions, Written
from shim.registry.strategy import Causes, Strategy, UpdateRules

if TYPE_CHECKING:
    from shim.registry.resource import ResourceInfo
    from shim.registry.subresources.connect import PortForward, RemoteCommand
    from shim.registry.rest import Verbs

Obj = dict[str, Any]


@dataclass(frozen=True)
class Kind:
    group: str
    version: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


class Subresource:
    """A handler that takes no verb; subclasses declare theirs and implement them."""

    #: the path segment after the object's name ("" for a virtual resource's own handler)
    name: str = ""
    verbs: tuple[str, ...] = ()
    #: what it answers; None: the resource's own kind (status, log, the review kinds)
    kind: Kind | None = None
    #: get answers a byte stream (pods/log) rather than an object
    streams: bool = False
    #: get and create open a streaming session (exec, attach, portforward): `connect` checks the request and
    #: describes the session, whose protocol the server speaks
    connects: bool = False
    #: its answers can be rendered as a Table or metadata; virtual resources (the reviews) have no stored
    #: object to describe, so a client asking for those views gets 406, as upstream's do
    views: bool = True

    def response_kind(self, info: ResourceInfo) -> Kind:
        return self.kind or Kind(info.group, info.version, info.kind)

    def get(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str) -> Obj:
        raise errors.method_not_allowed()

    async def list(self, verbs: Verbs, info: ResourceInfo, namespace: str, opts: ListOptions) -> Obj:
        """The List object of a virtual resource whose items are computed, not stored (metrics.k8s.io)."""
        raise errors.method_not_allowed()

    async def stream(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str,
                     options: Mapping[str, str]) -> AsyncIterator[bytes]:
        raise errors.method_not_allowed()

    async def connect(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str,
                      query: Mapping[str, Sequence[str]]) -> RemoteCommand | PortForward:
        raise errors.method_not_allowed()

    async def create(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str, body: Obj,
                     opts: WriteOptions) -> Written:
        raise errors.method_not_allowed()

    async def update(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str, body: Obj,
                     opts: WriteOptions) -> Written:
        raise errors.method_not_allowed()

    async def patch(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str,
                    mutate: Callable[[Obj], Obj], opts: WriteOptions) -> Written:
        raise errors.method_not_allowed()


class SubresourceRules:
    """Update rules of a write through a subresource: the handler shaped the object, the kind validates it."""

    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """Nothing to undo: the handler changed only what it serves."""

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        return self.strategy.validate_update(new, old)


class ObjectView(Subresource):
    """A subresource that reads the object itself and writes it under its own update rules (status, finalize)."""

    def rules(self, strategy: Strategy) -> UpdateRules:
        """What a write through this subresource may change."""
        return SubresourceRules(strategy)

    def get(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str) -> Obj:
        return verbs.registry.get(info, namespace, name)

    async def update(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str, body: Obj,
                     opts: WriteOptions) -> Written:
        return await verbs.registry.update(info, namespace, name, body, opts, subresource=self.name,
                                           rules=self.rules(info.strategy))

    async def patch(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str,
                    mutate: Callable[[Obj], Obj], opts: WriteOptions) -> Written:
        return await verbs.registry.update_with(info, namespace, name, mutate, opts, subresource=self.name,
                                                rules=self.rules(info.strategy))


def handlers(*table: Subresource) -> dict[str, Subresource]:
    """A resource's subresources by name."""
    return {handler.name: handler for handler in table}


def success(code: int = 201) -> Obj:
    """The Status a handler answers when there is no object to return (a binding, an eviction)."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": code}


def metadata_of(body: Obj) -> Obj:
    """A request body's metadata, as an object (a missing one is created, anything else is a 400)."""
    meta = body.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    return meta
