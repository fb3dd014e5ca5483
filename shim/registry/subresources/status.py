"""{resource}/status: the object, written status only (upstream's per-kind status strategies)."""
from __future__ import annotations

from shim.registry.strategy import Causes, Obj, Strategy, UpdateRules
from shim.registry.subresource import ObjectView

class StatusRules:
    """Everything but status stays: the kind's status rules decide, and so does its `status_keeps_metadata`."""

    def __init__(self, strategy: Strategy) -> None:
        self.strategy = strategy

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        self.strategy.prepare_for_status_update(new, old)
        meta, old_meta = new["metadata"], old["metadata"]
        for key in self.strategy.status_keeps_metadata:
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        return self.strategy.validate_status_update(new, old)


class Status(ObjectView):
    name = "status"
    verbs = ("get", "patch", "update")

    def rules(self, strategy: Strategy) -> UpdateRules:
        return StatusRules(strategy)
