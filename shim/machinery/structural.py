"""Structural schemas of custom resources: pruning, defaulting and validation (apiextensions-apiserver).

Unknown fields are dropped unless `x-kubernetes-preserve-unknown-fields`; `default`s are filled in;
the rest is checked with jsonschema against the schema translated from OpenAPI v3 to JSON Schema.
"""
from __future__ import annotations

import copy
import functools
from typing import Any

import orjson

from shim.machinery import errors

Obj = dict[str, Any]
_ROOT_KEEP = ("apiVersion", "kind", "metadata")


def prune(value: Any, schema: Obj | None, root: bool = False, pruned: list[str] | None = None,
          path: str = "") -> Any:
    """Drop fields the schema does not know, in place; returns the value. Their paths (`spec.foo`) are
    appended to `pruned` when given, for fieldValidation."""
    def here(key: str) -> str:
        return f"{path}.{key}" if path else key

    if schema is None or schema.get("x-kubernetes-preserve-unknown-fields"):
        if isinstance(value, dict) and schema:
            for key, sub in (schema.get("properties") or {}).items():
                if key in value:
                    value[key] = prune(value[key], sub, pruned=pruned, path=here(key))
        return value
    if isinstance(value, dict):
        keep = ("apiVersion", "kind", "metadata") if schema.get("x-kubernetes-embedded-resource") else ()
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        if props is not None or extra is None:
            for key in list(value):
                if (root and key in _ROOT_KEEP) or key in keep:
                    continue
                if props and key in props:
                    value[key] = prune(value[key], props[key], pruned=pruned, path=here(key))
                elif isinstance(extra, dict):
                    value[key] = prune(value[key], extra, pruned=pruned, path=here(key))
                elif extra is True:
                    continue
                else:
                    if pruned is not None:
                        pruned.append(here(key))
                    del value[key]
        elif isinstance(extra, dict):
            for key in value:
                value[key] = prune(value[key], extra, pruned=pruned, path=here(key))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            value[i] = prune(item, schema["items"], pruned=pruned, path=f"{path}[{i}]")
    return value


def apply_defaults(value: Any, schema: Obj | None) -> Any:
    """Fill in `default`s of absent properties, depth first, in place."""
    if not schema:
        return value
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                apply_defaults(value[key], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in value:
                if key not in (schema.get("properties") or {}):
                    apply_defaults(value[key], extra)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(item, schema["items"])
    return value


def _to_json_schema(schema: Any) -> Any:
    """OpenAPI v3 schema -> JSON Schema draft 4 (nullable, int-or-string, vendor extensions)."""
    if isinstance(schema, list):
        return [_to_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: Obj = {}
    for key, value in schema.items():
        if key.startswith("x-kubernetes-") or key in ("nullable", "default", "example", "externalDocs",
                                                      "description", "format"):
            continue
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: _to_json_schema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = _to_json_schema(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_to_json_schema(v) for v in value]
        else:
            out[key] = value
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
    if schema.get("x-kubernetes-embedded-resource"):
        out.get("properties", {}).pop("metadata", None)
    return out


@functools.lru_cache(maxsize=256)
def _validator(schema_json: bytes) -> Any:
    import jsonschema  # only custom resources with schemas need it; keeps idle memory down
    schema = _to_json_schema(orjson.loads(schema_json))
    return jsonschema.Draft4Validator(schema)


def _path(err: Any) -> str:
    out = ""
    for part in err.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate(obj: Obj, schema: Obj | None) -> list[dict[str, str]]:
    """Causes for every place `obj` breaks the schema (metadata is validated elsewhere)."""
    if not schema:
        return []
    body = {k: v for k, v in obj.items() if k != "metadata"}
    validator = _validator(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))
    causes = []
    for err in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
        field = _path(err)
        if err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else ""
            causes.append(errors.field_required(f"{field}.{missing}" if field else missing))
        elif err.validator == "enum":
            causes.append(errors.field_not_supported(field, err.instance, [str(v) for v in err.validator_value]))
        elif err.validator == "type":
            expected = err.validator_value
            causes.append(errors.field_invalid(field, _short(err.instance),
                                               f"{field or 'body'} in body must be of type "
                                               f"{expected if isinstance(expected, str) else expected[0]}: "
                                               f"\"{type(err.instance).__name__}\""))
        else:
            causes.append(errors.field_invalid(field, _short(err.instance), err.message))
    return causes


def _short(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) or value is None else "object"
