"""What the fuzzer knows of the API: every operation and schema of kubeshim's own OpenAPI v3 documents.

`load` reads /openapi/v3 and each group version's document; an `Operation` is one verb on one path (a resource,
a named object, a subresource), with the query parameters it declares and the schema of the object it reads
or writes. The deprecated /watch/ paths, which the v3 documents leave out, are added for every list.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

Obj = dict[str, Any]
VERBS = ("get", "put", "post", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # a template: /api/v1/namespaces/{namespace}/pods/{name}/status
    action: str  # x-kubernetes-action: get, list, post, put, patch, delete, deletecollection, watch
    query: tuple[str, ...]
    body: str | None  # the schema of the body it takes (components/schemas name), None without one
    kind: str | None  # the schema of the object it is about (patches, subresources), from its group-version-kind

    @property
    def label(self) -> str:
        """The operation in reports: method and template."""
        return f"{self.method} {self.path}"


@dataclass
class Spec:
    operations: list[Operation]
    schemas: dict[str, Obj]

    def schema(self, name: str | None) -> Obj:
        return self.schemas.get(name or "", {})


def _ref_name(node: Any) -> str | None:
    ref = node.get("$ref") if isinstance(node, dict) else None
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def load(http: httpx.Client) -> Spec:
    """The operations of every group version kubeshim serves, in document order (deterministic)."""
    operations: list[Operation] = []
    schemas: dict[str, Obj] = {}
    by_gvk: dict[tuple[str, str, str], str] = {}
    documents = []
    for gv in sorted(http.get("/openapi/v3").json()["paths"]):
        doc = http.get(f"/openapi/v3/{gv}").json()
        documents.append(doc)
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            schemas[name] = schema
            for gvk in schema.get("x-kubernetes-group-version-kind") or ():
                by_gvk[(gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", ""))] = name
    for doc in documents:
        for path, item in doc["paths"].items():
            shared = [p["name"] for p in item.get("parameters", []) if p.get("in") == "query"]
            for method in VERBS:
                op = item.get(method)
                if op is None:
                    continue
                query = tuple(dict.fromkeys(shared + [p["name"] for p in op.get("parameters", [])
                                                      if p.get("in") == "query"]))
                content = (op.get("requestBody") or {}).get("content") or {}
                body = next((_ref_name(c.get("schema")) for c in content.values()), None)
                gvk = op.get("x-kubernetes-group-version-kind") or {}
                kind = by_gvk.get((gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", "")))
                action = op.get("x-kubernetes-action", method)
                operations.append(Operation(method.upper(), path, action, query, body, kind))
                if action == "list":
                    parts = path.split("/")
                    at = 3 if path.startswith("/api/") else 4  # after /api/v1 or /apis/G/V
                    watch_path = "/".join(parts[:at] + ["watch"] + parts[at:])
                    operations.append(Operation("GET", watch_path, "watch", query, None, kind))
    return Spec(operations, schemas)
