"""namespaces/{name}/finalize: the namespace controller removes its spec finalizer here, and nowhere else."""
from __future__ import annotations

from shim.registry.strategy import Obj, Strategy, UpdateRules
from shim.registry.subresource import ObjectView, SubresourceRules


class FinalizeRules(SubresourceRules):
    """Only spec.finalizers changes."""

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        finalizers = (new.get("spec") or {}).get("finalizers") or []
        for key in list(new):
            if key not in ("apiVersion", "kind", "metadata"):
                del new[key]
        for key, value in old.items():
            if key not in ("apiVersion", "kind", "metadata"):
                new[key] = value
        new["spec"] = {**(old.get("spec") or {}), "finalizers": finalizers}
        if not finalizers:
            new["spec"].pop("finalizers")


class Finalize(ObjectView):
    name = "finalize"
    verbs = ("update",)

    def rules(self, strategy: Strategy) -> UpdateRules:
        return FinalizeRules(strategy)
