"""Kinds whose only rules are their name format and, for some, a status subresource."""
from __future__ import annotations

from typing import Any

from shim.machinery import errors, names, tables
from shim.registry.strategy import Causes, NoStatusStrategy, Obj, Strategy


class PathSegmentNamed(NoStatusStrategy):
    """RBAC objects: any name that is a valid path segment (e.g. `system:controller:x`)."""

    def validate_name(self, name: str) -> list[str]:
        return names.path_segment(name) if name else ["name is required"]


class LeaseStrategy(NoStatusStrategy):
    def validate(self, obj: Obj) -> Causes:
        spec = obj.get("spec") or {}
        duration = spec.get("leaseDurationSeconds")
        if duration is not None and (not isinstance(duration, int) or duration <= 0):
            return [errors.field_invalid("spec.leaseDurationSeconds", duration, "must be greater than 0")]
        return []

    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("Holder", description="holderIdentity contains the identity of the holder of a "
                              "current lease.")]

    def table_cells(self, obj: Obj) -> list[Any]:
        return [(obj.get("spec") or {}).get("holderIdentity") or ""]


class ReturnsDeletedObject(NoStatusStrategy):
    """Kinds whose DELETE answers the deleted object rather than a Status (service accounts, pod templates)."""

    returns_deleted_object = True


class ServiceAccountStrategy(ReturnsDeletedObject):
    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("Secrets", description="Secrets is a list of the secrets in the same namespace "
                              "that pods running using this ServiceAccount are allowed to use.")]

    def table_cells(self, obj: Obj) -> list[Any]:
        return [len(obj.get("secrets") or [])]


class StatusStrategy(Strategy):
    """Spec plus a status subresource, no generation (resource quotas, volumes, claims).

    Upstream's stores for all of these set ReturnDeletedObject: DELETE answers the object.
    """

    has_status_subresource = True
    tracks_generation = False
    returns_deleted_object = True


class ClaimStrategy(StatusStrategy):
    """PersistentVolumeClaims are bound at once: the kubelet backs them with a local directory."""

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Bound", "accessModes": (obj.get("spec") or {}).get("accessModes", []),
                         "capacity": ((obj.get("spec") or {}).get("resources") or {}).get("requests", {})}
