"""Per-kind hooks for the generic registry, in the shape of upstream's rest.RESTCreateStrategy & co.

A kind contributes only what differs: defaults, validation, selectable fields, status rules, graceful
deletion, printer columns, how it merges and which wire forms it has. Everything else is the generic store's.
"""
from __future__ import annotations

import functools
from typing import Any, Protocol

from shim.machinery import names, protobuf, schemas, typed
from shim.machinery.managed_fields import FieldTypes
from shim.machinery.openapi.definitions import typed_definition

Obj = dict[str, Any]
Causes = list[dict[str, str]]


class Stored(Protocol):
    """Read access to the objects of other resources, by storage key (`scheduling.k8s.io/priorityclasses`,
    `/pods`): what upstream's admission plugins read through their informers."""

    #: the admission plugins that are off unless this API server turns them on (upstream's
    #: --enable-admission-plugins): "ServiceAccount" for a whole server, none for a bare registry, as upstream's
    #: integration tests run without it
    plugins: frozenset[str]

    def get(self, storage: str, namespace: str, name: str) -> Obj | None: ...

    def items(self, storage: str) -> list[Obj]: ...


#: the metadata upstream's ResetObjectMetaForStatus keeps as it was: what a status-only write may not change
USER_METADATA = ("labels", "annotations", "finalizers", "ownerReferences", "generateName")


class Strategy:
    """Defaults for a kind with spec and status, namespaced or not, validated as an RFC 1123 subdomain."""

    #: the status subresource exists: the main endpoint ignores status, /status ignores the rest
    has_status_subresource: bool = False
    #: metadata a /status write cannot change (upstream's ResetObjectMetaForStatus for custom resources); built-in
    #: kinds' status strategies mostly leave metadata to the writer (a namespace's annotations may change there)
    status_keeps_metadata: tuple[str, ...] = ()
    #: metadata.generation is kept and bumped on spec changes
    tracks_generation: bool = True
    #: DELETE answers the deleted object rather than a Status (pods, custom resources)
    returns_deleted_object: bool = False
    #: deletes go through grace_period (upstream's RESTGracefulDeleteStrategy: pods); even one that takes effect
    #: at once stamps deletionTimestamp, a grace of 0 and a generation bump on the object it answers
    graceful: bool = False
    #: the fields a field selector may name, as upstream's field label conversion function of the kind lists
    #: them; None: upstream registers none, and only metadata.name and metadata.namespace may be selected
    field_labels: frozenset[str] | None = None
    #: upstream's storage of the kind checks delete preconditions itself, in older releases' words and naming the
    #: resource (namespaces); else the generic BeforeDelete's, naming the kind
    checks_own_delete_preconditions: bool = False
    #: objects have a Kubernetes protobuf form (built-in kinds)
    protobuf: bool = True
    #: strategic merge patches apply (they follow the Go structs' patch tags: built-in kinds)
    strategic_merge: bool = True
    #: writes are checked the way upstream decodes them into its Go structs (shim.machinery.typecheck); else
    #: the strategy removes what its schema lacks (prune_unknown)
    go_typed: bool = True

    def validate_name(self, name: str) -> list[str]:
        return names.dns1123_subdomain(name)

    def default(self, obj: Obj) -> None:
        """The defaults upstream's decoding fills in (scheme defaults): part of what the writer sent, so its
        manager owns them. Server-set fields belong in prepare_for_create."""

    def prepare_for_create(self, obj: Obj) -> None:
        """Server-owned fields of a new object, set after its managedFields are recorded (mutates obj)."""
        if self.has_status_subresource:
            obj.pop("status", None)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """Main-endpoint update: with a status subresource the old status stays."""
        if self.has_status_subresource:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        """/status update: everything but status (and metadata's labels/annotations) stays as it was."""
        for key in list(new):
            if key not in ("apiVersion", "kind", "metadata", "status"):
                del new[key]
        for key, value in old.items():
            if key not in ("apiVersion", "kind", "metadata", "status"):
                new[key] = value

    def prune_unknown(self, obj: Obj) -> list[str]:
        """Remove fields the kind's schema does not have; their paths, for fieldValidation (kinds that are not
        `go_typed`)."""
        return []

    def admit_create(self) -> None:
        """Raise when the kind takes no new objects right now (custom resources of a CRD being deleted)."""

    def field_types(self, api_version: str, kind: str) -> FieldTypes:
        """The kind's type for managedFields: its built-in definition, its objects as Go holds them."""
        return _builtin_field_types(api_version, kind, self.has_status_subresource)

    def admission_waits(self, obj: Obj, stored: Stored) -> list[tuple[str, str, str]]:
        """(storage, namespace, name) of objects admission of the new `obj` reads that may be about to appear: the
        registry waits a moment for those still missing before `admit` (a fresh namespace's default service
        account)."""
        return []

    def admit(self, obj: Obj, old: Obj | None, stored: Stored) -> None:
        """Mutating admission of a write to the main endpoint (create when `old` is None), after the defaults:
        what upstream's admission plugins for the kind do with the other objects they read (a pod's priority
        from its PriorityClass). Mutates obj; raises a StatusError to refuse."""

    def validate_admission(self, obj: Obj, old: Obj | None, stored: Stored) -> None:
        """Validating admission, after the kind's own validation passed (one default PriorityClass at most);
        raises a StatusError to refuse."""

    def warnings(self, obj: Obj, old: Obj | None) -> list[str]:
        """Warning texts a valid write to the main endpoint answers with (upstream's WarningsOnCreate/Update)."""
        return []

    def admit_delete(self, obj: Obj) -> None:
        """Raise when the object may not be deleted (the system PriorityClasses)."""

    def validate(self, obj: Obj) -> Causes:
        return []

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        return self.validate(new)

    def validate_status_update(self, new: Obj, old: Obj) -> Causes:
        """A write through /status; kinds whose upstream status strategy checks only the status override it."""
        return self.validate_update(new, old)

    def fields(self, obj: Obj) -> dict[str, str]:
        """Selectable fields of an object for field selectors."""
        meta = obj.get("metadata", {})
        out = {"metadata.name": meta.get("name", "")}
        if "namespace" in meta:
            out["metadata.namespace"] = meta["namespace"]
        return out

    def grace_period(self, obj: Obj, requested: int | None) -> int:
        """Seconds a delete waits before the object goes (0 = at once). Only pods are graceful."""
        return 0

    def blocks_deletion(self, obj: Obj) -> bool:
        """Besides metadata.finalizers, whatever else keeps a deleting object (namespace spec.finalizers)."""
        return False

    def prepare_for_delete(self, obj: Obj) -> None:
        """Changes when deletion starts but the object stays (namespace phase Terminating)."""

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        """Whether a change deserves a generation bump: any non-metadata, non-status field."""
        skip = ("metadata", "status", "apiVersion", "kind")
        keys = (set(new) | set(old)) - set(skip)
        return any(new.get(k) != old.get(k) for k in keys)

    def openapi_schema(self) -> Obj | None:
        """The schema OpenAPI publishes for the kind; None: its built-in definition (kubernetes-validate's)."""
        return None

    def table_columns(self) -> list[dict[str, Any]]:
        """Column definitions for Table output (beyond Name); see shim.machinery.tables."""
        return []

    def table_cells(self, obj: Obj) -> list[Any]:
        return []

    def table_order(self, objs: list[Obj]) -> list[Obj]:
        """The rows of a listed Table, in the order upstream's list printer puts them (most keep the list's)."""
        return objs


@functools.lru_cache(maxsize=None)
def _builtin_field_types(api_version: str, kind: str, status_subresource: bool) -> FieldTypes:
    name = schemas.definition_name_for(api_version, kind)
    atom = typed.builtin_type(name, typed_definition) if name is not None else typed.DEDUCED
    return FieldTypes(api_version, kind, atom, functools.partial(protobuf.go_view, api_version=api_version,
                                                                 kind=kind), status_subresource)


class UpdateRules(Protocol):
    """How an update changes an object and what makes it invalid: a kind's Strategy for its main endpoint, a
    subresource's own rules for writes through it (upstream's per-subresource update strategies)."""

    def prepare_for_update(self, new: Obj, old: Obj) -> None: ...

    def validate_update(self, new: Obj, old: Obj) -> Causes: ...


class ClusterStrategy(Strategy):
    """Same defaults for a cluster-scoped kind (the scope itself lives in ResourceInfo)."""


class NoStatusStrategy(Strategy):
    """Kinds without spec/status split and without generation (ConfigMap, Secret, RBAC, ...)."""

    tracks_generation = False


def semantic(value: Any) -> Any:
    """`value` with None, {} and [] dropped recursively, for comparing objects the way Go's semantic equality
    does: an absent field and an empty one decode to the same Go value (the protobuf path omits empty
    non-pointer structs such as a container's `resources: {}` that the JSON path keeps)."""
    if isinstance(value, dict):
        pruned = {k: semantic(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [semantic(v) for v in value]
    return value
