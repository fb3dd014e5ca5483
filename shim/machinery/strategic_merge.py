"""Strategic merge patch (`application/strategic-merge-patch+json`), as the API server applies it.

Semantics follow apimachinery `pkg/util/strategicpatch` (StrategicMergeMapPatch with MergeParallelList and
IgnoreUnmatchedNulls, the server-side options), driven by a schema's patch metadata instead of Go struct tags:

- `x-kubernetes-patch-strategy` on a field: `merge` (lists are merged element-wise), `replace` (the patch value
  replaces the field), `retainKeys` (only matters to patch *generation*; applying honours a `$retainKeys`
  directive wherever it appears) and combinations such as `merge,retainKeys`.
- `x-kubernetes-patch-merge-key`: lists of maps with the merge strategy match elements by this key.
- Lists without the merge strategy are replaced; lists of scalars with it are unioned (duplicates dropped).
- Maps are merged recursively; `null` deletes a key.

Directives: `$patch: delete` (a map becomes `{}`; a list element deletes every element with its merge key),
`$patch: replace` (a map is replaced by the rest of the patch map; in a list, the list is replaced by the
patch's other elements), `$patch: merge` (accepted and ignored: merging is the default; upstream rejects it),
`$retainKeys: [..]` (clear every key of the original map not listed), `$setElementOrder/<field>: [..]` (final
order of a merging list: its order first, then the patch's, then the live object's) and
`$deleteFromPrimitiveList/<field>: [..]` (remove scalars from a list, whatever its strategy).

Where upstream leaves directives or nulls inside values that did not exist in the original (it copies them
verbatim), this implementation cleans them, so the result never carries a directive key. A map
`{"$patch": "replace", ...}` for an absent field becomes the rest of the map (newest upstream drops it).

Ordering of merged lists reproduces upstream exactly, including how Go slice aliasing makes elements appended
after a deletion count as "live" when `$setElementOrder` is applied (visible in upstream's test
"add map and delete map from merging list").

Errors are `StatusError`s: malformed directive lists 400 BadRequest, lists of lists 422, as upstream answers;
what upstream reports as a plain error (missing merge key, unknown `$patch` value, order mismatch) is worded
as upstream's, a 400 BadRequest here where upstream's is a 500 with no reason: the patch is at fault, not the
server.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shim.machinery import schemas
from shim.machinery.errors import StatusError, bad_request

__all__ = ["strategic_merge_patch"]

DIRECTIVE = "$patch"
DELETE = "delete"
REPLACE = "replace"
MERGE = "merge"
RETAIN_KEYS = "$retainKeys"
SET_ELEMENT_ORDER = "$setElementOrder"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"

PATCH_STRATEGY = "x-kubernetes-patch-strategy"
PATCH_MERGE_KEY = "x-kubernetes-patch-merge-key"

_MISSING = object()
_DROP = object()  # a value that must not appear in the result (a map carrying `$patch: delete`)

Obj = dict[str, Any]      # a decoded JSON object
Items = list[Any]         # a decoded JSON array
Identity = tuple[Any, ...]  # a hashable identity of a JSON value or of a list element's merge key(s)


def strategic_merge_patch(original: Obj | None, patch: Any, schema: Obj | None) -> Obj:
    """Apply a strategic merge `patch` to `original` using the patch metadata of `schema`.

    `schema` is the kind's schema (`schemas.definition_for(...)`, or any node whose `$ref`s `schemas.resolve`
    can follow); None means no metadata: maps merge, lists are replaced. Neither argument is modified.
    """
    if not isinstance(patch, dict):
        raise bad_request("invalid JSON document")
    if original is None:
        original = {}
    if not isinstance(original, dict):
        raise bad_request("invalid JSON document")
    result = _merge_map(_copy(original), _copy(patch), schema)
    return result


# ---------------------------------------------------------------------------------------------- errors

def _patch_error(message: str) -> StatusError:
    """A plain Go error from upstream's strategicpatch (its 500): the patch's fault, so a 400 here."""
    return bad_request(message)


def _go(value: Any) -> str:
    """Render a value as Go's %v prints decoded JSON, so messages read like upstream's."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _go_type(value: Any) -> str:
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "float64"
    if isinstance(value, str):
        return "string"
    return "<nil>"


def _bad_arg_type(expected: str, actual: Any) -> StatusError:
    return _patch_error(f"expected a {expected}, but received a {_go_type(actual)}")


def _no_merge_key(element: Obj, keys: tuple[str, ...]) -> StatusError:
    return _patch_error(f"map: {_go(element)} does not contain declared merge key: {','.join(keys)}")


# ---------------------------------------------------------------------------------------------- values

def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _scalar_key(value: Any) -> Identity:
    """A hashable identity for a JSON value that, like Go's interface equality, never equates true with 1."""
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    return ("json", json.dumps(value, sort_keys=True))


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    return "scalar"


def _element_kind(*lists: Items) -> str | None:
    """"map" or "scalar" for the elements of the lists; None when they are all empty."""
    found: str | None = None
    for items in lists:
        for item in items:
            kind = _kind(item)
            if kind == "list":
                raise StatusError(422, "Invalid", "lists of lists are not supported")
            if found is None:
                found = kind
            elif found != kind:
                raise _patch_error(f"list element types are not identical: {_go(list(lists))}")
    return found


# ---------------------------------------------------------------------------------------------- schema

@dataclass(frozen=True)
class _Field:
    schema: Any            # schema of the value (of the items, for lists), $refs unresolved
    strategy: str          # "merge", "replace" or "" (replace)
    keys: tuple[str, ...]  # merge key(s) of a merging list of maps


_NO_FIELD = _Field(None, "", ())


def _lookup(schema: Any, key: str, for_list: bool) -> _Field:
    """Patch metadata and sub-schema of field `key` of the object `schema` describes."""
    resolved = schemas.resolve(schema) if schema is not None else None
    if not isinstance(resolved, dict):
        return _NO_FIELD
    node = None
    properties = resolved.get("properties")
    if isinstance(properties, dict) and key in properties:
        node = properties[key]
    elif isinstance(resolved.get("additionalProperties"), dict):
        node = resolved["additionalProperties"]
    if not isinstance(node, dict):
        return _NO_FIELD
    strategies = [s.strip() for s in str(node.get(PATCH_STRATEGY) or "").split(",") if s.strip()]
    others = [s for s in strategies if s != "retainKeys"]
    strategy = others[0] if others else ""
    merge_key = node.get(PATCH_MERGE_KEY)
    keys: tuple[str, ...] = (merge_key,) if isinstance(merge_key, str) and merge_key else ()
    sub: Any = node
    if for_list:
        target = schemas.resolve(node)
        sub = target.get("items") if isinstance(target, dict) else None
    return _Field(sub, strategy, keys)


# ---------------------------------------------------------------------------------------------- element keys

def _element_key(element: Any, keys: tuple[str, ...]) -> Identity:
    """The merge-key identity of a list element; errors like upstream when it has none."""
    if not isinstance(element, dict):
        raise _bad_arg_type("map[string]interface {}", element)
    if len(keys) == 1:
        if keys[0] not in element:
            raise _no_merge_key(element, keys)
        return (_scalar_key(element[keys[0]]),)
    if not any(k in element for k in keys):
        raise _no_merge_key(element, keys)
    return tuple(_scalar_key(element[k]) if k in element else ("missing",) for k in keys)


def _identity(item: Any, keys: tuple[str, ...], is_map: bool) -> Identity | None:
    """Lenient identity used for ordering: None when the item cannot be keyed."""
    if not is_map:
        return _scalar_key(item)
    if not isinstance(item, dict) or not any(k in item for k in keys):
        return None
    return tuple(_scalar_key(item[k]) if k in item else ("missing",) for k in keys)


def _positions(order: Items, keys: tuple[str, ...], is_map: bool) -> dict[Identity | None, int]:
    """First position of each identity in `order` (upstream's index(): first match wins)."""
    positions: dict[Identity | None, int] = {}
    for i, item in enumerate(order):
        identity = _identity(item, keys, is_map)
        if identity is not None:
            positions.setdefault(identity, i)
    return positions


# ---------------------------------------------------------------------------------------------- ordering

def _sort_by(items: Items, order: Items, keys: tuple[str, ...], is_map: bool) -> Items:
    """Stable sort of `items` by their position in `order`; items absent from it keep their place at the end."""
    positions = _positions(order, keys, is_map)
    end = len(order)
    return sorted(items, key=lambda item: positions.get(_identity(item, keys, is_map), end))


def _normalize(patch_items: Items, server_only: Items, patch_order: Items, server_order: Items,
               keys: tuple[str, ...], is_map: bool) -> Items:
    """Order patch items by the patch, server-only items by the live list, then interleave them.

    Interleaving (upstream mergeSortedSlice): a server-only item goes first only when both it and the next
    patch item are in the live list and it comes earlier there; otherwise the patch item goes first.
    """
    if is_map:
        for item in (*patch_items, *patch_order, *server_only, *server_order):
            _element_key(item, keys)
    patch_items = _sort_by(patch_items, patch_order, keys, is_map)
    server_only = _sort_by(server_only, server_order, keys, is_map)
    live = _positions(server_order, keys, is_map)
    merged: Items = []
    i = j = 0
    while i < len(server_only) or j < len(patch_items):
        if i >= len(server_only):
            merged.append(patch_items[j])
            j += 1
        elif j >= len(patch_items):
            merged.append(server_only[i])
            i += 1
        else:
            li = live.get(_identity(server_only[i], keys, is_map), -1)
            ri = live.get(_identity(patch_items[j], keys, is_map), -1)
            if li >= 0 and ri >= 0 and li < ri:
                merged.append(server_only[i])
                i += 1
            else:
                merged.append(patch_items[j])
                j += 1
    return merged


def _partition(items: Items, by: Items, keys: tuple[str, ...], is_map: bool) -> tuple[Items, Items]:
    """Split `items` into those present in `by` and the rest, keeping their order."""
    if is_map:
        present = {_element_key(b, keys) for b in by if isinstance(b, dict) and any(k in b for k in keys)}
        inside = [item for item in items if _element_key(item, keys) in present]
        outside = [item for item in items if _element_key(item, keys) not in present]
    else:
        present = {_scalar_key(b) for b in by}
        inside = [item for item in items if _scalar_key(item) in present]
        outside = [item for item in items if _scalar_key(item) not in present]
    return inside, outside


# ---------------------------------------------------------------------------------------------- new values

def _fresh_value(value: Any, field: _Field) -> Any:
    """A patch value that lands where the original had nothing (or something of another type): cleaned of
    directives and nulls, as upstream's discardNullValuesFromPatch + removeDirectives do."""
    if isinstance(value, dict):
        return _fresh_map(value, field.schema)
    if isinstance(value, list):
        return _fresh_list(value, field.schema)
    return value


def _fresh_map(value: Obj, schema: Any) -> Any:
    if DIRECTIVE in value:
        directive = value[DIRECTIVE]
        if directive == DELETE:
            return _DROP
        if directive not in (REPLACE, MERGE):
            raise _patch_error(f"unknown patch type: {_go(directive)} in map: {_go(value)}")
        value = {k: v for k, v in value.items() if k != DIRECTIVE}
    return _merge_map({}, value, schema)


def _fresh_list(value: Items, item_schema: Any) -> Items:
    cleaned: Items = []
    for element in value:
        if isinstance(element, dict):
            if DIRECTIVE in element:  # a delete of nothing, or a list-level marker: neither is an element
                continue
            cleaned.append(_merge_map({}, element, item_schema))
        elif isinstance(element, list):
            cleaned.append(_fresh_list(element, None))
        else:
            cleaned.append(element)
    return cleaned


# ---------------------------------------------------------------------------------------------- maps

def _extract_key(directive_key: str, prefix: str) -> str:
    head, sep, field = directive_key.partition("/")
    if not sep or head != prefix:
        if prefix == DELETE_FROM_PRIMITIVE_LIST:
            raise bad_request("invalid patch format of primitive list")
        raise bad_request("invalid patch format of setElementOrder list")
    return field


def _merge_map(original: Obj, patch: Obj, schema: Any) -> Obj:
    """Merge `patch` into `original` (mutated and returned, unless a `$patch` directive replaces it)."""
    if DIRECTIVE in patch:
        directive = patch[DIRECTIVE]
        if directive == DELETE:
            return {}
        rest = {k: v for k, v in patch.items() if k != DIRECTIVE}
        if directive == REPLACE:
            return _merge_map({}, rest, schema)
        if directive != MERGE:
            raise _patch_error(f"unknown patch type: {_go(directive)} in map: {_go(patch)}")
        patch = rest

    _apply_retain_keys(original, patch)
    _apply_set_element_order(original, patch, schema)

    deletions: list[tuple[str, Any]] = []
    for key, value in patch.items():
        if key.startswith(DELETE_FROM_PRIMITIVE_LIST):
            deletions.append((_extract_key(key, DELETE_FROM_PRIMITIVE_LIST), value))
            continue
        if value is None:
            original.pop(key, None)
            continue
        current = original.get(key, _MISSING)
        value_kind = _kind(value)
        if value_kind == "scalar":
            original[key] = value
            continue
        field = _lookup(schema, key, value_kind == "list")
        if current is _MISSING or _kind(current) != value_kind:
            fresh = _fresh_value(value, field)
            if fresh is _DROP:
                original.pop(key, None)
            else:
                original[key] = fresh
        elif value_kind == "map":
            if field.strategy == REPLACE:
                fresh = _fresh_map(value, field.schema)
                if fresh is _DROP:
                    original.pop(key, None)
                else:
                    original[key] = fresh
            else:
                original[key] = _merge_map(current, value, field.schema)
        else:
            original[key] = _merge_list_field(current, value, field)[0]

    for key, values in deletions:
        current = original.get(key)
        if not isinstance(current, list):
            continue  # nothing to delete from; never creates the list
        if not isinstance(values, list):
            raise _bad_arg_type("[]interface {}", values)
        doomed = {_scalar_key(v) for v in values if _kind(v) == "scalar"}
        original[key] = [item for item in current if _kind(item) != "scalar" or _scalar_key(item) not in doomed]
    return original


def _apply_retain_keys(original: Obj, patch: Obj) -> None:
    """`$retainKeys`: every key of the patch must be listed; keys of the original not listed are cleared."""
    if RETAIN_KEYS not in patch:
        return
    retained = patch.pop(RETAIN_KEYS)
    if not isinstance(retained, list):
        raise bad_request("invalid patch format of retainKeys")
    allowed = {k for k in retained if isinstance(k, str)}
    for key, value in patch.items():
        if value is None or key.startswith(DELETE_FROM_PRIMITIVE_LIST) or key.startswith(SET_ELEMENT_ORDER):
            continue
        if key not in allowed:
            raise bad_request("invalid patch format of retainKeys")
    for key in [k for k in original if k not in allowed]:
        del original[key]


def _apply_set_element_order(original: Obj, patch: Obj, schema: Any) -> None:
    """Merge each list named by a `$setElementOrder/<field>` directive and put it in the requested order."""
    for directive_key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
        order = patch.pop(directive_key)
        if not isinstance(order, list):
            raise _bad_arg_type("[]interface {}", order)
        name = _extract_key(directive_key, SET_ELEMENT_ORDER)
        live_value = original.get(name, _MISSING)
        patched_value = patch.get(name, _MISSING)
        if live_value is not _MISSING and not isinstance(live_value, list):
            raise _bad_arg_type("[]interface {}", live_value)
        if patched_value is not _MISSING and not isinstance(patched_value, list):
            raise _bad_arg_type("[]interface {}", patched_value)
        # Either field is now a list or absent (None).
        live = live_value if isinstance(live_value, list) else None
        patched = patched_value if isinstance(patched_value, list) else None
        field = _lookup(schema, name, True)
        _validate_order(patched if patched is not None else [], order, field.keys)

        if live is not None and patched is None:
            merged, server_order = live, live
        elif live is None and patched is not None:
            merged, server_order = _fresh_list(patched, field.schema), []
        elif live is not None and patched is not None:
            merged, server_order = _merge_list_field(live, patched, field)
        else:
            continue

        kind = _element_kind(live if live is not None else [], patched if patched is not None else [])
        is_map = kind == "map"
        if kind is None or (is_map and not field.keys):
            original[name] = merged
        else:
            inside, outside = _partition(merged, order, field.keys, is_map)
            original[name] = _normalize(inside, outside, order, server_order, field.keys, is_map)
        patch.pop(name, None)


def _validate_order(patch_list: Items, order: Items, keys: tuple[str, ...]) -> None:
    """The patch list's elements must appear in the `$setElementOrder` list, in the same relative order."""
    if not patch_list or not order:
        return
    if keys:
        for item in patch_list:
            if not isinstance(item, dict):
                raise _bad_arg_type("map[string]interface {}", item)
        candidates = [item for item in patch_list if item.get(DIRECTIVE) != DELETE]
    else:
        candidates = patch_list
    p = s = 0
    while p < len(candidates) and s < len(order):
        item = candidates[p]
        if isinstance(item, dict) and DIRECTIVE in item:
            p += 1
            continue
        if keys:
            if not isinstance(order[s], dict):
                raise _bad_arg_type("map[string]interface {}", order[s])
            equal = _element_key(item, keys) == _element_key(order[s], keys)
        else:
            equal = _kind(item) == "scalar" and _kind(order[s]) == "scalar" and \
                _scalar_key(item) == _scalar_key(order[s])
        if equal:
            p += 1
        s += 1
    if p < len(candidates) and s >= len(order):
        raise _patch_error(f"the order in patch list:\n{_go(patch_list)}\n doesn't match "
                            f"{SET_ELEMENT_ORDER} list:\n{_go(order)}")


# ---------------------------------------------------------------------------------------------- lists

def _merge_list_field(live: Items, patched: Items, field: _Field) -> tuple[Items, Items]:
    """Merge a list field; returns the merged list and the live order `$setElementOrder` must sort against."""
    if field.strategy == MERGE:
        return _merge_slice(live, patched, field.schema, field.keys)
    return _fresh_list(patched, field.schema), live


def _merge_slice(live: Items, patched: Items, item_schema: Any, keys: tuple[str, ...]) -> tuple[Items, Items]:
    if not live and not patched:
        return live, live
    kind = _element_kind(live, patched)
    if kind == "scalar":
        merged: Items = []
        seen: set[Identity] = set()
        for item in (*live, *patched):
            identity = _scalar_key(item)
            if identity not in seen:
                seen.add(identity)
                merged.append(item)
        inside, outside = _partition(merged, patched, (), False)
        return _normalize(inside, outside, patched, live, (), False), live
    if not keys:
        raise _patch_error("cannot merge lists without merge key for type map")

    # `view` mirrors the Go backing array that upstream's caller keeps looking at: deletions shift elements
    # down inside it and the first appends land in the freed tail.
    view = list(live)
    length = len(view)
    regular: Items = []
    replace = False
    for element in patched:
        directive = element.get(DIRECTIVE, _MISSING)
        if directive is _MISSING:
            regular.append(element)
        elif directive == DELETE:
            doomed = _element_key(element, keys)
            i = 0
            while i < length:
                if _identity(view[i], keys, True) == doomed:
                    view[i:length - 1] = view[i + 1:length]
                    length -= 1
                else:
                    i += 1
        elif directive == REPLACE:
            replace = True
        elif directive == MERGE:
            rest = {k: v for k, v in element.items() if k != DIRECTIVE}
            if any(k in rest for k in keys):
                regular.append(rest)
        else:
            raise _patch_error(f"unknown patch type: {_go(directive)} in map: {_go(element)}")
    if replace:
        return _fresh_list(regular, item_schema), view

    after_deletions = view[:length]
    working = list(after_deletions)
    shared = True
    for element in regular:
        wanted = _element_key(element, keys)
        for i, candidate in enumerate(working):
            if _identity(candidate, keys, True) == wanted:
                working[i] = _merge_map(candidate, element, item_schema)
                if shared:
                    view[i] = working[i]
                break
        else:
            added = _merge_map({}, element, item_schema)
            working.append(added)
            if shared and length < len(view):
                view[length] = added
                length += 1
            else:
                shared = False
    inside, outside = _partition(working, regular, keys, True)
    return _normalize(inside, outside, regular, after_deletions, keys, True), view
