"""The CEL type of an OpenAPI schema, as k8s.io/apiserver's common.SchemaDeclType derives it: objects with
properties are object types (their fields typed in turn), additionalProperties maps, items lists; string formats
byte, duration, date and date-time are bytes, durations and timestamps; int-or-string is dyn; a property of no
type is left out. A resource's root also has kind, apiVersion and a metadata with at least name and
generateName (WithTypeAndObjectMeta)."""
from __future__ import annotations

from typing import Any, Callable

from shim.machinery.cel import types as t

Schema = dict[str, Any]
_STRING_FORMATS = {"byte": t.BYTES, "duration": t.DURATION, "date": t.TIMESTAMP, "date-time": t.TIMESTAMP}
_SCALARS = {"boolean": t.BOOL, "number": t.DOUBLE, "integer": t.INT}
_META = {"type": "object", "properties": {"name": {"type": "string"}, "generateName": {"type": "string"}}}


def schema_type(schema: Schema, name: str, resolve: Callable[[Any], Any], root: bool = True) -> t.Type | None:
    """The type of `schema` (None: it has none), named `name` where it is an object; `resolve` follows `$ref`s."""
    schema = resolve(schema) or {}
    if schema.get("x-kubernetes-int-or-string"):
        return t.DYN
    if root:
        schema = _with_type_and_object_meta(schema, resolve)
    kind = _type_name(schema)
    if kind == "array":
        items = schema.get("items")
        item = schema_type(items, name, resolve, _embedded(items, resolve)) if isinstance(items, dict) else None
        return None if item is None else t.list_of(item)
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            value = schema_type(extra, name, resolve, _embedded(extra, resolve))
            return None if value is None else t.map_of(t.STRING, value)
        properties = schema.get("properties") or {}

        def fields() -> dict[str, t.Type]:
            out = {}
            for key, prop in properties.items():
                found = schema_type(prop, f"{name}.{key}", resolve, _embedded(prop, resolve))
                if found is not None:
                    out[key] = found
            return out
        return t.object_type(name, fields)
    if kind == "string":
        return _STRING_FORMATS.get(schema.get("format", ""), t.STRING)
    return _SCALARS.get(kind)


def _type_name(schema: Any) -> str:
    """A schema's type; JSON schemas may list it with "null" (the built-in kinds' nullable fields)."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, list):
        return next((k for k in kind if k != "null"), "")
    return kind or ""


def _embedded(schema: Any, resolve: Callable[[Any], Any]) -> bool:
    return bool((resolve(schema) or {}).get("x-kubernetes-embedded-resource"))


def _with_type_and_object_meta(schema: Schema, resolve: Callable[[Any], Any]) -> Schema:
    properties = schema.get("properties") or {}
    meta = resolve(properties.get("metadata")) or {}
    meta_props = meta.get("properties") or {}
    if (all(_type_name(resolve(properties.get(k))) == "string" for k in ("kind", "apiVersion"))
            and _type_name(meta) == "object"
            and all(_type_name(resolve(meta_props.get(k))) == "string" for k in ("name", "generateName"))):
        return schema
    return {**schema, "properties": {**properties, "kind": {"type": "string"}, "apiVersion": {"type": "string"},
                                     "metadata": _META}}
