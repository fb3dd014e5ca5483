"""The v2 document in gnostic's protobuf form (`openapi.v2.Document`), which client-go asks /openapi/v2 for.

The message is built with the protobuf runtime from gnostic's descriptor (shim.machinery.protobuf), for the
parts a Kubernetes document uses. Proto3 leaves out empty scalars, but a sub-message that is set is always
written, even empty: kube-openapi tells a kind from a map by whether `properties` is present.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any, Mapping

from shim.machinery import protobuf

#: What client-go sends in `Accept` for /openapi/v2 (the only form it asks for).
V2_PROTOBUF_ACCEPT = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
#: The Content-Type to answer it with: Go's mime parser rejects the "@" of the Accept form, so upstream
#: (kube-openapi's handler) replies with this spelling.
V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

_lock = threading.Lock()
_pb_cache: "OrderedDict[int, tuple[Mapping[str, Any], bytes]]" = OrderedDict()

#: Schema fields copied as they are: strings, then numbers (proto3 leaves zeros out), then flags
_SCHEMA_STRINGS = {"$ref": "_ref", "format": "format", "title": "title", "description": "description",
                   "pattern": "pattern"}
_SCHEMA_DOUBLES = {"multipleOf": "multiple_of", "maximum": "maximum", "minimum": "minimum"}
_SCHEMA_INTS = {"maxLength": "max_length", "minLength": "min_length", "maxItems": "max_items",
                "minItems": "min_items", "maxProperties": "max_properties", "minProperties": "min_properties"}
_SCHEMA_FLAGS = {"exclusiveMaximum": "exclusive_maximum", "exclusiveMinimum": "exclusive_minimum",
                 "uniqueItems": "unique_items", "readOnly": "read_only"}
_METHODS = ("get", "put", "post", "delete", "patch")


def _any(message: Any, value: Any) -> None:
    """An `Any` carrying the value as YAML (JSON is YAML), which is how kube-openapi reads it."""
    message.yaml = json.dumps(value, ensure_ascii=False)


def _extensions(repeated: Any, node: Mapping[str, Any]) -> None:
    for key, value in node.items():
        if key.startswith("x-"):
            named = repeated.add()
            named.name = key
            _any(named.value, value)


def _number(value: Any, kind: type | tuple[type, ...]) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool) and value != 0


def _schema(message: Any, schema: Mapping[str, Any]) -> None:
    for key, field in _SCHEMA_STRINGS.items():
        if schema.get(key) not in (None, ""):
            setattr(message, field, str(schema[key]))
    for key, field in _SCHEMA_DOUBLES.items():
        if _number(schema.get(key), (int, float)):
            setattr(message, field, float(schema[key]))
    for key, field in _SCHEMA_INTS.items():
        if _number(schema.get(key), int):
            setattr(message, field, schema[key])
    for key, field in _SCHEMA_FLAGS.items():
        if schema.get(key):
            setattr(message, field, True)
    if "default" in schema:
        _any(message.default, schema["default"])
    message.required.extend(str(r) for r in schema.get("required") or ())
    for value in schema.get("enum") or ():
        _any(message.enum.add(), value)
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        message.additional_properties.schema.SetInParent()
        _schema(message.additional_properties.schema, additional)
    elif isinstance(additional, bool):
        message.additional_properties.boolean = additional
    kind = schema.get("type")
    if kind:
        message.type.value.extend(str(k) for k in (kind if isinstance(kind, list) else [kind]))
    items = schema.get("items")
    if isinstance(items, (dict, list)):
        message.items.SetInParent()
        for item in items if isinstance(items, list) else [items]:
            if isinstance(item, dict):
                _schema(message.items.schema.add(), item)
    for part in schema.get("allOf") or ():
        if isinstance(part, dict):
            _schema(message.all_of.add(), part)
    properties = schema.get("properties")
    if isinstance(properties, dict):
        message.properties.SetInParent()
        for name, sub in properties.items():
            if isinstance(sub, dict):
                named = message.properties.additional_properties.add()
                named.name = name
                named.value.SetInParent()
                _schema(named.value, sub)
    if isinstance(schema.get("discriminator"), str) and schema["discriminator"]:
        message.discriminator = schema["discriminator"]
    if "example" in schema:
        _any(message.example, schema["example"])
    _extensions(message.vendor_extension, schema)


def _parameter(message: Any, parameter: Mapping[str, Any]) -> None:
    """A ParametersItem: a body parameter, or a query or path one."""
    where = parameter.get("in")
    if where == "body":
        body = message.parameter.body_parameter
        for key in ("description", "name", "in"):
            if parameter.get(key):
                setattr(body, key, str(parameter[key]))
        body.required = bool(parameter.get("required"))
        body.schema.SetInParent()
        _schema(body.schema, parameter.get("schema") or {})
        return
    non_body = message.parameter.non_body_parameter
    sub = non_body.path_parameter_sub_schema if where == "path" else non_body.query_parameter_sub_schema
    sub.SetInParent()
    sub.required = bool(parameter.get("required"))
    for key in ("in", "description", "name", "type"):
        if parameter.get(key):
            setattr(sub, key, str(parameter[key]))
    sub.unique_items = bool(parameter.get("uniqueItems"))


def _operation(message: Any, operation: Mapping[str, Any]) -> None:
    message.tags.extend(operation.get("tags") or ())
    if operation.get("description"):
        message.description = operation["description"]
    if operation.get("operationId"):
        message.operation_id = operation["operationId"]
    message.produces.extend(operation.get("produces") or ())
    message.consumes.extend(operation.get("consumes") or ())
    for parameter in operation.get("parameters") or ():
        _parameter(message.parameters.add(), parameter)
    message.responses.SetInParent()
    for code, response in (operation.get("responses") or {}).items():
        named = message.responses.response_code.add()
        named.name = code
        answer = named.value.response
        answer.SetInParent()
        if response.get("description"):
            answer.description = response["description"]
        if "schema" in response:
            answer.schema.schema.SetInParent()
            _schema(answer.schema.schema, response["schema"])
    message.schemes.extend(operation.get("schemes") or ())
    _extensions(message.vendor_extension, operation)


def _encode_v2(document: Mapping[str, Any]) -> bytes:
    message = protobuf.openapi_v2_document()
    message.swagger = document.get("swagger", "2.0")
    info = document.get("info") or {}
    message.info.SetInParent()
    for key in ("title", "version"):
        if info.get(key):
            setattr(message.info, key, str(info[key]))
    message.paths.SetInParent()
    for path, item in (document.get("paths") or {}).items():
        named = message.paths.path.add()
        named.name = path
        named.value.SetInParent()
        for method in _METHODS:
            if method in item:
                _operation(getattr(named.value, method), item[method])
        for parameter in item.get("parameters") or ():
            _parameter(named.value.parameters.add(), parameter)
        _extensions(named.value.vendor_extension, item)
    message.definitions.SetInParent()
    for name, schema in (document.get("definitions") or {}).items():
        named = message.definitions.additional_properties.add()
        named.name = name
        named.value.SetInParent()
        _schema(named.value, schema)
    data: bytes = message.SerializeToString()
    return data


def v2_protobuf(document: Mapping[str, Any]) -> bytes:
    """`document` (from `v2_document`) encoded as gnostic's `openapi_v2.Document`, as client-go requests it.

    The encoding of the last few documents is cached by identity, so serving the cached result of
    `v2_document` again costs nothing.
    """
    with _lock:
        cached = _pb_cache.get(id(document))
        if cached is not None and cached[0] is document:
            return cached[1]
    encoded = _encode_v2(document)
    with _lock:
        _pb_cache[id(document)] = (document, encoded)  # keeps the document alive, so its id stays unique
        while len(_pb_cache) > 8:
            _pb_cache.popitem(last=False)
    return encoded
