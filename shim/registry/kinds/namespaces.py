"""Namespaces: RFC 1123 labels, phase Active/Terminating, and the `kubernetes` spec finalizer."""
from __future__ import annotations

from typing import Any

from shim.machinery import names, tables
from shim.registry.strategy import Obj, Strategy

NAME_LABEL = "kubernetes.io/metadata.name"


class NamespaceStrategy(Strategy):
    checks_own_delete_preconditions = True
    tracks_generation = False
    has_status_subresource = True
    field_labels = frozenset({"metadata.name", "status.phase"})

    def validate_name(self, name: str) -> list[str]:
        return names.dns1123_label(name)

    def _label(self, obj: Obj) -> None:
        meta = obj["metadata"]
        meta.setdefault("labels", {})[NAME_LABEL] = meta["name"]

    def prepare_for_create(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        spec["finalizers"] = ["kubernetes"]
        obj["status"] = {"phase": "Active"}
        self._label(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        new["spec"] = old.get("spec", {})
        self._label(new)

    def fields(self, obj: Obj) -> dict[str, str]:
        out = super().fields(obj)
        out["status.phase"] = (obj.get("status") or {}).get("phase", "")
        return out

    def blocks_deletion(self, obj: Obj) -> bool:
        return bool((obj.get("spec") or {}).get("finalizers"))

    def prepare_for_delete(self, obj: Obj) -> None:
        """Terminating; upstream's namespace delete stamps only deletionTimestamp, no grace period."""
        obj.setdefault("status", {})["phase"] = "Terminating"
        obj["metadata"].pop("deletionGracePeriodSeconds", None)

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return False

    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("Status", description="The status of the namespace")]

    def table_cells(self, obj: Obj) -> list[Any]:
        return [(obj.get("status") or {}).get("phase", "")]
