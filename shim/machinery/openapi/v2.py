"""OpenAPI v2: the single Swagger 2.0 document of the server, converted from the v3 documents."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Mapping

from shim.machinery import schemas
from shim.machinery.openapi.definitions import SCHEMA_LISTS, SCHEMA_MAPS, SCHEMA_VALUES, crd_schema_v2
from shim.machinery.openapi.names import (V2_REF_PREFIX, V3_REF_PREFIX, Obj, canonical, crd_definition_name,
                                          split_group_version)
from shim.machinery.openapi.v3 import v3_document

_lock = threading.Lock()
_v2_cache: "OrderedDict[bytes, Obj]" = OrderedDict()


def v2_document(group_versions: Mapping[str, list[Obj]]) -> Obj:
    """The single Swagger 2.0 document of the whole server (`/openapi/v2`), for every group-version's kinds.

    `group_versions` maps `"v1"`, `"apps/v1"`, ... to the same kind entries `v3_document` takes. Built from the
    v3 documents, with `#/definitions/` references and v2 parameters/bodies/responses. Cached by input and
    shared: treat the result as read-only.
    """
    key = canonical(group_versions)
    with _lock:
        cached = _v2_cache.get(key)
        if cached is not None:
            _v2_cache.move_to_end(key)
            return cached
    paths: dict[str, Obj] = {}
    definitions: dict[str, Obj] = {}
    for group_version, kinds in group_versions.items():
        document = v3_document(group_version, kinds)
        for path, item in document["paths"].items():
            paths[path] = _v2_path_item(item)
        for name, schema in document["components"]["schemas"].items():
            if name not in definitions:
                definitions[name] = _v2_schema(schema)
        default_group, default_version = split_group_version(group_version)
        for entry in kinds:
            if entry.get("schema") is not None:  # a custom resource: v2 has rules of its own
                group = entry.get("group", default_group) or ""
                version, kind = entry.get("version", default_version), entry["kind"]
                definitions[crd_definition_name(group, version, kind)] = _v2_schema(
                    crd_schema_v2(entry["schema"], group, version, kind))
    document = {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": f"v{schemas.schema_version()}.0"},
        "paths": dict(sorted(paths.items())),
        "definitions": dict(sorted(definitions.items())),
    }
    with _lock:
        _v2_cache[key] = document
        while len(_v2_cache) > 8:
            _v2_cache.popitem(last=False)
    return document


def _v2_ref(ref: str) -> str:
    return V2_REF_PREFIX + ref[len(V3_REF_PREFIX):] if ref.startswith(V3_REF_PREFIX) else ref


def _v2_schema(node: Any) -> Any:
    """An OpenAPI v3 schema in Swagger 2.0 form: `$ref` siblings instead of `allOf` wrappers, v2 references,
    and without the keywords v2 lacks (`oneOf`, `anyOf`, `not`, `nullable`)."""
    if isinstance(node, list):
        return [_v2_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict) and "$ref" in all_of[0] \
            and "properties" not in node:
        node = {"$ref": all_of[0]["$ref"], **{k: v for k, v in node.items() if k != "allOf"}}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("oneOf", "anyOf", "not", "nullable"):
            continue
        if key == "$ref" and isinstance(value, str):
            out[key] = _v2_ref(value)
        elif key in SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {field: _v2_schema(sub) for field, sub in value.items()}
        elif key in SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_v2_schema(item) for item in value]
        elif key in SCHEMA_VALUES and isinstance(value, dict):
            out[key] = _v2_schema(value)
        else:
            out[key] = value
    if out.get("type") == "array" and not isinstance(out.get("items"), dict):
        out["items"] = {}  # kube-openapi's v2 parser requires exactly one items schema
    return out


def _v2_parameter(parameter: Obj) -> Obj:
    schema = parameter.get("schema") or {}
    converted = {k: v for k, v in parameter.items() if k != "schema"}
    converted["type"] = schema.get("type", "string")
    if schema.get("uniqueItems"):
        converted["uniqueItems"] = True
    return converted


def _v2_operation(operation: Obj) -> Obj:
    converted: dict[str, Any] = {k: operation[k] for k in ("tags", "description", "operationId") if k in operation}
    body = operation.get("requestBody")
    if body:
        converted["consumes"] = list(body.get("content", {}))
    produces: list[str] = []
    responses: dict[str, Obj] = {}
    for code, response in operation.get("responses", {}).items():
        entry: dict[str, Any] = {"description": response.get("description", "")}
        content = response.get("content") or {}
        for media_type, media in content.items():
            if media_type not in produces:
                produces.append(media_type)
            if "schema" not in entry and isinstance(media, dict) and "schema" in media:
                entry["schema"] = _v2_schema(media["schema"])
        responses[code] = entry
    if produces:
        converted["produces"] = produces
    parameters = [_v2_parameter(p) for p in operation.get("parameters", [])]
    if body:
        first: dict[str, Any] = next(iter(body.get("content", {}).values()), {})
        parameters.insert(0, {"name": "body", "in": "body", "required": bool(body.get("required")),
                              "schema": _v2_schema(first.get("schema", {}))})
    converted["parameters"] = parameters
    converted["responses"] = responses
    converted["schemes"] = ["https"]
    for key, value in operation.items():
        if key.startswith("x-"):
            converted[key] = value
    return converted


def _v2_path_item(item: Obj) -> Obj:
    converted: dict[str, Any] = {}
    for method in ("get", "put", "post", "delete", "patch"):
        if method in item:
            converted[method] = _v2_operation(item[method])
    if item.get("parameters"):
        converted["parameters"] = [_v2_parameter(p) for p in item["parameters"]]
    return converted
