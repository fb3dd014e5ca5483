"""Custom resources: one strategy per served CRD version, driven by its schema and subresources."""
from __future__ import annotations

from typing import Any

from shim.machinery import structural
from shim.registry.strategy import Causes, Obj, Strategy


def json_path_value(obj: Obj, path: str) -> Any:
    """Follow a simple `.a.b` JSON path (what selectableFields and printer columns use)."""
    value: Any = obj
    for part in path.strip(".").split("."):
        if not part:
            continue
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


class CustomResourceStrategy(Strategy):
    returns_deleted_object = True

    def __init__(self, version: Obj) -> None:
        subresources = version.get("subresources") or {}
        self.has_status_subresource = "status" in subresources
        self.schema: Obj | None = (version.get("schema") or {}).get("openAPIV3Schema")
        self.selectable = [f["jsonPath"] for f in version.get("selectableFields") or [] if "jsonPath" in f]
        self.field_names = frozenset(p.strip(".") for p in self.selectable)

    def _default(self, obj: Obj) -> None:
        if self.schema:  # unknown fields are already gone: the registry prunes every write (prune_unknown)
            structural.apply_defaults(obj, self.schema)

    def prune_unknown(self, obj: Obj) -> list[str]:
        pruned: list[str] = []
        if self.schema:
            structural.prune(obj, self.schema, root=True, pruned=pruned)
        return pruned

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        self._default(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        self._default(new)

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_status_update(new, old)
        self._default(new)

    def validate(self, obj: Obj) -> Causes:
        return structural.validate(obj, self.schema)

    def fields(self, obj: Obj) -> dict[str, str]:
        out = super().fields(obj)
        for path in self.selectable:
            value = json_path_value(obj, path)
            out[path.strip(".")] = "" if value is None else (str(value).lower() if isinstance(value, bool)
                                                            else str(value))
        return out

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        if self.has_status_subresource:
            return super().spec_changed(new, old)
        skip = ("metadata", "apiVersion", "kind")
        return {k: v for k, v in new.items() if k not in skip} != {k: v for k, v in old.items() if k not in skip}
