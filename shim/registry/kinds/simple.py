"""Kinds whose only rules are their name format and, for some, a status subresource."""
from __future__ import annotations

from shim.machinery import errors, names
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


class WebhookConfigurationStrategy(NoStatusStrategy):
    tracks_generation = True

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return new.get("webhooks") != old.get("webhooks")


class StatusStrategy(Strategy):
    """Spec plus a status subresource, no generation (resource quotas, claims)."""

    has_status_subresource = True
    tracks_generation = False


class ClaimStrategy(StatusStrategy):
    """PersistentVolumeClaims are bound at once: the kubelet backs them with a local directory."""

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Bound", "accessModes": (obj.get("spec") or {}).get("accessModes", []),
                         "capacity": ((obj.get("spec") or {}).get("resources") or {}).get("requests", {})}
