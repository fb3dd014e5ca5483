"""The v2 document in gnostic's protobuf form (`openapi_v2.Document`), which client-go asks /openapi/v2 for."""
from __future__ import annotations

import json
import struct
import threading
from collections import OrderedDict
from typing import Any, Iterable, Mapping

#: What client-go sends in `Accept` for /openapi/v2 (the only form it asks for).
V2_PROTOBUF_ACCEPT = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
#: The Content-Type to answer it with: Go's mime parser rejects the "@" of the Accept form, so upstream
#: (kube-openapi's handler) replies with this spelling.
V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

_lock = threading.Lock()
_pb_cache: "OrderedDict[int, tuple[dict, bytes]]" = OrderedDict()


# The wire encoding of gnostic's openapi_v2 messages (openapiv2/OpenAPIv2.proto), for the parts a Kubernetes
# document uses. Field numbers are the proto's; proto3 leaves out empty scalars, but present sub-messages are
# always written (presence of `properties` decides between a kind and a map in kube-openapi).


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _pb_len(field: int, data: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _pb_str(field: int, value: Any) -> bytes:
    if value is None or value == "":
        return b""
    return _pb_len(field, str(value).encode())


def _pb_strs(field: int, values: Iterable[Any]) -> bytes:
    return b"".join(_pb_len(field, str(v).encode()) for v in values)


def _pb_bool(field: int, value: Any, *, keep_false: bool = False) -> bytes:
    if not value and not keep_false:
        return b""
    return _varint(field << 3) + (b"\x01" if value else b"\x00")


def _pb_int(field: int, value: Any) -> bytes:
    if not isinstance(value, int) or isinstance(value, bool) or value == 0:
        return b""
    return _varint(field << 3) + _varint(value)


def _pb_double(field: int, value: Any) -> bytes:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value == 0:
        return b""
    return _varint(field << 3 | 1) + struct.pack("<d", float(value))


def _pb_any(field: int, value: Any) -> bytes:
    """An `Any` message carrying the value as YAML (JSON is YAML), which is how kube-openapi reads it."""
    return _pb_len(field, _pb_str(2, json.dumps(value, ensure_ascii=False)))


def _pb_extensions(field: int, node: Mapping[str, Any]) -> bytes:
    return b"".join(_pb_len(field, _pb_str(1, key) + _pb_any(2, value))
                    for key, value in node.items() if key.startswith("x-"))


def _pb_schema(schema: Mapping[str, Any]) -> bytes:
    parts = [
        _pb_str(1, schema.get("$ref")),
        _pb_str(2, schema.get("format")),
        _pb_str(3, schema.get("title")),
        _pb_str(4, schema.get("description")),
        _pb_any(5, schema["default"]) if "default" in schema else b"",
        _pb_double(6, schema.get("multipleOf")),
        _pb_double(7, schema.get("maximum")),
        _pb_bool(8, schema.get("exclusiveMaximum")),
        _pb_double(9, schema.get("minimum")),
        _pb_bool(10, schema.get("exclusiveMinimum")),
        _pb_int(11, schema.get("maxLength")),
        _pb_int(12, schema.get("minLength")),
        _pb_str(13, schema.get("pattern")),
        _pb_int(14, schema.get("maxItems")),
        _pb_int(15, schema.get("minItems")),
        _pb_bool(16, schema.get("uniqueItems")),
        _pb_int(17, schema.get("maxProperties")),
        _pb_int(18, schema.get("minProperties")),
        _pb_strs(19, schema.get("required") or ()),
        b"".join(_pb_any(20, v) for v in schema.get("enum") or ()),
    ]
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        parts.append(_pb_len(21, _pb_len(1, _pb_schema(additional))))
    elif isinstance(additional, bool):
        parts.append(_pb_len(21, _pb_bool(2, additional, keep_false=True)))
    kind = schema.get("type")
    if kind:
        parts.append(_pb_len(22, _pb_strs(1, kind if isinstance(kind, list) else [kind])))
    items = schema.get("items")
    if isinstance(items, dict):
        parts.append(_pb_len(23, _pb_len(1, _pb_schema(items))))
    elif isinstance(items, list):
        parts.append(_pb_len(23, b"".join(_pb_len(1, _pb_schema(i)) for i in items if isinstance(i, dict))))
    parts.extend(_pb_len(24, _pb_schema(s)) for s in schema.get("allOf") or () if isinstance(s, dict))
    properties = schema.get("properties")
    if isinstance(properties, dict):
        parts.append(_pb_len(25, b"".join(_pb_len(1, _pb_str(1, name) + _pb_len(2, _pb_schema(sub)))
                                          for name, sub in properties.items() if isinstance(sub, dict))))
    if isinstance(schema.get("discriminator"), str):
        parts.append(_pb_str(26, schema["discriminator"]))
    parts.append(_pb_bool(27, schema.get("readOnly")))
    if "example" in schema:
        parts.append(_pb_any(30, schema["example"]))
    parts.append(_pb_extensions(31, schema))
    return b"".join(parts)


def _pb_parameter(parameter: Mapping[str, Any]) -> bytes:
    """A ParametersItem: a body parameter, or a query/path non-body one."""
    where = parameter.get("in")
    if where == "body":
        body = (_pb_str(1, parameter.get("description")) + _pb_str(2, parameter.get("name")) + _pb_str(3, where)
                + _pb_bool(4, parameter.get("required")) + _pb_len(5, _pb_schema(parameter.get("schema") or {})))
        return _pb_len(1, _pb_len(1, body))
    common = (_pb_bool(1, parameter.get("required")) + _pb_str(2, where) + _pb_str(3, parameter.get("description"))
              + _pb_str(4, parameter.get("name")))
    if where == "path":
        sub = _pb_len(4, common + _pb_str(5, parameter.get("type")) + _pb_bool(19, parameter.get("uniqueItems")))
    else:
        sub = _pb_len(3, common + _pb_str(6, parameter.get("type")) + _pb_bool(20, parameter.get("uniqueItems")))
    return _pb_len(1, _pb_len(2, sub))


def _pb_operation(operation: Mapping[str, Any]) -> bytes:
    responses = b"".join(
        _pb_len(1, _pb_str(1, code) + _pb_len(2, _pb_len(1, _pb_str(1, response.get("description"))
                                                           + (_pb_len(2, _pb_len(1, _pb_schema(response["schema"])))
                                                              if "schema" in response else b""))))
        for code, response in (operation.get("responses") or {}).items())
    return b"".join([
        _pb_strs(1, operation.get("tags") or ()),
        _pb_str(3, operation.get("description")),
        _pb_str(5, operation.get("operationId")),
        _pb_strs(6, operation.get("produces") or ()),
        _pb_strs(7, operation.get("consumes") or ()),
        b"".join(_pb_len(8, _pb_parameter(p)) for p in operation.get("parameters") or ()),
        _pb_len(9, responses),
        _pb_strs(10, operation.get("schemes") or ()),
        _pb_extensions(13, operation),
    ])


def _encode_v2(document: Mapping[str, Any]) -> bytes:
    info = document.get("info") or {}
    paths = b""
    for path, item in (document.get("paths") or {}).items():
        encoded = b"".join([
            _pb_len(2, _pb_operation(item["get"])) if "get" in item else b"",
            _pb_len(3, _pb_operation(item["put"])) if "put" in item else b"",
            _pb_len(4, _pb_operation(item["post"])) if "post" in item else b"",
            _pb_len(5, _pb_operation(item["delete"])) if "delete" in item else b"",
            _pb_len(8, _pb_operation(item["patch"])) if "patch" in item else b"",
            b"".join(_pb_len(9, _pb_parameter(p)) for p in item.get("parameters") or ()),
            _pb_extensions(10, item),
        ])
        paths += _pb_len(2, _pb_str(1, path) + _pb_len(2, encoded))
    definitions = b"".join(_pb_len(1, _pb_str(1, name) + _pb_len(2, _pb_schema(schema)))
                           for name, schema in (document.get("definitions") or {}).items())
    return b"".join([
        _pb_str(1, document.get("swagger", "2.0")),
        _pb_len(2, _pb_str(1, info.get("title")) + _pb_str(2, info.get("version"))),
        _pb_len(8, paths),
        _pb_len(9, definitions),
    ])


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
