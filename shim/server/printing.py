"""Table output for a resource: its strategy's columns, or a CRD's additionalPrinterColumns."""
from __future__ import annotations

from typing import Any

from shim.machinery import tables
from shim.registry.kinds.custom import json_path_value
from shim.registry.resource import ResourceInfo

Obj = dict[str, Any]


def _crd_columns(info: ResourceInfo) -> list[Obj]:
    for version in (info.crd or {}).get("spec", {}).get("versions", []):
        if version.get("name") == info.version:
            return version.get("additionalPrinterColumns") or []
    return []


def _crd_cell(obj: Obj, column: Obj) -> Any:
    value = json_path_value(obj, column.get("jsonPath", ""))
    if value is None:
        return None
    if column.get("type") == "date" and isinstance(value, str):
        return tables.age({"metadata": {"creationTimestamp": value}})
    return value


def table_for(info: ResourceInfo, objs: list[Obj], list_meta: Obj, include_object: str = "Metadata",
              version: str = "v1") -> Obj:
    if info.crd is not None:
        printer = _crd_columns(info)
        columns = [tables.column(c["name"], c.get("type", "string"), c.get("priority", 0),
                                 c.get("description", ""), c.get("format", "")) for c in printer]
        has_age = any(c["name"] == "Age" for c in printer)
        if not has_age:
            columns.append(tables.AGE_COLUMN)

        def cells(obj: Obj) -> list[Any]:
            out = [_crd_cell(obj, c) for c in printer]
            return out if has_age else out + [tables.age(obj)]
        return tables.table(objs, columns, cells, list_meta, include_object, version)
    return tables.table(objs, info.strategy.table_columns(), info.strategy.table_cells, list_meta,
                        include_object, version)
