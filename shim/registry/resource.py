"""What the registry knows about one served resource: names, scope, verbs, strategy, subresource handlers."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from shim.registry.strategy import Strategy
from shim.registry.subresource import Subresource

Obj = dict[str, Any]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass
class ResourceInfo:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    strategy: Strategy
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    #: subresource name -> its handler (status, scale, log, binding, ...)
    subresources: dict[str, Subresource] = field(default_factory=dict)
    #: a virtual resource (bindings, the review kinds): this handler serves its verbs, nothing is stored
    handler: Subresource | None = None
    #: storage key; resources sharing one (events and events.k8s.io events) see the same objects
    storage: str = ""
    #: the form stored <-> the form served at this version (shared storage across schemas and versions);
    #: without from_storage, stored bytes are served as they are
    to_storage: Callable[[Obj], Obj] | None = None
    from_storage: Callable[[Obj], Obj] | None = None
    #: preferred version of the group in discovery
    preferred: bool = True
    #: aggregated discovery names this resource's own group and version in responseKind, as apiextensions-apiserver
    #: does for custom resources (kube-apiserver leaves them empty for built-in ones: the resource's own)
    names_own_group_version: bool = False
    #: the group/version objects are stored in (a CRD's storage version; the first of cohabiting resources)
    storage_version: str = ""

    def __post_init__(self) -> None:
        if self.handler is not None:
            self.verbs = self.handler.verbs
        if not self.storage:
            self.storage = f"{self.group}/{self.plural}"
        if not self.storage_version:
            self.storage_version = self.api_version

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def qualified(self) -> str:
        """pods, or leases.coordination.k8s.io: how upstream names the resource in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


@dataclass(slots=True)
class Attrs:
    """What selectors look at, computed once per stored version of an object."""

    labels: dict[str, str]
    fields: dict[str, str]
