"""OpenAPI v3: one document per group-version, the `/openapi/v3` index and the hashes clients cache by."""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any, Iterable, Mapping

from shim.machinery import schemas
from shim.machinery.openapi.definitions import add_with_references, crd_list_schema, crd_schema, v3_references
from shim.machinery.openapi.names import (DELETE_OPTIONS, LIST_META, OBJECT_META, PATCH, STATUS, Obj, canonical,
                                          crd_definition_name, gv_path, split_group_version)
from shim.machinery.openapi.operations import resource_paths, subresource_schema


def document_hash(document: Mapping[str, Any]) -> str:
    """Upper-case hex SHA-512 of the document's canonical JSON (the `hash` query value clients cache by)."""
    return hashlib.sha512(canonical(document)).hexdigest().upper()


def v3_index(group_versions: Iterable[str] | Mapping[str, str], hashes: Mapping[str, str] | None = None) -> Obj:
    """The `/openapi/v3` index.

    `group_versions` lists `"v1"`, `"apps/v1"`, ...; `hashes` (or `group_versions` itself when it is a mapping)
    gives each one's `document_hash`. A group-version without a hash gets one derived from its name and the
    schema version, which is only right for documents that never change while the server runs.
    """
    if isinstance(group_versions, Mapping):
        hashes = {**group_versions, **(hashes or {})}
    paths: dict[str, Obj] = {}
    for group_version in group_versions:
        path = gv_path(group_version)
        digest = (hashes or {}).get(group_version)
        if not digest:
            digest = hashlib.sha512(f"{schemas.schema_version()}:{path}".encode()).hexdigest().upper()
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": dict(sorted(paths.items()))}


_doc_cache: "OrderedDict[bytes, Obj]" = OrderedDict()
_lock = threading.Lock()
_DOC_CACHE_SIZE = 64


def v3_document(group_version: str, kinds: list[Obj]) -> Obj:
    """The OpenAPI v3 document of one group-version.

    Each entry of `kinds` describes a resource: `group`, `version`, `kind`, `plural`, `namespaced` (bool),
    `schema` (a CRD version's openAPIV3Schema, or None for a built-in kind, whose schema comes from
    kubernetes-validate), optionally `verbs` (all by default) and `subresources`: one entry per subresource with
    its `name`, `verbs`, the `group`, `version` and `kind` it answers, and `stream` (its get answers text).
    Documents are cached by their input and shared: treat the result as read-only.
    """
    key = canonical([group_version, kinds])
    with _lock:
        cached = _doc_cache.get(key)
        if cached is not None:
            _doc_cache.move_to_end(key)
            return cached
    document = _build_document(group_version, kinds)
    with _lock:
        _doc_cache[key] = document
        while len(_doc_cache) > _DOC_CACHE_SIZE:
            _doc_cache.popitem(last=False)
    return document


def _build_document(group_version: str, kinds: list[Obj]) -> Obj:
    group, version = split_group_version(group_version)
    components: dict[str, Obj] = {}
    paths: dict[str, Obj] = {}
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
            components[kind_name] = crd_schema(entry.get("schema"), entry_group, entry_version, kind)
            components[list_name] = crd_list_schema(kind_name, entry_group, entry_version, kind)
            roots.extend(v3_references(components[kind_name]))
            roots.extend([OBJECT_META, LIST_META])
            builtin = False
        for sub in entry.get("subresources") or ():
            if (sub["group"], sub["version"], sub["kind"]) != (entry_group, entry_version, kind):
                roots.append(subresource_schema(sub))
        paths.update(resource_paths(entry, kind_name, list_name, builtin))
    add_with_references(components, roots)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": f"v{schemas.schema_version()}.0"},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(components.items()))},
    }
