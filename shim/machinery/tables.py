"""meta.k8s.io Table and PartialObjectMetadata views of objects (what `kubectl get` asks for)."""
from __future__ import annotations

from typing import Any, Callable

from shim.machinery import timeutil

Obj = dict[str, Any]

#: ObjectMeta's docs of name and creationTimestamp, which upstream's printers describe these columns with
NAME_DOC = ("Name must be unique within a namespace. Is required when creating resources, although some resources "
            "may allow a client to request the generation of an appropriate name automatically. Name is primarily "
            "intended for creation idempotence and configuration definition. Cannot be updated. More info: "
            "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")
AGE_DOC = ("CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
           "guaranteed to be set in happens-before order across separate operations. Clients may not set this value. "
           "It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. "
           "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata")
NAME_COLUMN = {"name": "Name", "type": "string", "format": "name", "description": NAME_DOC, "priority": 0}
AGE_COLUMN = {"name": "Age", "type": "string", "format": "", "description": AGE_DOC, "priority": 0}
#: apiextensions-apiserver's Age column of a custom resource: typed as a date
CUSTOM_AGE_COLUMN = {**AGE_COLUMN, "type": "date"}


def human_duration(seconds: float) -> str:
    """Upstream's duration.HumanDuration: 5s, 3m2s, 4h, 2d3h, 3y..."""
    s = int(max(0, seconds))
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    if days < 365 * 8:
        return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"
    return f"{days // 365}y"


def since(timestamp: str | None) -> str:
    """Upstream's translateTimestampSince: the age of an RFC 3339 (or MicroTime) timestamp, "<unknown>" if unset."""
    if not timestamp:
        return "<unknown>"
    try:
        then = timeutil.parse_time(timestamp)
    except Exception:  # a malformed stored timestamp must not break a listing
        return "<unknown>"
    return human_duration((timeutil.now() - then).total_seconds())


def age(obj: Obj) -> str:
    return since(obj.get("metadata", {}).get("creationTimestamp"))


def partial_metadata(obj: Obj, version: str = "v1") -> Obj:
    return {"apiVersion": f"meta.k8s.io/{version}", "kind": "PartialObjectMetadata",
            "metadata": obj.get("metadata", {})}


def partial_metadata_list(items: list[Obj], list_meta: Obj, version: str = "v1") -> Obj:
    return {"apiVersion": f"meta.k8s.io/{version}", "kind": "PartialObjectMetadataList", "metadata": list_meta,
            "items": [partial_metadata(i, version) for i in items]}


def table(objs: list[Obj], columns: list[Obj], cells: Callable[[Obj], list[Any]], list_meta: Obj,
          include_object: str = "Metadata", version: str = "v1") -> Obj:
    """A Table with Name, the kind's columns and Age (kinds place Age themselves when it is not last).

    A kind whose columns include the name column (format "name") lays out the whole row itself: events put
    Name last, and the default convertor has "Created At" instead of Age.
    """
    full_row = any(c.get("name") == "Name" and c.get("format") == "name" for c in columns)
    defs = columns if full_row else [NAME_COLUMN] + columns
    if not full_row and not any(c["name"] == "Age" for c in columns):
        defs = defs + [AGE_COLUMN]
    rows = []
    for obj in objs:
        row_cells = cells(obj) if full_row else [obj.get("metadata", {}).get("name", "")] + cells(obj)
        if len(row_cells) < len(defs):
            row_cells.append(age(obj))
        row: Obj = {"cells": row_cells}
        if include_object == "Object":
            row["object"] = obj
        elif include_object == "None":
            row["object"] = None
        else:
            row["object"] = partial_metadata(obj, version)
        rows.append(row)
    return {"kind": "Table", "apiVersion": f"meta.k8s.io/{version}", "metadata": list_meta,
            "columnDefinitions": defs, "rows": rows}


def column(name: str, kind: str = "string", priority: int = 0, description: str = "", fmt: str = "") -> Obj:
    return {"name": name, "type": kind, "format": fmt, "description": description, "priority": priority}
