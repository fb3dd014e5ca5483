"""Unknown fields of built-in kinds: found, dropped, and reported per `fieldValidation` (Strict/Warn/Ignore).

A real API server decodes into Go structs, so fields the schema does not know never reach storage; with
`fieldValidation=Strict` it refuses them, with `Warn` (the default) it answers a Warning header per field.
The schema walk is compiled once per definition into {field: child definition} maps to stay cheap on the
create path.
"""
from __future__ import annotations

import functools
from typing import Any

from shim.machinery import errors, schemas

#: per definition: field -> ("ref", name) | ("list", name) | ("map", name) | None (leaf / anything goes)
Shape = dict[str, tuple[str, str] | None]
_OPEN = None  # a definition with no properties (e.g. RawExtension, JSON): anything is allowed


def _child(prop: dict[str, Any]) -> tuple[str, str] | None:
    ref = schemas.ref_name(prop.get("$ref", "")) if "$ref" in prop else None
    if ref is None and isinstance(prop.get("allOf"), list) and len(prop["allOf"]) == 1:
        ref = schemas.ref_name(prop["allOf"][0].get("$ref", ""))
    if ref:
        return ("ref", ref)
    items = prop.get("items")
    if isinstance(items, dict) and "$ref" in items:
        name = schemas.ref_name(items["$ref"])
        return ("list", name) if name else None
    extra = prop.get("additionalProperties")
    if isinstance(extra, dict) and "$ref" in extra:
        name = schemas.ref_name(extra["$ref"])
        return ("map", name) if name else None
    return None


@functools.lru_cache(maxsize=None)
def _shape(name: str) -> Shape | None:
    definition = schemas.definition(name)
    if not definition or "properties" not in definition or definition.get("x-kubernetes-preserve-unknown-fields"):
        return _OPEN
    return {field: _child(prop) for field, prop in definition["properties"].items()}


def _walk(value: Any, name: str, path: str, found: list[str]) -> None:
    shape = _shape(name)
    if shape is _OPEN or not isinstance(value, dict):
        return
    for key in list(value):
        if key not in shape:
            found.append(f"{path}.{key}" if path else key)
            del value[key]
            continue
        child = shape[key]
        if child is None:
            continue
        how, sub = child
        item = value[key]
        here = f"{path}.{key}" if path else key
        if how == "ref":
            _walk(item, sub, here, found)
        elif how == "list" and isinstance(item, list):
            for i, element in enumerate(item):
                _walk(element, sub, f"{here}[{i}]", found)
        elif how == "map" and isinstance(item, dict):
            for k, element in item.items():
                _walk(element, sub, f"{here}[{k}]", found)


def drop_unknown_fields(obj: dict[str, Any], api_version: str, kind: str) -> list[str]:
    """Remove fields a built-in kind's schema does not have; returns their paths (`spec.foo`)."""
    name = schemas.definition_name_for(api_version, kind)
    if name is None:
        return []
    found: list[str] = []
    _walk(obj, name, "", found)
    return found


def enforce(unknown: list[str], mode: str) -> list[str]:
    """Strict: 400 listing the fields; Warn: the Warning texts; Ignore: nothing."""
    if not unknown or mode == "Ignore":
        return []
    messages = [f'unknown field "{path}"' for path in unknown]
    if mode == "Strict":
        raise errors.bad_request("strict decoding error: " + ", ".join(messages))
    return messages
