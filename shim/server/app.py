"""The HTTP application: health, version, discovery, OpenAPI, service account issuer discovery, the resource
endpoints and the log pages."""
from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from shim.machinery import errors
from shim.machinery.errors import StatusError
from shim.server import discovery, logpages, oidc
from shim.server.resources import ApiContext, ResourceEndpoint, page_not_found, status_response
from shim.server.streaming.endpoints import WebSocketEndpoint

log = logging.getLogger(__name__)

KUBE_VERSION = {"major": "1", "minor": "34", "emulationMajor": "1", "emulationMinor": "34",
                "minCompatibilityMajor": "1", "minCompatibilityMinor": "33", "gitVersion": "v1.34.1+kubeshim",
                "gitCommit": "kubeshim", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "go1.24", "compiler": "gc", "platform": "linux/amd64"}


def _json(obj: Any, media_type: str = "application/json") -> Response:
    return Response(orjson.dumps(obj), media_type=media_type)


class DiscoveryEndpoint:
    """/api, /api/v1, /apis, /apis/G, /apis/G/V; anything deeper is a resource request."""

    def __init__(self, ctx: ApiContext, resources: ResourceEndpoint) -> None:
        self.ctx = ctx
        self.resources = resources

    async def __call__(self, request: Request) -> Response:
        parts = [p for p in request.url.path.split("/") if p]
        legacy = parts[0] == "api"
        depth = len(parts) - 1
        if (legacy and depth >= 2) or (not legacy and depth >= 3):
            return await self.resources(request)
        try:
            self.ctx.authenticator.authenticate(request)
            if self._unrouted(parts):
                return page_not_found()
            if request.method != "GET":
                raise errors.method_not_allowed()
            return self._discovery(request, parts, legacy)
        except StatusError as err:
            return status_response(err)

    def _unrouted(self, parts: list[str]) -> bool:
        """/apis/G or /apis/G/V that upstream's router does not own, so its HTTP mux answers: G serves no built-in
        resource, and no custom resource is served in G (at V)."""
        if parts[0] != "apis" or len(parts) < 2 or self.ctx.verbs.catalog.builtin_group(parts[1]):
            return False
        versions = self.ctx.verbs.catalog.groups().get(parts[1], [])
        return not versions or (len(parts) > 2 and parts[2] not in versions)

    def _discovery(self, request: Request, parts: list[str], legacy: bool) -> Response:
        catalog = self.ctx.verbs.catalog
        depth = len(parts) - 1
        if depth == 0:
            version = discovery.wants_aggregated(request.headers.get("accept", ""))
            if version:
                return _json(discovery.aggregated(catalog, legacy, version),
                             f"application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
            return _json(discovery.api_versions() if legacy else discovery.api_group_list(catalog))
        if legacy:
            doc = discovery.resource_list(catalog, "", parts[1])
        elif depth == 1:
            doc = discovery.api_group(catalog, parts[1])
        else:
            doc = discovery.resource_list(catalog, parts[1], parts[2])
        if doc is None:
            raise errors.not_served()
        return _json(doc)


def build_app(ctx: ApiContext, lifespan: Any = None) -> Starlette:
    """The ASGI app: plain Starlette routes (FastAPI's base). FastAPI itself is not loaded: its import alone
    costs 20 MB of the 80 MB idle budget, and its validation layer has nothing to do on this path."""
    app = Starlette(lifespan=lifespan)
    resources = ResourceEndpoint(ctx)
    discovery_handler = DiscoveryEndpoint(ctx, resources)

    async def discovery_endpoint(request: Request) -> Response:
        return await discovery_handler(request)
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    async def ok(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def version(request: Request) -> Response:
        return _json(KUBE_VERSION)

    async def openapi(request: Request) -> Response:
        from shim.server.openapi_routes import serve_openapi
        try:
            ctx.authenticator.authenticate(request)
            return serve_openapi(ctx, request)
        except StatusError as err:
            return status_response(err)

    async def not_found(request: Request) -> Response:
        """A path outside the API: authenticated and authorized as a non-resource URL, then the mux's 404."""
        try:
            user = ctx.authenticator.authenticate(request)
            if not ctx.authorizer.allows_path(user, request.method.lower(), request.url.path):
                raise errors.forbidden("", "", f'User "{user.name}" cannot {request.method.lower()} path '
                                               f'"{request.url.path}"')
        except StatusError as err:
            return status_response(err)
        return page_not_found()

    app.router.routes.extend([
        Route("/healthz", ok), Route("/livez", ok), Route("/readyz", ok),
        Route("/healthz/{check:path}", ok), Route("/livez/{check:path}", ok), Route("/readyz/{check:path}", ok),
        Route("/version", version), Route("/version/", version),
        Route("/api", discovery_endpoint, methods=methods), Route("/apis", discovery_endpoint, methods=methods),
        Route("/api/{rest:path}", discovery_endpoint, methods=methods),
        Route("/apis/{rest:path}", discovery_endpoint, methods=methods),
        Route("/openapi/{rest:path}", openapi),
        WebSocketRoute("/api/v1/namespaces/{namespace}/pods/{name}/{subresource}", WebSocketEndpoint(ctx)),
        *oidc.routes(ctx),
        *logpages.routes(ctx),
        Route("/{rest:path}", not_found, methods=methods),
    ])
    return app
