"""/openapi/v3, /openapi/v3/<gv> and /openapi/v2, built from the served resources."""
from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from shim.machinery import openapi
from shim.machinery.errors import StatusError
from shim.registry.resource import ResourceInfo

NOT_FOUND = "the server could not find the requested resource"


def _entry(info: ResourceInfo) -> dict[str, Any]:
    subresources = []
    for name, handler in info.subresources.items():
        kind = handler.response_kind(info)
        subresources.append({"name": name, "verbs": list(handler.verbs), "group": kind.group,
                             "version": kind.version, "kind": kind.kind, "stream": handler.streams})
    return {"group": info.group, "version": info.version, "kind": info.kind, "plural": info.plural,
            "namespaced": info.namespaced, "schema": info.strategy.openapi_schema(), "verbs": list(info.verbs),
            "subresources": subresources}


def _by_group_version(ctx: Any) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for info in ctx.verbs.catalog.all():
        out.setdefault(info.api_version, []).append(_entry(info))
    return out


def serve_openapi(ctx: Any, request: Request) -> Response:
    parts = [p for p in request.url.path.split("/") if p][1:]
    docs = _by_group_version(ctx)
    if parts == ["v2"]:
        document = openapi.v2_document(docs)
        if openapi.V2_PROTOBUF_ACCEPT in request.headers.get("accept", "") or \
                openapi.V2_PROTOBUF in request.headers.get("accept", ""):
            return Response(openapi.v2_protobuf(document), media_type=openapi.V2_PROTOBUF)
        return Response(orjson.dumps(document), media_type="application/json")
    if parts == ["v3"]:
        hashes = {gv: openapi.document_hash(openapi.v3_document(gv, kinds)) for gv, kinds in docs.items()}
        return Response(orjson.dumps(openapi.v3_index(list(docs), hashes)), media_type="application/json")
    if len(parts) >= 3 and parts[0] == "v3":
        path = "/".join(parts[1:])
        gv = path[len("api/"):] if path.startswith("api/") else path[len("apis/"):]
        if gv in docs and openapi.gv_path(gv) == path:
            document = openapi.v3_document(gv, docs[gv])
            return Response(orjson.dumps(document), media_type="application/json",
                            headers={"Etag": f'"{openapi.document_hash(document)}"'})
    raise StatusError(404, "NotFound", NOT_FOUND)
