"""Table output for a resource: its strategy's columns and cells (custom resources: printer columns)."""
from __future__ import annotations

from typing import Any

from shim.machinery import tables
from shim.registry.resource import ResourceInfo

Obj = dict[str, Any]


def table_for(info: ResourceInfo, objs: list[Obj], list_meta: Obj, include_object: str = "Metadata",
              version: str = "v1") -> Obj:
    return tables.table(objs, info.strategy.table_columns(), info.strategy.table_cells, list_meta,
                        include_object, version)
