"""metrics.k8s.io NodeMetrics and PodMetrics: never stored; how metrics-server renders them as a Table (its
pkg/api/table.go: Name, one column per resource in name order, Window)."""
from __future__ import annotations

from typing import Any

from shim.machinery import quantity
from shim.registry.strategy import NoStatusStrategy, Obj

_USAGE = {"type": "object", "additionalProperties": {"type": "string"}}
_META = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def _columns() -> list[dict[str, Any]]:
    def quantity_column(name: str) -> dict[str, Any]:
        return {"name": name, "type": "string", "format": "quantity", "description": "", "priority": 0}
    return [{"name": "Name", "type": "string", "format": "name", "description": "Name of the resource",
             "priority": 0},
            quantity_column("cpu"), quantity_column("memory"),
            {"name": "Window", "type": "string", "format": "duration", "description": "", "priority": 0}]


def format_usage(usages: list[dict[str, Any]]) -> list[str]:
    """The cpu and memory cells of these usages summed, as Go's Quantity.Add keeps their formats."""
    cpu = sum(quantity.parse(u.get("cpu", "0")) for u in usages)
    memory = sum(quantity.parse(u.get("memory", "0")) for u in usages)
    return [quantity.format_decimal(int(cpu * 10**9), -9), quantity.format_binary(int(memory))]


class NodeMetricsStrategy(NoStatusStrategy):
    protobuf = False

    def openapi_schema(self) -> Obj | None:
        return {"type": "object", "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": _META,
            "timestamp": {"type": "string", "format": "date-time"}, "window": {"type": "string"},
            "usage": _USAGE}}

    def table_columns(self) -> list[dict[str, Any]]:
        return _columns()

    def table_cells(self, obj: Obj) -> list[Any]:
        return [obj["metadata"]["name"], *format_usage([obj.get("usage") or {}]), obj.get("window", "")]


class PodMetricsStrategy(NodeMetricsStrategy):
    def openapi_schema(self) -> Obj | None:
        return {"type": "object", "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": _META,
            "timestamp": {"type": "string", "format": "date-time"}, "window": {"type": "string"},
            "containers": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "usage": _USAGE}}}}}

    def table_cells(self, obj: Obj) -> list[Any]:
        usages = [c.get("usage") or {} for c in obj.get("containers") or []]
        return [obj["metadata"]["name"], *format_usage(usages), obj.get("window", "")]
