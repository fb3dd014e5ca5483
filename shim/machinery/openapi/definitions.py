"""Schemas in OpenAPI v3 form: built-in definitions from kubernetes-validate, converted back to upstream's shapes,
and CRD versions' schemas as upstream's CRD publisher writes them."""
from __future__ import annotations

import copy
import threading
from typing import Any, Iterable

from shim.machinery import protobuf, schemas
from shim.machinery.openapi.names import (GVK, INT_OR_STRING, LIST_META, OBJECT_META, QUANTITY, V3_REF_PREFIX,
                                          Obj)

_API_VERSION_DESCRIPTION = (
    "APIVersion defines the versioned schema of this representation of an object. Servers should convert "
    "recognized schemas to the latest internal value, and may reject unrecognized values. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources")
_KIND_DESCRIPTION = (
    "Kind is a string value representing the REST resource this object represents. Servers may infer this "
    "from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds")
_METADATA_DESCRIPTION = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata")
_EMBEDDED_API_VERSION_DESCRIPTION = (
    "apiVersion defines the versioned schema of this representation of an object. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources")
_EMBEDDED_KIND_DESCRIPTION = (
    "kind is a string value representing the type of this object. In CamelCase. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds")
_LIST_METADATA_DESCRIPTION = (
    "Standard list metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#lists-and-maps")

# Upstream's own shapes for the two definitions kubernetes-validate rewrites as `oneOf`s.
_REPLACED_DEFINITIONS: dict[str, Obj] = {
    INT_OR_STRING: {
        "description": "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML "
                       "marshalling and unmarshalling, it produces or consumes the inner type.  This allows you "
                       "to have, for example, a JSON field that can accept a name or number.",
        "format": "int-or-string",
        "type": "string",
    },
    QUANTITY: {
        "description": "Quantity is a fixed-point representation of a number. It provides convenient "
                       "marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() "
                       "accessors.\n\nThe serialization format is:\n\n``` <quantity>        ::= "
                       "<signedNumber><suffix>\n```\n\nExamples: 100m, 1, 1.5, 1Gi, 500Mi, 2k.",
        "type": "string",
    },
}

SCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs")
SCHEMA_LISTS = ("allOf", "oneOf", "anyOf", "prefixItems")
SCHEMA_VALUES = ("items", "additionalProperties", "not", "additionalItems")


def ref(name: str) -> Obj:
    return {"$ref": V3_REF_PREFIX + name}


def convert(node: Any, *, drop_type_enums: bool = False) -> Any:
    """A kubernetes-validate (JSON schema) node in OpenAPI v3 form; the input is not modified."""
    if isinstance(node, list):
        return [convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            name = schemas.ref_name(value)
            out[key] = V3_REF_PREFIX + name if name is not None else value
        elif key == "type" and isinstance(value, list):
            concrete = [t for t in value if t != "null"]
            if len(concrete) == 1:
                out[key] = concrete[0]
            elif concrete:
                out[key] = concrete
        elif key in SCHEMA_MAPS and isinstance(value, dict):
            converted = {}
            for field, sub in value.items():
                sub = convert(sub)
                if drop_type_enums and key == "properties" and field in ("apiVersion", "kind") \
                        and isinstance(sub, dict):
                    sub.pop("enum", None)
                converted[field] = sub
            out[key] = converted
        elif key in SCHEMA_LISTS and isinstance(value, list):
            out[key] = [convert(item) for item in value]
        elif key in SCHEMA_VALUES and isinstance(value, dict):
            out[key] = convert(value)
        else:
            out[key] = copy.deepcopy(value)
    if "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out = {"allOf": [{"$ref": ref}], **out}
    return out


_converted: dict[str, Obj] = {}
_converted_lock = threading.Lock()


def builtin_definition(name: str) -> Obj | None:
    """A built-in definition in OpenAPI v3 form (cached and shared: do not mutate)."""
    cached = _converted.get(name)
    if cached is not None:
        return cached
    if name in _REPLACED_DEFINITIONS:
        converted = _REPLACED_DEFINITIONS[name]
    else:
        raw = schemas.definition(name)
        if raw is None:
            return None
        converted = convert(raw, drop_type_enums=True)
    with _converted_lock:
        return _converted.setdefault(name, converted)


_with_defaults: dict[str, Obj | None] = {}


def typed_definition(name: str) -> Obj | None:
    """A built-in definition with the property defaults upstream's OpenAPI v3 publishes from its Go types'
    `+default=` markers (kubernetes-validate drops them): what server-side apply keys list items by (a
    port's `protocol: TCP`). Cached and shared: do not mutate."""
    if name in _with_defaults:
        return _with_defaults[name]
    definition = builtin_definition(name)
    defaults = protobuf.go_defaults(name)
    properties = (definition or {}).get("properties")
    if definition is not None and defaults and isinstance(properties, dict):
        definition = {**definition, "properties": {
            field: {**sub, "default": defaults[field]} if field in defaults and isinstance(sub, dict) else sub
            for field, sub in properties.items()}}
    with _converted_lock:
        return _with_defaults.setdefault(name, definition)


def v3_references(node: Any) -> Iterable[str]:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str) and ref.startswith(V3_REF_PREFIX):
                yield ref[len(V3_REF_PREFIX):]
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def add_with_references(components: dict[str, Obj], roots: Iterable[str]) -> None:
    """Add built-in definitions `roots` and everything they reference to `components`."""
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in components:
            continue
        definition = builtin_definition(name)
        if definition is None:
            continue
        components[name] = definition
        pending.extend(n for n in v3_references(definition) if n not in components)


# ---------------------------------------------------------------------------------------------- CRD schemas


def crd_schema(schema: Obj | None, group: str, version: str, kind: str) -> Obj:
    """A CRD version's openAPIV3Schema as upstream publishes it: GVK added, metadata typed as ObjectMeta."""
    converted = copy.deepcopy(schema) if isinstance(schema, dict) else {}
    if not converted:
        converted = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    _add_embedded_properties(converted)
    converted.setdefault("type", "object")
    properties = converted.setdefault("properties", {})
    api_version = properties.get("apiVersion") or {}
    properties["apiVersion"] = {"description": _API_VERSION_DESCRIPTION, "type": "string",
                                **{k: v for k, v in api_version.items() if k not in ("type",)}}
    kind_property = properties.get("kind") or {}
    properties["kind"] = {"description": _KIND_DESCRIPTION, "type": "string",
                          **{k: v for k, v in kind_property.items() if k not in ("type",)}}
    metadata = properties.get("metadata") or {}
    properties["metadata"] = {"allOf": [ref(OBJECT_META)],
                              "description": metadata.get("description", _METADATA_DESCRIPTION)}
    converted[GVK] = [{"group": group, "kind": kind, "version": version}]
    return converted


def _add_embedded_properties(node: Obj) -> None:
    """Objects marked `x-kubernetes-embedded-resource` get apiVersion, kind and a typed metadata, as upstream's
    builder adds them: apply then knows an embedded object's metadata fields."""
    for child in (node.get("properties") or {}).values():
        if isinstance(child, dict):
            _add_embedded_properties(child)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            _add_embedded_properties(node[key])
    if node.get("x-kubernetes-embedded-resource") is True:
        properties = node.setdefault("properties", {})
        properties["apiVersion"] = {"description": _EMBEDDED_API_VERSION_DESCRIPTION, "type": "string"}
        properties["kind"] = {"description": _EMBEDDED_KIND_DESCRIPTION, "type": "string"}
        properties["metadata"] = {"allOf": [ref(OBJECT_META)], "description": _METADATA_DESCRIPTION}
        required = node.setdefault("required", [])
        required += [name for name in ("kind", "apiVersion") if name not in required]


def crd_schema_v2(schema: Obj | None, group: str, version: str, kind: str) -> Obj:
    """A CRD version's schema as upstream publishes it in OpenAPI v2, where kubectl validates against it.

    A schema that keeps unknown fields at its root is published as a bare object (any property must pass
    kubectl's v2 validation); elsewhere the keywords v2 lacks are dropped, and nodes that keep unknown fields or
    are nullable lose their properties and items (and, for such objects and item-less arrays, their type), as
    apiextensions-apiserver's v2 conversion does.
    """
    gvk = [{"group": group, "kind": kind, "version": version}]
    if not isinstance(schema, dict) or not schema or schema.get(PRESERVE_UNKNOWN) is True:
        return {"type": "object", GVK: gvk}
    converted = crd_schema(_structural_v2(copy.deepcopy(schema)), group, version, kind)
    converted[GVK] = gvk
    return converted


PRESERVE_UNKNOWN = "x-kubernetes-preserve-unknown-fields"


def _structural_v2(node: Obj) -> Obj:
    for key in ("allOf", "oneOf", "anyOf", "not"):
        node.pop(key, None)
    if node.pop("nullable", False):
        for key in ("type", "items", "properties"):
            node.pop(key, None)
    if node.get(PRESERVE_UNKNOWN) is True:
        node.pop("items", None)
        node.pop("properties", None)
        if node.get("type") == "object":
            node.pop("type")
    if node.get("type") == "array" and "items" not in node:
        node.pop("type")
    properties = node.get("properties")
    if isinstance(properties, dict):
        nullable = {name for name, sub in properties.items() if isinstance(sub, dict) and sub.get("nullable")}
        if nullable and isinstance(node.get("required"), list):
            node["required"] = [name for name in node["required"] if name not in nullable] or None
            if node["required"] is None:
                del node["required"]
        for sub in properties.values():
            if isinstance(sub, dict):
                _structural_v2(sub)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            _structural_v2(node[key])
    return node


def crd_list_schema(item_name: str, group: str, version: str, kind: str) -> Obj:
    return {
        "description": f"{kind}List is a list of {kind}",
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"description": _API_VERSION_DESCRIPTION, "type": "string"},
            "items": {"description": f"List of {kind.lower()}s. More info: "
                                     "https://git.k8s.io/community/contributors/devel/api-conventions.md",
                      "type": "array", "items": ref(item_name)},
            "kind": {"description": _KIND_DESCRIPTION, "type": "string"},
            "metadata": {"allOf": [ref(LIST_META)], "description": _LIST_METADATA_DESCRIPTION},
        },
        GVK: [{"group": group, "kind": f"{kind}List", "version": version}],
    }
