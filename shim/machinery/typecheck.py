"""What decoding a built-in object into upstream's Go structs does: type errors and unknown fields.

Upstream decodes every request body into Go structs, so a field of the wrong JSON type (`"data": []` on a
ConfigMap, `"command": "echo"` on a container) is a 400 BadRequest before any strategy sees it, and a field
the struct does not have never reaches storage (`fieldValidation=Strict` refuses it, `Warn` — the default —
answers a Warning per field, `Ignore` drops it silently). kubeshim keeps objects as dicts; this module gives
the same answers by walking the body along the kind's definition from `shim.machinery.schemas`. Formats and
enums are other layers' business, and `null` is accepted anywhere (Go decodes it to the zero value).

Each definition is compiled once into a small node tree; checking is one walk over the object.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shim.machinery import errors, schemas

_JSON_TYPE = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}


@dataclass(slots=True)
class _Node:
    #: allowed JSON types (None: anything); a union (IntOrString, Quantity) lists all of its alternatives
    types: frozenset[str] | None = None
    props: dict[str, "_Node"] = field(default_factory=dict)
    extra: "_Node | None" = None
    items: "_Node | None" = None
    #: a `$ref` to a definition, resolved on first use (definitions refer to each other recursively)
    ref: str | None = None


_ANY = _Node()
_compiled: dict[str, _Node] = {}


def _types_of(schema: dict[str, Any]) -> set[str] | None:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind} - {"null"}
    if isinstance(kind, list):
        return {k for k in kind if k != "null"}
    alternatives = schema.get("oneOf") or schema.get("anyOf")
    if isinstance(alternatives, list):
        out: set[str] = set()
        for alt in alternatives:
            sub = _types_of(alt) if isinstance(alt, dict) else None
            if sub is None:
                return None
            out |= sub
        return out
    return None


def _compile(schema: Any) -> _Node:
    if not isinstance(schema, dict):
        return _ANY
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = schemas.ref_name(ref)
        return _Node(ref=name) if name else _ANY
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and "properties" not in schema:
        return _compile(all_of[0])
    types = _types_of(schema)
    node = _Node(frozenset(types) if types else None)
    for key, sub in (schema.get("properties") or {}).items():
        node.props[key] = _compile(sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        node.extra = _compile(extra)
    items = schema.get("items")
    if isinstance(items, dict):
        node.items = _compile(items)
    return node


def _definition(name: str) -> _Node:
    node = _compiled.get(name)
    if node is None:
        _compiled[name] = _ANY  # a definition that refers to itself checks as "anything" while compiling
        node = _compiled[name] = _compile(schemas.definition(name) or {})
    return node


def _type_ok(actual: str, allowed: frozenset[str], value: Any) -> bool:
    if actual in allowed:
        return True
    if actual == "integer" and "number" in allowed:
        return True
    return actual == "number" and "integer" in allowed and float(value).is_integer()


def _walk(value: Any, node: _Node, path: str, unknown: list[str]) -> str | None:
    """The first type error under `value`; unknown fields are removed and their paths collected. Depth first
    with an explicit stack: a recursive definition (a CRD's JSONSchemaProps) follows the value however deep."""
    #: (the map holding the value and its key, or None; the value's path, the value, its node or None: unknown)
    stack: list[tuple[dict[str, Any] | None, str, str, Any, _Node | None]] = [(None, "", path, value, node)]
    while stack:
        parent, key, path, value, child = stack.pop()
        if child is None:
            assert parent is not None
            unknown.append(path)
            del parent[key]
            continue
        while child.ref is not None:
            child = _definition(child.ref)
        actual = _JSON_TYPE.get(type(value))
        if actual is None:  # null is the zero value of any Go type
            continue
        if child.types is not None and not _type_ok(actual, child.types, value):
            return f"cannot unmarshal {actual} into field {path} of type {' or '.join(sorted(child.types))}"
        if actual == "object" and (child.props or child.extra is not None):
            stack.extend((value, k, f"{path}.{k}" if path else k, value[k], child.props.get(k, child.extra))
                         for k in reversed(list(value)))
        elif actual == "array" and child.items is not None:
            stack.extend((None, "", f"{path}[{i}]", item, child.items) for i, item in reversed(list(enumerate(value))))
    return None


def decode(api_version: str, kind: str, obj: dict[str, Any]) -> tuple[str | None, list[str]]:
    """(type error or None, paths of the unknown fields removed from `obj`) for a built-in kind; kinds
    without a built-in definition pass untouched."""
    name = schemas.definition_name_for(api_version, kind)
    if name is None:
        return None, []
    unknown: list[str] = []
    return _walk(obj, _definition(name), "", unknown), unknown


FIELD_VALIDATION = ("Ignore", "Warn", "Strict")


def unknown_field_warnings(unknown: list[str], mode: str) -> list[str]:
    """Strict: 400 listing the fields; Warn: the Warning texts; Ignore: nothing."""
    if not unknown or mode == "Ignore":
        return []
    messages = [f'unknown field "{path}"' for path in unknown]
    if mode == "Strict":
        raise errors.bad_request("strict decoding error: " + ", ".join(messages))
    return messages
