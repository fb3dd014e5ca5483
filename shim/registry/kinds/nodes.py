"""Nodes: cluster-scoped, with status written by the kubelet."""
from __future__ import annotations

from shim.registry.strategy import Obj, Strategy


class NodeStrategy(Strategy):
    has_status_subresource = True
    tracks_generation = False
    field_names = frozenset({"spec.unschedulable"})

    def prepare_for_create(self, obj: Obj) -> None:
        obj.setdefault("spec", {})
        obj.setdefault("status", {})

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        if "status" in old:
            new["status"] = old["status"]

    def fields(self, obj: Obj) -> dict[str, str]:
        out = super().fields(obj)
        out["spec.unschedulable"] = "true" if (obj.get("spec") or {}).get("unschedulable") else "false"
        return out
