"""OpenAPI v3 documents for `/openapi/v3` and `/openapi/v3/<api|apis/group>/<version>`, as kubectl reads them.

What the clients need (kubectl and cli-runtime 1.27-1.33):

- `/openapi/v3` is an index `{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=H"}}}`;
  client-go fetches each group-version document through its serverRelativeURL and caches it (on disk too) by
  that URL, so the hash must change whenever the document does (`document_hash`; upstream uses the
  upper-case hex SHA-512 of the document).
- Field validation (cli-runtime `query_param_verifier_v3.go`): kubectl create/apply/replace look in the
  group-version document for a PATCH operation whose `x-kubernetes-group-version-kind` is the object's GVK
  and check that it lists a `fieldValidation` parameter. If it does, validation is left to the server
  (`?fieldValidation=Strict`); every PATCH operation of a kind (the main path and `/status`) carries it,
  since the verifier stops at the first matching one it meets.
- Client-side apply (kubectl `cmd/apply/patcher.go`, v3 path used by default from 1.29 on): the PATCH
  operation's `requestBody.content` must offer `application/strategic-merge-patch+json` (built-in kinds
  only; for CRDs it is absent and kubectl falls back to a JSON merge patch), and `components.schemas`
  must hold the kind's schema (found by `x-kubernetes-group-version-kind`) with `x-kubernetes-patch-merge-key`
  / `x-kubernetes-patch-strategy` on its fields and references written `#/components/schemas/<name>`
  (optionally wrapped in a one-element `allOf`, as upstream writes them).
- `kubectl explain` (`pkg/explain/v2`, default since 1.27): fetches the group-version document, finds the GVK
  from an operation on `/api[s/<group>]/<version>/[namespaces/{namespace}/]<resource>[/{name}]`, then the
  schema in `components.schemas` whose `x-kubernetes-group-version-kind` list contains it; its templates
  compare `type` with strings, so types must be plain strings, not JSON-schema type lists.

`/openapi/v2` cannot be left out: kubectl 1.27 downloads it (protobuf only: client-go sends
`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, wants the reply typed `V2_PROTOBUF`
(the same with "." for "@") and decodes the body as gnostic's
`openapi_v2.Document` whatever the response says, then tries `/swagger-2.0.0.pb-v1`) before create/apply/replace
with validation on (its field-validation check reads v2), and kubectl 1.27 and 1.28 `explain` require it in
`Complete()` even though they render from v3; a 404 there makes those commands fail with "the server could not
find the requested resource". kubectl 1.29-1.33 only fall back to v2 when v3 fails, and client-side apply of
every version tolerates a v2 failure (it then uses compiled-in types). So the server serves `v2_document(...)`:
as protobuf (`v2_protobuf`, content type `V2_PROTOBUF`) for that Accept and as JSON for `application/json`.
kube-openapi's v2 parser rejects the whole document if one `$ref` does not resolve, a type is a list, or an
array has no `items`; the builder guarantees all three.

Built-in schemas come from `shim.machinery.schemas` (kubernetes-validate), converted from their JSON-schema
flavour back to upstream's OpenAPI v3 shapes: `["string", "null"]` types become `"string"`, the `enum`s the
package adds to `apiVersion`/`kind` are dropped, IntOrString and Quantity become upstream's `type: string`
definitions, and a `$ref` with siblings becomes `allOf: [{$ref}]` plus the siblings. Definition names are
upstream's (`io.k8s.api.core.v1.Pod`); CRD kinds are named like upstream's CRD publisher does
(`com.example.stable.v1.CronTab` for group `stable.example.com`).
"""
from __future__ import annotations

import copy
import hashlib
import json
import struct
import threading
from collections import OrderedDict
from typing import Any, Iterable, Mapping

try:
    import orjson

    def _canonical(value: Any) -> bytes:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
except ImportError:  # pragma: no cover

    def _canonical(value: Any) -> bytes:
        return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()

from shim.machinery import schemas

__all__ = [
    "V3_REF_PREFIX", "V2_REF_PREFIX", "V2_PROTOBUF", "V2_PROTOBUF_ACCEPT", "gv_path", "document_hash", "v3_index", "v3_document",
    "v2_document", "v2_protobuf", "crd_definition_name", "builtin_definition",
]

V3_REF_PREFIX = "#/components/schemas/"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
DELETE_OPTIONS = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
STATUS = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
PATCH = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

V2_REF_PREFIX = "#/definitions/"
#: What client-go sends in `Accept` for /openapi/v2 (the only form it asks for).
V2_PROTOBUF_ACCEPT = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
#: The Content-Type to answer it with: Go's mime parser rejects the "@" of the Accept form, so upstream
#: (kube-openapi's handler) replies with this spelling.
V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

GVK = "x-kubernetes-group-version-kind"

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
_LIST_METADATA_DESCRIPTION = (
    "Standard list metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#lists-and-maps")

# Upstream's own shapes for the two definitions kubernetes-validate rewrites as `oneOf`s.
_REPLACED_DEFINITIONS: dict[str, dict] = {
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

_SCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs")
_SCHEMA_LISTS = ("allOf", "oneOf", "anyOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "additionalItems")


# ---------------------------------------------------------------------------------------------- names

def split_group_version(group_version: str) -> tuple[str, str]:
    """`"apps/v1"` -> `("apps", "v1")`, `"v1"` -> `("", "v1")`."""
    return schemas.split_api_version(group_version)


def gv_path(group_version: str) -> str:
    """The index key of a group-version: `api/v1` or `apis/<group>/<version>`."""
    group, version = split_group_version(group_version)
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def crd_definition_name(group: str, version: str, kind: str) -> str:
    """Upstream's definition name for a CRD kind: the group's DNS labels reversed, then version and kind."""
    labels = [label for label in group.split(".") if label]
    return ".".join([*reversed(labels), version, kind])


def _camel(group: str) -> str:
    if not group:
        return "Core"
    trimmed = group[: -len(".k8s.io")] if group.endswith(".k8s.io") else group
    return "".join(part[:1].upper() + part[1:] for part in trimmed.replace("-", ".").split(".") if part)


def _tag(group: str, version: str) -> str:
    camel = _camel(group)
    return f"{camel[:1].lower()}{camel[1:]}_{version}"


# ---------------------------------------------------------------------------------------------- hashing / index

def document_hash(document: Mapping[str, Any]) -> str:
    """Upper-case hex SHA-512 of the document's canonical JSON (the `hash` query value clients cache by)."""
    return hashlib.sha512(_canonical(document)).hexdigest().upper()


def v3_index(group_versions: Iterable[str] | Mapping[str, str], hashes: Mapping[str, str] | None = None) -> dict:
    """The `/openapi/v3` index.

    `group_versions` lists `"v1"`, `"apps/v1"`, ...; `hashes` (or `group_versions` itself when it is a mapping)
    gives each one's `document_hash`. A group-version without a hash gets one derived from its name and the
    schema version, which is only right for documents that never change while the server runs.
    """
    if isinstance(group_versions, Mapping):
        hashes = {**group_versions, **(hashes or {})}
    paths: dict[str, dict] = {}
    for group_version in group_versions:
        path = gv_path(group_version)
        digest = (hashes or {}).get(group_version)
        if not digest:
            digest = hashlib.sha512(f"{schemas.schema_version()}:{path}".encode()).hexdigest().upper()
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": dict(sorted(paths.items()))}


# ---------------------------------------------------------------------------------------------- conversion

def _ref(name: str) -> dict:
    return {"$ref": V3_REF_PREFIX + name}


def _convert(node: Any, *, drop_type_enums: bool = False) -> Any:
    """A kubernetes-validate (JSON schema) node in OpenAPI v3 form; the input is not modified."""
    if isinstance(node, list):
        return [_convert(item) for item in node]
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
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            converted = {}
            for field, sub in value.items():
                sub = _convert(sub)
                if drop_type_enums and key == "properties" and field in ("apiVersion", "kind") \
                        and isinstance(sub, dict):
                    sub.pop("enum", None)
                converted[field] = sub
            out[key] = converted
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_convert(item) for item in value]
        elif key in _SCHEMA_VALUES and isinstance(value, dict):
            out[key] = _convert(value)
        else:
            out[key] = copy.deepcopy(value)
    if "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out = {"allOf": [{"$ref": ref}], **out}
    return out


_converted: dict[str, dict] = {}
_converted_lock = threading.Lock()


def builtin_definition(name: str) -> dict | None:
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
        converted = _convert(raw, drop_type_enums=True)
    with _converted_lock:
        return _converted.setdefault(name, converted)


def _v3_references(node: Any) -> Iterable[str]:
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


def _add_with_references(components: dict[str, dict], roots: Iterable[str]) -> None:
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
        pending.extend(n for n in _v3_references(definition) if n not in components)


# ---------------------------------------------------------------------------------------------- CRD schemas

def _crd_schema(schema: dict | None, group: str, version: str, kind: str) -> dict:
    """A CRD version's openAPIV3Schema as upstream publishes it: GVK added, metadata typed as ObjectMeta."""
    converted = copy.deepcopy(schema) if isinstance(schema, dict) else {}
    if not converted:
        converted = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    converted.setdefault("type", "object")
    properties = converted.setdefault("properties", {})
    api_version = properties.get("apiVersion") or {}
    properties["apiVersion"] = {"description": _API_VERSION_DESCRIPTION, "type": "string",
                                **{k: v for k, v in api_version.items() if k not in ("type",)}}
    kind_property = properties.get("kind") or {}
    properties["kind"] = {"description": _KIND_DESCRIPTION, "type": "string",
                          **{k: v for k, v in kind_property.items() if k not in ("type",)}}
    metadata = properties.get("metadata") or {}
    properties["metadata"] = {"allOf": [_ref(OBJECT_META)],
                              "description": metadata.get("description", _METADATA_DESCRIPTION)}
    converted[GVK] = [{"group": group, "kind": kind, "version": version}]
    return converted


def _crd_list_schema(item_name: str, group: str, version: str, kind: str) -> dict:
    return {
        "description": f"{kind}List is a list of {kind}",
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"description": _API_VERSION_DESCRIPTION, "type": "string"},
            "items": {"description": f"List of {kind.lower()}s. More info: "
                                     "https://git.k8s.io/community/contributors/devel/api-conventions.md",
                      "type": "array", "items": _ref(item_name)},
            "kind": {"description": _KIND_DESCRIPTION, "type": "string"},
            "metadata": {"allOf": [_ref(LIST_META)], "description": _LIST_METADATA_DESCRIPTION},
        },
        GVK: [{"group": group, "kind": f"{kind}List", "version": version}],
    }


# ---------------------------------------------------------------------------------------------- operations

def _query(name: str, description: str, kind: str = "string") -> dict:
    return {"name": name, "in": "query", "description": description,
            "schema": {"type": kind, "uniqueItems": True}}


_PRETTY = _query("pretty", "If 'true', then the output is pretty printed. Defaults to 'false' unless the "
                           "user-agent indicates a browser or command-line HTTP tool (curl and wget).")
_DRY_RUN = _query("dryRun", "When present, indicates that modifications should not be persisted. An invalid or "
                            "unrecognized dryRun directive will result in an error response and no further "
                            "processing of the request. Valid values are: - All: all dry run stages will be "
                            "processed")
_FIELD_MANAGER = _query("fieldManager", "fieldManager is a name associated with the actor or entity that is "
                                        "making these changes. The value must be less than or 128 characters "
                                        "long, and only contain printable characters, as defined by "
                                        "https://golang.org/pkg/unicode/#IsPrint.")
_FIELD_VALIDATION = _query(
    "fieldValidation",
    "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing "
    "unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are "
    "silently dropped from the object, and will ignore all but the last duplicate field that the decoder "
    "encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the "
    "standard warning response header for each unknown field that is dropped from the object, and for each "
    "duplicate field that is encountered. The request will still succeed if there are no other errors, and "
    "will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will "
    "fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if "
    "any duplicate fields are present. The error returned from the server will contain all unknown and "
    "duplicate fields encountered.")
_FORCE = _query("force", "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting "
                         "fields owned by other people. Force flag must be unset for non-apply patch requests.",
                "boolean")
_LIST_PARAMETERS = [
    _query("allowWatchBookmarks", "allowWatchBookmarks requests watch events with type \"BOOKMARK\".", "boolean"),
    _query("continue", "The continue option should be set when retrieving more results from the server."),
    _query("fieldSelector", "A selector to restrict the list of returned objects by their fields. Defaults to "
                            "everything."),
    _query("labelSelector", "A selector to restrict the list of returned objects by their labels. Defaults to "
                            "everything."),
    _query("limit", "limit is a maximum number of responses to return for a list call.", "integer"),
    _query("resourceVersion", "resourceVersion sets a constraint on what resource versions a request may be "
                              "served from."),
    _query("resourceVersionMatch", "resourceVersionMatch determines how resourceVersion is applied to list "
                                   "calls."),
    _query("sendInitialEvents", "`sendInitialEvents=true` may be set together with `watch=true`.", "boolean"),
    _query("timeoutSeconds", "Timeout for the list/watch call.", "integer"),
    _query("watch", "Watch for changes to the described resources and return them as a stream of add, update, "
                    "and remove notifications.", "boolean"),
]
_DELETE_PARAMETERS = [
    _DRY_RUN,
    _query("gracePeriodSeconds", "The duration in seconds before the object should be deleted.", "integer"),
    _query("orphanDependents", "Deprecated: please use the PropagationPolicy, this field will be deprecated in "
                               "1.7.", "boolean"),
    _query("propagationPolicy", "Whether and how garbage collection will be performed. Acceptable values are: "
                                "'Orphan', 'Background', 'Foreground'."),
]
_WRITE_PARAMETERS = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]
_PATCH_PARAMETERS = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION, _FORCE]

_JSON_YAML = ("application/json", "application/yaml")
_WITH_PROTOBUF = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
_PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json")
_BUILTIN_PATCH_TYPES = (*_PATCH_TYPES, "application/strategic-merge-patch+json")


def _path_parameter(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "description": description, "required": True,
            "schema": {"type": "string", "uniqueItems": True}}


def _content(schema_name: str, media_types: Iterable[str]) -> dict:
    return {media_type: {"schema": _ref(schema_name)} for media_type in media_types}


def _responses(schema_name: str, media_types: Iterable[str], *codes: str) -> dict:
    media_types = tuple(media_types)
    responses = {code: {"description": {"200": "OK", "201": "Created", "202": "Accepted"}[code],
                        "content": _content(schema_name, media_types)} for code in codes}
    responses["401"] = {"description": "Unauthorized"}
    return responses


def _operation(action: str, operation_id: str, tag: str, gvk: dict, description: str,
               parameters: list[dict], responses: dict, request_body: dict | None = None) -> dict:
    operation: dict[str, Any] = {
        "tags": [tag],
        "description": description,
        "operationId": operation_id,
        "parameters": [dict(p) for p in parameters],
    }
    if request_body is not None:
        operation["requestBody"] = request_body
    operation["responses"] = responses
    operation["x-kubernetes-action"] = action
    operation["x-kubernetes-group-version-kind"] = dict(gvk)
    return operation


ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


def _resource_paths(entry: Mapping[str, Any], kind_name: str, list_name: str, builtin: bool) -> dict[str, dict]:
    """The paths of one resource: an operation for each verb it declares, then its subresources'."""
    group = entry.get("group", "") or ""
    version = entry["version"]
    kind = entry["kind"]
    plural = entry["plural"]
    namespaced = bool(entry.get("namespaced", True))
    verbs = set(entry.get("verbs") or ALL_VERBS)
    prefix = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    tag = _tag(group, version)
    camel = _camel(group) + version[:1].upper() + version[1:]
    scope = "Namespaced" if namespaced else ""
    gvk = {"group": group, "kind": kind, "version": version}
    media = _WITH_PROTOBUF if builtin else _JSON_YAML
    patch_types = _BUILTIN_PATCH_TYPES if builtin else _PATCH_TYPES

    base = f"{prefix}/namespaces/{{namespace}}/{plural}" if namespaced else f"{prefix}/{plural}"
    common = [_path_parameter("namespace", "object name and auth scope, such as for teams and projects")] \
        if namespaced else []
    named = [_path_parameter("name", f"name of the {kind}")]
    body = {"content": _content(kind_name, media), "required": True}
    patch_body = {"content": {media_type: {"schema": _ref(PATCH)} for media_type in patch_types},
                  "required": True}
    delete_body = {"content": _content(DELETE_OPTIONS, _JSON_YAML)}
    list_responses = _responses(list_name, (*media, "application/json;stream=watch"), "200")

    paths: dict[str, dict] = {}
    collection: dict[str, Any] = {}
    if verbs & {"list", "watch"}:
        collection["get"] = _operation("list", f"list{camel}{scope}{kind}", tag, gvk,
                                       f"list or watch objects of kind {kind}", _LIST_PARAMETERS, list_responses)
    if "create" in verbs:
        collection["post"] = _operation("post", f"create{camel}{scope}{kind}", tag, gvk, f"create a {kind}",
                                        _WRITE_PARAMETERS, _responses(kind_name, media, "200", "201", "202"), body)
    if "deletecollection" in verbs:
        collection["delete"] = _operation("deletecollection", f"deletecollection{camel}{scope}{kind}", tag, gvk,
                                          f"delete collection of {kind}", [*_LIST_PARAMETERS, *_DELETE_PARAMETERS],
                                          _responses(STATUS, media, "200"), delete_body)
    if collection:
        paths[base] = {**collection, "parameters": [*common, _PRETTY]}
    item: dict[str, Any] = {}
    if "get" in verbs:
        item["get"] = _operation("get", f"read{camel}{scope}{kind}", tag, gvk, f"read the specified {kind}",
                                 [], _responses(kind_name, media, "200"))
    if "update" in verbs:
        item["put"] = _operation("put", f"replace{camel}{scope}{kind}", tag, gvk, f"replace the specified {kind}",
                                 _WRITE_PARAMETERS, _responses(kind_name, media, "200", "201"), body)
    if "patch" in verbs:
        item["patch"] = _operation("patch", f"patch{camel}{scope}{kind}", tag, gvk,
                                   f"partially update the specified {kind}", _PATCH_PARAMETERS,
                                   _responses(kind_name, media, "200", "201"), patch_body)
    if "delete" in verbs:
        item["delete"] = _operation("delete", f"delete{camel}{scope}{kind}", tag, gvk,
                                    f"delete a {kind}", _DELETE_PARAMETERS,
                                    _responses(STATUS, media, "200", "202"), delete_body)
    if item:
        paths[f"{base}/{{name}}"] = {**item, "parameters": [*named, *common, _PRETTY]}
    if namespaced and verbs & {"list", "watch"}:
        paths[f"{prefix}/{plural}"] = {
            "get": _operation("list", f"list{camel}{kind}ForAllNamespaces", tag, gvk,
                              f"list or watch objects of kind {kind}", _LIST_PARAMETERS, list_responses),
            "parameters": [_PRETTY],
        }
    for sub in entry.get("subresources") or ():
        sub_gvk = {"group": sub["group"], "kind": sub["kind"], "version": sub["version"]}
        sub_name = kind_name if sub_gvk == gvk else _subresource_schema(sub)
        sub_body = {"content": _content(sub_name, media), "required": True}
        operation_name = f"{camel}{scope}{kind}{sub['name'][:1].upper()}{sub['name'][1:]}"
        what = f"{sub['name']} of the specified {kind}"
        operations: dict[str, Any] = {}
        if "get" in sub["verbs"]:
            responses = _stream_responses() if sub.get("stream") else _responses(sub_name, media, "200")
            operations["get"] = _operation("get", f"read{operation_name}", tag, sub_gvk, f"read {what}", [],
                                           responses)
        if "create" in sub["verbs"]:
            operations["post"] = _operation("post", f"create{operation_name}", tag, sub_gvk,
                                            f"create {sub['name']} of a {kind}", _WRITE_PARAMETERS,
                                            _responses(sub_name, media, "200", "201", "202"), sub_body)
        if "update" in sub["verbs"]:
            operations["put"] = _operation("put", f"replace{operation_name}", tag, sub_gvk, f"replace {what}",
                                           _WRITE_PARAMETERS, _responses(sub_name, media, "200", "201"), sub_body)
        if "patch" in sub["verbs"]:
            operations["patch"] = _operation("patch", f"patch{operation_name}", tag, sub_gvk,
                                             f"partially update {what}", _PATCH_PARAMETERS,
                                             _responses(sub_name, media, "200", "201"), patch_body)
        paths[f"{base}/{{name}}/{sub['name']}"] = {**operations, "parameters": [*named, *common, _PRETTY]}
    return paths


def _subresource_schema(sub: Mapping[str, Any]) -> str:
    """The definition of a subresource's own kind (Scale, Binding, Eviction, TokenRequest)."""
    api_version = f"{sub['group']}/{sub['version']}" if sub["group"] else sub["version"]
    return schemas.definition_name_for(api_version, sub["kind"]) or STATUS


def _stream_responses() -> dict:
    return {"200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}},
            "401": {"description": "Unauthorized"}}


# ---------------------------------------------------------------------------------------------- documents

_doc_cache: "OrderedDict[bytes, dict]" = OrderedDict()
_doc_cache_lock = threading.Lock()
_DOC_CACHE_SIZE = 64


def v3_document(group_version: str, kinds: list[dict]) -> dict:
    """The OpenAPI v3 document of one group-version.

    Each entry of `kinds` describes a resource: `group`, `version`, `kind`, `plural`, `namespaced` (bool),
    `schema` (a CRD version's openAPIV3Schema, or None for a built-in kind, whose schema comes from
    kubernetes-validate), optionally `verbs` (all by default) and `subresources`: one entry per subresource with
    its `name`, `verbs`, the `group`, `version` and `kind` it answers, and `stream` (its get answers text).
    Documents are cached by their input and shared: treat the result as read-only.
    """
    key = _canonical([group_version, kinds])
    with _doc_cache_lock:
        cached = _doc_cache.get(key)
        if cached is not None:
            _doc_cache.move_to_end(key)
            return cached
    document = _build_document(group_version, kinds)
    with _doc_cache_lock:
        _doc_cache[key] = document
        while len(_doc_cache) > _DOC_CACHE_SIZE:
            _doc_cache.popitem(last=False)
    return document


def _build_document(group_version: str, kinds: list[dict]) -> dict:
    group, version = split_group_version(group_version)
    components: dict[str, dict] = {}
    paths: dict[str, dict] = {}
    roots = [PATCH, DELETE_OPTIONS, STATUS]
    for entry in sorted(kinds, key=lambda e: (e.get("plural", ""), e.get("kind", ""))):
        entry_group = entry.get("group", group) or ""
        entry_version = entry.get("version", version)
        entry = {**entry, "group": entry_group, "version": entry_version}
        kind = entry["kind"]
        api_version = f"{entry_group}/{entry_version}" if entry_group else entry_version
        builtin_name = schemas.definition_name_for(api_version, kind) if entry.get("schema") is None else None
        if builtin_name is not None:
            kind_name = builtin_name
            list_name = schemas.definition_name_for(api_version, f"{kind}List") or builtin_name
            roots.extend([kind_name, list_name])
            builtin = True
        else:
            kind_name = crd_definition_name(entry_group, entry_version, kind)
            list_name = f"{kind_name}List"
            components[kind_name] = _crd_schema(entry.get("schema"), entry_group, entry_version, kind)
            components[list_name] = _crd_list_schema(kind_name, entry_group, entry_version, kind)
            roots.extend(_v3_references(components[kind_name]))
            roots.extend([OBJECT_META, LIST_META])
            builtin = False
        for sub in entry.get("subresources") or ():
            if (sub["group"], sub["version"], sub["kind"]) != (entry_group, entry_version, kind):
                roots.append(_subresource_schema(sub))
        paths.update(_resource_paths(entry, kind_name, list_name, builtin))
    _add_with_references(components, roots)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": f"v{schemas.schema_version()}.0"},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(components.items()))},
    }


# ---------------------------------------------------------------------------------------------- OpenAPI v2

_v2_cache: "OrderedDict[bytes, dict]" = OrderedDict()
_pb_cache: "OrderedDict[int, tuple[dict, bytes]]" = OrderedDict()


def v2_document(group_versions: Mapping[str, list[dict]]) -> dict:
    """The single Swagger 2.0 document of the whole server (`/openapi/v2`), for every group-version's kinds.

    `group_versions` maps `"v1"`, `"apps/v1"`, ... to the same kind entries `v3_document` takes. Built from the
    v3 documents, with `#/definitions/` references and v2 parameters/bodies/responses. Cached by input and
    shared: treat the result as read-only.
    """
    key = _canonical(group_versions)
    with _doc_cache_lock:
        cached = _v2_cache.get(key)
        if cached is not None:
            _v2_cache.move_to_end(key)
            return cached
    paths: dict[str, dict] = {}
    definitions: dict[str, dict] = {}
    for group_version, kinds in group_versions.items():
        document = v3_document(group_version, kinds)
        for path, item in document["paths"].items():
            paths[path] = _v2_path_item(item)
        for name, schema in document["components"]["schemas"].items():
            if name not in definitions:
                definitions[name] = _v2_schema(schema)
    document = {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": f"v{schemas.schema_version()}.0"},
        "paths": dict(sorted(paths.items())),
        "definitions": dict(sorted(definitions.items())),
    }
    with _doc_cache_lock:
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
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {field: _v2_schema(sub) for field, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_v2_schema(item) for item in value]
        elif key in _SCHEMA_VALUES and isinstance(value, dict):
            out[key] = _v2_schema(value)
        else:
            out[key] = value
    if out.get("type") == "array" and not isinstance(out.get("items"), dict):
        out["items"] = {}  # kube-openapi's v2 parser requires exactly one items schema
    return out


def _v2_parameter(parameter: dict) -> dict:
    schema = parameter.get("schema") or {}
    converted = {k: v for k, v in parameter.items() if k != "schema"}
    converted["type"] = schema.get("type", "string")
    if schema.get("uniqueItems"):
        converted["uniqueItems"] = True
    return converted


def _v2_operation(operation: dict) -> dict:
    converted: dict[str, Any] = {k: operation[k] for k in ("tags", "description", "operationId") if k in operation}
    body = operation.get("requestBody")
    if body:
        converted["consumes"] = list(body.get("content", {}))
    produces: list[str] = []
    responses: dict[str, dict] = {}
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
        media = next(iter(body.get("content", {}).values()), {})
        parameters.insert(0, {"name": "body", "in": "body", "required": bool(body.get("required")),
                              "schema": _v2_schema(media.get("schema", {}))})
    converted["parameters"] = parameters
    converted["responses"] = responses
    converted["schemes"] = ["https"]
    for key, value in operation.items():
        if key.startswith("x-"):
            converted[key] = value
    return converted


def _v2_path_item(item: dict) -> dict:
    converted: dict[str, Any] = {}
    for method in ("get", "put", "post", "delete", "patch"):
        if method in item:
            converted[method] = _v2_operation(item[method])
    if item.get("parameters"):
        converted["parameters"] = [_v2_parameter(p) for p in item["parameters"]]
    return converted


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
    with _doc_cache_lock:
        cached = _pb_cache.get(id(document))
        if cached is not None and cached[0] is document:
            return cached[1]
    encoded = _encode_v2(document)
    with _doc_cache_lock:
        _pb_cache[id(document)] = (document, encoded)  # keeps the document alive, so its id stays unique
        while len(_pb_cache) > 8:
            _pb_cache.popitem(last=False)
    return encoded
