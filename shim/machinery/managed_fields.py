"""metadata.managedFields bookkeeping for Update operations (FieldsV1 sets, as upstream's fieldmanager).

A manager that writes an object owns the fields it set or changed; other managers lose those fields.
List elements are keyed `k:{"name":...}` when they carry a name (merge-keyed lists), `v:` for primitives,
`i:N` otherwise — the same path encoding upstream uses.
"""
from __future__ import annotations

from typing import Any

import orjson

from shim.machinery import timeutil

Obj = dict[str, Any]
_SKIP_META = {"uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "name", "namespace",
              "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"}


def _key_of(item: Any, index: int) -> str:
    if isinstance(item, dict):
        for key in ("name", "containerPort", "mountPath", "devicePath", "ip", "type", "port", "uid"):
            if key in item and not isinstance(item[key], (dict, list)):
                return "k:" + orjson.dumps({key: item[key]}).decode()
        return f"i:{index}"
    return "v:" + orjson.dumps(item).decode()


def fields_of(value: Any, top: bool = True) -> Obj:
    """The FieldsV1 set of a value: nested dicts with `f:`/`k:`/`v:` keys; `.` marks an owned element."""
    out: Obj = {}
    if isinstance(value, dict):
        for key, child in value.items():
            if top:
                if key in ("apiVersion", "kind", "status"):
                    continue
                if key == "metadata" and isinstance(child, dict):
                    meta = {k: v for k, v in child.items() if k not in _SKIP_META}
                    if meta:
                        out["f:metadata"] = fields_of(meta, False)
                    continue
            out["f:" + key] = fields_of(child, False) if isinstance(child, (dict, list)) else {}
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                sub = fields_of(item, False)
                sub["."] = {}
            else:
                sub = fields_of(item, False) if isinstance(item, list) else {}
            out[_key_of(item, i)] = sub
    return out


def _changed(new: Any, old: Any) -> Obj:
    """The FieldsV1 paths of `new` whose value differs from `old` (all of `new` when there was nothing)."""
    if old is None:
        return fields_of(new, False)
    out: Obj = {}
    if isinstance(new, dict) and isinstance(old, dict):
        for key, child in new.items():
            if key not in old:
                out["f:" + key] = fields_of(child, False)
            elif child != old[key]:
                sub = _changed(child, old[key])
                # a map or list that only lost entries is not set by this write: see _removed
                if sub or not _same_container(child, old[key]):
                    out["f:" + key] = sub
    elif isinstance(new, list) and isinstance(old, list):
        before = {_key_of(item, i): item for i, item in enumerate(old)}
        for i, item in enumerate(new):
            key = _key_of(item, i)
            if key not in before or before[key] != item:
                sub = _changed(item, before.get(key))
                if isinstance(item, dict) and key not in before:
                    sub["."] = {}
                if sub or key not in before or not _same_container(item, before[key]):
                    out[key] = sub
    return out


def _same_container(a: Any, b: Any) -> bool:
    return (isinstance(a, dict) and isinstance(b, dict)) or (isinstance(a, list) and isinstance(b, list))


def _removed(new: Any, old: Any) -> Obj:
    """The FieldsV1 paths `old` had and `new` has not; `{}` marks a whole subtree gone (for _subtract)."""
    out: Obj = {}
    if isinstance(new, dict) and isinstance(old, dict):
        for key, child in old.items():
            if key not in new:
                out["f:" + key] = {}
            elif _same_container(new[key], child):
                sub = _removed(new[key], child)
                if sub:
                    out["f:" + key] = sub
    elif isinstance(new, list) and isinstance(old, list):
        after = {_key_of(item, i): item for i, item in enumerate(new)}
        for i, item in enumerate(old):
            key = _key_of(item, i)
            if key not in after:
                out[key] = {}
            elif _same_container(after[key], item):
                sub = _removed(after[key], item)
                if sub:
                    out[key] = sub
    return out


def _body(obj: Obj) -> Obj:
    """The fields a manager can own outside metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "status", "metadata")}


def _owned_meta(obj: Obj) -> Obj:
    """The metadata fields a manager can own (labels, annotations, ...; not the server's own)."""
    return {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _SKIP_META}


def _removed_object(new: Obj, old: Obj | None, subresource: str) -> Obj:
    if old is None:
        return {}
    if subresource == "status":
        sub = _removed(new.get("status") or {}, old.get("status") or {})
        return {"f:status": sub} if sub else {}
    out = _removed(_body(new), _body(old))
    m = _removed(_owned_meta(new), _owned_meta(old))
    if m:
        out["f:metadata"] = m
    return out


def _changed_object(new: Obj, old: Obj | None, subresource: str) -> Obj:
    if subresource == "status":
        if not isinstance(new.get("status"), dict):
            return {}
        sub = _changed(new["status"], (old or {}).get("status"))
        return {"f:status": sub} if sub else {}
    if old is None:
        return fields_of(new)
    out = _changed(_body(new), _body(old))
    m = _changed(_owned_meta(new), _owned_meta(old))
    if m:
        out["f:metadata"] = m
    return out


def _subtract(owned: Obj, taken: Obj) -> Obj:
    out: Obj = {}
    for key, child in owned.items():
        if key in taken:
            if child and taken[key]:
                rest = _subtract(child, taken[key])
                if rest:
                    out[key] = rest
            continue
        out[key] = child
    return out


def record(obj: Obj, old: Obj | None, manager: str, operation: str, api_version: str, subresource: str) -> None:
    """Give `manager` the fields this write set or changed, take them from everyone else, and drop the fields
    the write removed from every manager (structured-merge-diff's Update)."""
    meta = obj.setdefault("metadata", {})
    changed = _changed_object(obj, old, subresource)
    removed = _removed_object(obj, old, subresource)
    entries = [e for e in (meta.get("managedFields") or []) if isinstance(e, dict)]
    if old is not None and "managedFields" not in meta:
        entries = list(old.get("metadata", {}).get("managedFields") or [])
    if not changed and not removed:
        if entries:
            meta["managedFields"] = entries
        return
    kept = []
    mine = None
    for e in entries:
        if (e.get("manager"), e.get("operation"), e.get("subresource", "")) == (manager, operation, subresource):
            mine = e
            continue
        rest = _subtract(_subtract(e.get("fieldsV1") or {}, changed), removed)
        if rest:
            kept.append({**e, "fieldsV1": rest})
    owned = changed if mine is None else _merge(_subtract(mine.get("fieldsV1") or {}, removed), changed)
    if not owned:
        meta["managedFields"] = kept
        return
    entry: Obj = {"manager": manager, "operation": operation, "apiVersion": api_version,
                  "time": timeutil.now_string(), "fieldsType": "FieldsV1", "fieldsV1": owned}
    if subresource:
        entry["subresource"] = subresource
    meta["managedFields"] = kept + [entry]


def _merge(a: Obj, b: Obj) -> Obj:
    out = dict(a)
    for key, child in b.items():
        out[key] = _merge(out[key], child) if key in out and isinstance(out[key], dict) else child
    return out
