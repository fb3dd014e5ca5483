"""Server-side apply (`application/apply-patch+yaml`): create or merge, with field ownership and conflicts.

The applied configuration is merged into the live object (strategic merge for built-in kinds, the
structural list types for custom resources). The manager owns exactly the fields it applied: fields it
applied before and no longer applies are removed unless someone else owns them. Setting a field another
manager owns to a different value is a 409 conflict unless `force=true`, which takes the field over.
"""
from __future__ import annotations

import copy
import dataclasses
from typing import Any, Callable

import orjson

from shim.machinery import errors, managed_fields, timeutil
from shim.registry.generic import Registry
from shim.registry.options import WriteOptions, Written
from shim.registry.resource import ResourceInfo

Obj = dict[str, Any]
Path = tuple[str, ...]


def _leaves(fields: Obj, prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for key, child in fields.items():
        if key == ".":
            out.add(prefix)
            continue
        if child:
            out |= _leaves(child, prefix + (key,))
        else:
            out.add(prefix + (key,))
    return out


def _step(node: Any, token: str) -> tuple[Any, Any]:
    """(container, selector) for one path token, or (None, None) when absent."""
    kind, _, rest = token.partition(":")
    if kind == "f" and isinstance(node, dict) and rest in node:
        return node, rest
    if isinstance(node, list):
        if kind == "k":
            want = orjson.loads(rest)
            for i, item in enumerate(node):
                if isinstance(item, dict) and all(item.get(k) == v for k, v in want.items()):
                    return node, i
        elif kind == "v":
            value = orjson.loads(rest)
            if value in node:
                return node, node.index(value)
        elif kind == "i" and int(rest) < len(node):
            return node, int(rest)
    return None, None


_ABSENT = object()


def _value_at(obj: Any, path: Path) -> Any:
    node = obj
    for token in path:
        container, selector = _step(node, token)
        if container is None:
            return _ABSENT
        node = container[selector]
    return node


def _remove(obj: Any, path: Path) -> None:
    node = obj
    for token in path[:-1]:
        container, selector = _step(node, token)
        if container is None:
            return
        node = container[selector]
    container, selector = _step(node, path[-1])
    if container is not None:
        del container[selector]


def _render_path(path: Path) -> str:
    out = ""
    for token in path:
        kind, _, rest = token.partition(":")
        if kind == "f":
            out += f".{rest}"
        elif kind == "k":
            out += "[" + ",".join(f"{k}={orjson.dumps(v).decode()}" for k, v in orjson.loads(rest).items()) + "]"
        elif kind == "v":
            out += f"[={rest}]"
        else:
            out += f"[{rest}]"
    return out


def _applied_fields(applied: Obj) -> Obj:
    return managed_fields.fields_of(applied)


def _entry(manager: str, api_version: str, fields: Obj) -> Obj:
    return {"manager": manager, "operation": "Apply", "apiVersion": api_version, "time": timeutil.now_string(),
            "fieldsType": "FieldsV1", "fieldsV1": fields}


def merge_applied(info: ResourceInfo, live: Obj, applied: Obj, manager: str, force: bool) -> Obj:
    """The object after `manager` applies `applied` to `live`; raises 409 on conflicts without force."""
    mine = _applied_fields(applied)
    mine_leaves = _leaves(mine)
    entries = list(live.get("metadata", {}).get("managedFields") or [])
    previous: set[Path] = set()
    others: list[tuple[Obj, set[Path]]] = []
    for e in entries:
        leaves = _leaves(e.get("fieldsV1") or {})
        if e.get("manager") == manager and e.get("operation") == "Apply":
            previous = leaves
        else:
            others.append((e, leaves))
    conflicts: list[tuple[str, Path]] = []
    for e, leaves in others:
        for path in leaves & mine_leaves:
            if _value_at(live, path) != _value_at(applied, path):
                conflicts.append((e.get("manager", ""), path))
    if conflicts and not force:
        causes = [{"reason": "FieldManagerConflict", "message": f'conflict with "{m}"', "field": _render_path(p)}
                  for m, p in sorted(conflicts)]
        count = len(conflicts)
        listing = "\n".join(f'- conflict with "{m}": {_render_path(p)}' for m, p in sorted(conflicts))
        if count == 1:
            listing = f'conflict with "{conflicts[0][0]}": {_render_path(conflicts[0][1])}'
        raise errors.StatusError(409, "Conflict", f"Apply failed with {count} conflict{'s' if count > 1 else ''}: "
                                 f"{listing}", name=live["metadata"].get("name"), group=info.group,
                                 kind=info.plural, causes=causes)
    result = info.strategy.apply_merge(copy.deepcopy(live), applied, info.api_version, info.kind)
    owned_by_others = set().union(*(leaves for _, leaves in others)) if others else set()
    for path in sorted(previous - mine_leaves, key=len, reverse=True):
        if path not in owned_by_others and not any(p[:len(path)] == path for p in mine_leaves):
            _remove(result, path)
    taken = {p for _, p in conflicts}
    new_entries = []
    for e, leaves in others:
        if taken & leaves:
            kept = _prune_fields(e.get("fieldsV1") or {}, taken)
            if not kept:
                continue
            e = {**e, "fieldsV1": kept}
        new_entries.append(e)
    new_entries.append(_entry(manager, info.api_version, mine))
    result.setdefault("metadata", {})["managedFields"] = new_entries
    return result


def _prune_fields(fields: Obj, paths: set[Path], prefix: Path = ()) -> Obj:
    out: Obj = {}
    for key, child in fields.items():
        here = prefix + (key,)
        if here in paths:
            continue
        if child:
            sub = _prune_fields(child, paths, here)
            if sub:
                out[key] = sub
        else:
            out[key] = child
    return out


def applying(info: ResourceInfo, name: str, applied: Any, opts: WriteOptions, force: bool) -> Callable[[Obj], Obj]:
    """The read-modify-write step that applies the configuration `applied` to the live object, after checking
    the configuration; writes with it record their managedFields themselves (`fields_recorded`)."""
    _check(info, name, applied, opts)
    rv = (applied.get("metadata") or {}).get("resourceVersion")

    def mutate(live: Obj) -> Obj:
        if rv and rv != live["metadata"].get("resourceVersion"):
            raise errors.stale(info.plural, name, info.group)
        result = merge_applied(info, live, applied, opts.field_manager, force)
        result["metadata"]["resourceVersion"] = live["metadata"].get("resourceVersion")
        return result

    return mutate


def _check(info: ResourceInfo, name: str, applied: Any, opts: WriteOptions) -> None:
    if not opts.field_manager:
        raise errors.invalid("PatchOptions", "", [errors.field_required(
            "fieldManager", "is required for apply patch")], "meta.k8s.io")
    if not isinstance(applied, dict):
        raise errors.bad_request("the applied configuration must be an object")
    for key, want in (("apiVersion", info.api_version), ("kind", info.kind)):
        if applied.get(key) != want:
            raise errors.bad_request(f"{key} must be {want!r} in an applied configuration (got "
                                     f"{applied.get(key)!r})")
    meta = applied.get("metadata") or {}
    if not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    if meta.get("name") not in (None, name):
        raise errors.bad_request(f"the name of the object ({meta.get('name')}) does not match the name on the "
                                 f"URL ({name})")
    for key in ("managedFields", "uid", "creationTimestamp"):
        if key in meta:
            raise errors.bad_request(f"metadata.{key} must not be set in an applied configuration")


async def server_side_apply(registry: Registry, info: ResourceInfo, namespace: str, name: str, applied: Any,
                            opts: WriteOptions, force: bool) -> Written:
    """Create the object from the applied configuration, or merge it into the live one."""
    mutate = applying(info, name, applied, opts, force)
    ns = namespace if info.namespaced else ""
    recorded = dataclasses.replace(opts, fields_recorded=True)
    if registry.get_entry(info, ns, name) is None:
        obj = copy.deepcopy(applied)
        obj.setdefault("metadata", {})["name"] = name
        obj["metadata"]["managedFields"] = [_entry(opts.field_manager, info.api_version,
                                                   _applied_fields(applied))]
        return await registry.create(info, ns, obj, recorded)
    return await registry.update_with(info, ns, name, mutate, recorded)
