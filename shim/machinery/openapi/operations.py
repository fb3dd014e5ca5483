"""The paths and operations of one resource: an operation per declared verb, and its subresources'."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from shim.machinery import schemas
from shim.machinery.openapi.definitions import ref
from shim.machinery.openapi.names import DELETE_OPTIONS, PATCH, STATUS, Obj, group_camel, group_tag


def _query(name: str, description: str, kind: str = "string") -> Obj:
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


def _path_parameter(name: str, description: str) -> Obj:
    return {"name": name, "in": "path", "description": description, "required": True,
            "schema": {"type": "string", "uniqueItems": True}}


def _content(schema_name: str, media_types: Iterable[str]) -> Obj:
    return {media_type: {"schema": ref(schema_name)} for media_type in media_types}


def _responses(schema_name: str, media_types: Iterable[str], *codes: str) -> Obj:
    media_types = tuple(media_types)
    responses = {code: {"description": {"200": "OK", "201": "Created", "202": "Accepted"}[code],
                        "content": _content(schema_name, media_types)} for code in codes}
    responses["401"] = {"description": "Unauthorized"}
    return responses


def _operation(action: str, operation_id: str, tag: str, gvk: Obj, description: str,
               parameters: list[Obj], responses: Obj, request_body: Obj | None = None) -> Obj:
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


def resource_paths(entry: Mapping[str, Any], kind_name: str, list_name: str, builtin: bool) -> dict[str, Obj]:
    """The paths of one resource: an operation for each verb it declares, then its subresources'."""
    group = entry.get("group", "") or ""
    version = entry["version"]
    kind = entry["kind"]
    plural = entry["plural"]
    namespaced = bool(entry.get("namespaced", True))
    verbs = set(entry.get("verbs") or ALL_VERBS)
    prefix = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    tag = group_tag(group, version)
    camel = group_camel(group) + version[:1].upper() + version[1:]
    scope = "Namespaced" if namespaced else ""
    gvk = {"group": group, "kind": kind, "version": version}
    media = _WITH_PROTOBUF if builtin else _JSON_YAML
    patch_types = _BUILTIN_PATCH_TYPES if builtin else _PATCH_TYPES

    base = f"{prefix}/namespaces/{{namespace}}/{plural}" if namespaced else f"{prefix}/{plural}"
    common = [_path_parameter("namespace", "object name and auth scope, such as for teams and projects")] \
        if namespaced else []
    named = [_path_parameter("name", f"name of the {kind}")]
    body = {"content": _content(kind_name, media), "required": True}
    patch_body = {"content": {media_type: {"schema": ref(PATCH)} for media_type in patch_types},
                  "required": True}
    delete_body = {"content": _content(DELETE_OPTIONS, _JSON_YAML)}
    list_responses = _responses(list_name, (*media, "application/json;stream=watch"), "200")

    paths: dict[str, Obj] = {}
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
        sub_name = kind_name if sub_gvk == gvk else subresource_schema(sub)
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


def subresource_schema(sub: Mapping[str, Any]) -> str:
    """The definition of a subresource's own kind (Scale, Binding, Eviction, TokenRequest)."""
    api_version = f"{sub['group']}/{sub['version']}" if sub["group"] else sub["version"]
    return schemas.definition_name_for(api_version, sub["kind"]) or STATUS


def _stream_responses() -> Obj:
    return {"200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}},
            "401": {"description": "Unauthorized"}}
