"""The resource endpoints: HTTP verbs on /api and /apis paths translated into registry calls."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from shim.machinery import decoding, errors, typecheck
from shim.machinery.errors import StatusError
from shim.machinery.fields import parse_field_selector
from shim.machinery.labels import parse_label_selector
from shim.machinery.patch import APPLY_PATCH
from shim.machinery.users import User
from shim.registry.options import DeleteOptions, ListOptions, Patch, WriteOptions, Written
from shim.registry.resource import ResourceInfo
from shim.registry.rest import Verbs
from shim.registry.subresource import Subresource
from shim.registry.subresources.proxy import Proxy
from shim.registry.services import PodLogs
from shim.server import negotiation as neg
from shim.server import paths, proxy, watch as watches
from shim.server.auth import Authenticator, Authorizer, impersonate
from shim.server.rendering import Renderer
from shim.server.sessions import Signer
from shim.server.streaming import endpoints as streaming

log = logging.getLogger(__name__)
Obj = dict[str, Any]


@dataclass
class ApiContext:
    """What the resource endpoints need: the verbs layer, auth and limits."""

    verbs: Verbs
    authenticator: Authenticator
    authorizer: Authorizer
    max_body: int = 3 * 1024 * 1024
    bookmark_interval: float = 10.0
    #: signs the web pages' login tickets and session cookies (shim.server.sessions)
    sessions: Signer | None = None

    @property
    def pod_logs(self) -> PodLogs | None:
        """The pods/log reader of the verbs layer's services: the kubelet of this process sets it
        (shim.kubelet.agent); None while no kubelet runs here."""
        return self.verbs.services.pod_logs

    @pod_logs.setter
    def pod_logs(self, reader: PodLogs | None) -> None:
        self.verbs.services.pod_logs = reader


def status_response(err: StatusError, rendering: neg.Rendering | None = None) -> Response:
    headers = {}
    if err.retry_after is not None:
        headers["Retry-After"] = str(err.retry_after)
    if err.code == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="kubeshim"'
    return Response(orjson.dumps(err.status()), status_code=err.code, media_type=neg.JSON, headers=headers)


def page_not_found() -> Response:
    """What upstream's HTTP mux answers for a path no handler serves (a group it does not serve, a path outside
    the API): Go's http.NotFound, in plain text."""
    return PlainTextResponse("404 page not found\n", status_code=404, headers={"X-Content-Type-Options": "nosniff"})


def success_status(info: ResourceInfo, obj: Obj) -> Obj:
    meta = obj.get("metadata", {})
    details = {"name": meta.get("name", ""), "kind": info.plural, "uid": meta.get("uid", "")}
    if info.group:
        details["group"] = info.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


def _int_param(query: Any, key: str) -> int | None:
    value = query.get(key)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise errors.bad_request(f"invalid value for {key}: {value!r}: must be an integer") from None


def _bool_param(query: Any, key: str) -> bool | None:
    value = query.get(key)
    if value is None:
        return None
    if value in ("", "true", "1", "True"):
        return True
    if value in ("false", "0", "False"):
        return False
    raise errors.bad_request(f"invalid value for {key}: {value!r}: must be a boolean")


def _list_options(query: Any, name: str = "") -> ListOptions:
    fields = parse_field_selector(query.get("fieldSelector"))
    if name:
        fields = parse_field_selector(",".join(filter(None, [query.get("fieldSelector"), f"metadata.name={name}"])))
    limit = _int_param(query, "limit") or 0
    if limit < 0:
        raise errors.bad_request("limit must be non-negative")
    return ListOptions(parse_label_selector(query.get("labelSelector")), fields, limit, query.get("continue", ""),
                       query.get("resourceVersion", ""), query.get("resourceVersionMatch", ""))


def _write_options(request: Request, user: User, kind: str) -> WriteOptions:
    """The options of a create, update or patch (`kind`: CreateOptions, UpdateOptions, PatchOptions), validated
    as upstream validates them, every problem in one Invalid."""
    query = request.query_params
    dry_run = query.getlist("dryRun")
    manager = query.get("fieldManager", "")
    validation = query.get("fieldValidation", "")
    causes = []
    if kind == "PatchOptions":
        applying = neg.content_type_of(request.headers.get("content-type")) == APPLY_PATCH
        if not applying and "force" in query:
            causes.append(errors.field_forbidden("force", "may not be specified for non-apply patch"))
        if applying and not manager:
            causes.append(errors.field_required("fieldManager", "is required for apply patch"))
    if len(manager) > 128:
        causes.append(errors.field_too_long("fieldManager", manager, 128))
    causes += [errors.field_invalid("fieldManager", manager, f"invalid character {_go_rune(ch)} (at position {i})")
               for i, ch in enumerate(manager) if not ch.isprintable()]
    if any(value != "All" for value in dry_run):
        causes.append(errors.field_not_supported("dryRun", dry_run, ["All"]))
    if validation not in ("", "Ignore", "Strict", "Warn"):
        causes.append(errors.field_not_supported("fieldValidation", validation, ["", "Ignore", "Strict", "Warn"]))
    if causes:
        raise errors.invalid_options(kind, causes)
    return WriteOptions(bool(dry_run), manager, request.headers.get("user-agent", ""),
                        field_validation=validation or "Warn", user=user)


def _go_rune(ch: str) -> str:
    """`%#U` of a rune that is not printable: U+0007."""
    return f"U+{ord(ch):04X}"


class ResourceEndpoint:
    """One ASGI-facing handler for every resource path."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self.verbs = ctx.verbs
        #: /api/v1/namespaces/{name}/{these} address a namespace's subresource, not a namespaced collection
        self.namespace_subresources = ctx.verbs.resource("", "v1", "namespaces").subresources

    async def __call__(self, request: Request) -> Response:
        try:
            return await self._handle(request)
        except StatusError as err:
            return status_response(err)
        except Exception as exc:  # a bug must still answer a Status, never a traceback
            log.exception("internal error on %s %s", request.method, request.url.path)
            return status_response(errors.internal(type(exc).__name__))

    async def _handle(self, request: Request) -> Response:
        user = impersonate(request, self.ctx.authenticator.authenticate(request), self.ctx.authorizer)
        target = paths.parse(request.url.path, self.namespace_subresources)
        if target is None:
            raise errors.not_served()
        catalog = self.verbs.catalog
        if not catalog.builtin_group(target.group) and catalog.lookup(target.group, target.version,
                                                                      target.plural) is None:
            return page_not_found()
        info = self.verbs.resource(target.group, target.version, target.plural)
        if target.namespace and not info.namespaced:
            raise errors.not_served()
        connected = info.subresources.get(target.subresource) if target.subresource else None
        if isinstance(connected, Proxy):
            return await self._proxy(request, user, info, target, connected)
        if target.subpath.strip("/"):
            raise errors.not_served()
        method = request.method
        query = request.query_params
        is_watch = target.watch_path or (method == "GET" and not target.subresource
                                         and _bool_param(query, "watch") is True)
        verb = _verb(method, target, is_watch)
        if verb is None:
            raise errors.method_not_allowed()
        handler = self.verbs.route(info, target.subresource, verb)
        self.ctx.authorizer.authorize(user, verb, info, target)
        if handler is not None and handler.connects:
            return await streaming.upgrade(request, self.ctx, info, target, handler)
        if typecheck.go_kind(info.api_version, info.kind) is not None:
            _check_route(request, verb, handler)
        if is_watch:
            return await self._watch(request, info, target)
        if method == "GET" and handler is not None and handler.streams:
            stream = await self.verbs.stream(info, target.namespace, target.name, target.subresource, query)
            return StreamingResponse(stream, media_type="text/plain")
        if method == "GET":
            return await (self._get(request, info, target) if target.name else self._list(request, info, target))
        if method == "POST":
            return await self._create(request, info, target, user)
        if method == "PUT":
            return await self._update(request, info, target, user)
        if method == "PATCH":
            return await self._patch(request, info, target, user)
        if method == "DELETE":
            return await (self._delete(request, info, target, user) if target.name
                          else self._delete_collection(request, info, target, user))
        raise errors.method_not_allowed()

    async def _proxy(self, request: Request, user: User, info: ResourceInfo, target: paths.Target,
                     handler: Proxy) -> Response:
        """A request to a proxy subresource, authorized by its method's verb (HEAD reads), then forwarded."""
        verb = "get" if request.method == "HEAD" else _verb(request.method, target, False)
        if verb is None or not target.name:
            raise errors.method_not_allowed()
        self.verbs.route(info, target.subresource, verb)
        self.ctx.authorizer.authorize(user, verb, info, target)
        if request.query_params.getlist("dryRun"):
            raise errors.bad_request("dryRun is not supported")
        location = handler.location(self.verbs, info, target.namespace, target.name)
        return await proxy.forward(request, location, target.subpath)

    # -- bodies and responses -------------------------------------------------------------------------------

    async def _body(self, request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > self.ctx.max_body:
            raise errors.too_large(self.ctx.max_body)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.ctx.max_body:
                raise errors.too_large(self.ctx.max_body)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _object_body(self, request: Request, into: str, opts: WriteOptions) -> Obj:
        """The body of a create or update, which upstream decodes into the kind `into`: its failures in
        upstream's words, repeated keys marked unless fieldValidation=Ignore."""
        body = await self._body(request)
        try:
            obj = neg.decode_body(body, neg.content_type_of(request.headers.get("content-type")),
                                  duplicates=opts.field_validation != "Ignore")
        except decoding.DecodeError as err:
            raise decoding.failure(into, err, body) from None
        problem = decoding.interpret(obj)
        if problem:
            raise decoding.unrecognized(into, problem, body)
        return obj if obj is not None else {}  # `null` decodes to the zero object

    def _renderer(self, request: Request, info: ResourceInfo, single: bool = True) -> Renderer:
        """How answers about `info` are rendered: one object, or (`single` False) a list."""
        rendering = neg.choose(request.headers.get("accept", ""), protobuf_ok=info.strategy.protobuf,
                               single=single)
        if rendering.view != "Table":  # only a Table reads the query; most gets have none to parse
            return Renderer(self.verbs, info, rendering)
        return Renderer(self.verbs, info, rendering, request.query_params.get("includeObject", "Metadata"))

    def _answerer(self, request: Request, info: ResourceInfo,
                  target: paths.Target) -> Callable[[Obj, int], Response]:
        """How an answer of this target is rendered, chosen before the verb runs (upstream negotiates the
        output first): an Accept it cannot serve is a 406 that leaves everything as it was. An answer of the
        resource's own kind is rendered as the client asked (views, YAML, protobuf); a subresource's other
        kinds (Scale, TokenRequest, Status) are plain JSON."""
        handler = info.subresources.get(target.subresource) if target.subresource else info.handler
        if handler is not None and handler.kind is not None:
            return lambda obj, status: self._render_plain(request, obj, status)
        renderer = self._renderer(request, info)
        if handler is not None and not handler.views and renderer.rendering.view:
            raise errors.not_acceptable("application/json, application/yaml, application/vnd.kubernetes.protobuf")
        return lambda obj, status: Response(renderer.object(obj), status_code=status,
                                            media_type=renderer.media_type)

    def _written(self, answer: Callable[[Obj, int], Response], written: Written, status: int = 200) -> Response:
        return _warn(answer(written.object, status), written.warnings)

    # -- verbs -----------------------------------------------------------------------------------------------

    async def _get(self, request: Request, info: ResourceInfo, target: paths.Target) -> Response:
        answer = self._answerer(request, info, target)
        obj = self.verbs.get(info, target.namespace, target.name, subresource=target.subresource)
        return answer(obj, 200)

    def _render_plain(self, request: Request, obj: Obj, status: int = 200) -> Response:
        return Response(orjson.dumps(obj), status_code=status, media_type=neg.JSON)

    async def _list(self, request: Request, info: ResourceInfo, target: paths.Target) -> Response:
        renderer = self._renderer(request, info, single=False)
        if info.handler is not None:
            listed = await self.verbs.list_computed(info, target.namespace, _list_options(request.query_params))
            return Response(renderer.computed_list(listed), media_type=renderer.media_type)
        result = await self.verbs.list(info, target.namespace, _list_options(request.query_params))
        return Response(renderer.list(result), media_type=renderer.media_type)

    async def _watch(self, request: Request, info: ResourceInfo, target: paths.Target) -> Response:
        query = request.query_params
        rendering = neg.choose(request.headers.get("accept", ""), protobuf_ok=False, protobuf_views=False)
        renderer = Renderer(self.verbs, info, rendering, query.get("includeObject", "Metadata"))
        opts = _list_options(query, target.name)
        send_initial = _bool_param(query, "sendInitialEvents")
        if send_initial is not None and not _bool_param(query, "allowWatchBookmarks"):
            raise errors.invalid_options("ListOptions", [errors.field_forbidden(
                "sendInitialEvents", "sendInitialEvents is forbidden for watch unless allowWatchBookmarks=true")])
        timeout = _int_param(query, "timeoutSeconds")
        watch = await self.verbs.watch(info, target.namespace, opts, send_initial_events=send_initial)
        stream = watches.stream(watch, renderer, lambda: self.verbs.registry.store.committed_revision,
                                bookmarks=bool(_bool_param(query, "allowWatchBookmarks")),
                                bookmark_interval=self.ctx.bookmark_interval,
                                timeout=float(timeout) if timeout is not None else 1800.0)
        return StreamingResponse(stream, media_type=neg.JSON,
                                 headers={"Cache-Control": "no-cache, private", "X-Content-Type-Options": "nosniff"})

    async def _create(self, request: Request, info: ResourceInfo, target: paths.Target, user: User) -> Response:
        if target.name and not target.subresource:
            raise errors.method_not_allowed()
        answer = self._answerer(request, info, target)
        opts = _write_options(request, user, "CreateOptions")
        obj = await self._object_body(request, _body_kind(info, target), opts)
        created = await self.verbs.create(info, target.namespace, obj, opts, name=target.name,
                                          subresource=target.subresource)
        return self._written(answer, created, 201)

    async def _update(self, request: Request, info: ResourceInfo, target: paths.Target, user: User) -> Response:
        if not target.name:
            raise errors.method_not_allowed()
        answer = self._answerer(request, info, target)
        opts = _write_options(request, user, "UpdateOptions")
        obj = await self._object_body(request, _body_kind(info, target), opts)
        updated = await self.verbs.update(info, target.namespace, target.name, obj, opts,
                                          subresource=target.subresource)
        return self._written(answer, updated)

    async def _patch(self, request: Request, info: ResourceInfo, target: paths.Target, user: User) -> Response:
        if not target.name:
            raise errors.method_not_allowed()
        answer = self._answerer(request, info, target)
        content_type = neg.content_type_of(request.headers.get("content-type"))
        opts = _write_options(request, user, "PatchOptions")
        body = await self._body(request)
        repeated: list[str] = []
        value = neg.decode_patch(body, content_type, validating=opts.field_validation != "Ignore", repeated=repeated)
        patch = Patch(content_type, value, bool(_bool_param(request.query_params, "force")), tuple(repeated))
        patched = await self.verbs.patch(info, target.namespace, target.name, patch, opts,
                                         subresource=target.subresource)
        return self._written(answer, patched, 201 if patched.created else 200)

    async def _delete(self, request: Request, info: ResourceInfo, target: paths.Target, user: User) -> Response:
        renderer = self._renderer(request, info)  # before deleting: a 406 must leave the object be
        options = await self._delete_options(request, user)
        deleted = await self.verbs.delete(info, target.namespace, target.name, options)
        obj = deleted.object
        if deleted.gone and not info.strategy.returns_deleted_object:
            return _warn(self._render_plain(request, success_status(info, obj)), deleted.warnings)
        status = 200 if deleted.gone or obj["metadata"].get("deletionTimestamp") else 202
        return _warn(Response(renderer.object(obj), status_code=status, media_type=renderer.media_type),
                     deleted.warnings)

    async def _delete_options(self, request: Request, user: User) -> DeleteOptions:
        query = request.query_params
        body = await self._body(request)
        data: Obj = {}
        if body.strip():
            try:
                decoded = neg.decode_body(body, neg.content_type_of(request.headers.get("content-type")))
            except decoding.DecodeError as err:
                raise errors.bad_request(str(err)) from None  # upstream's is a 500, with the same words
            problem = decoding.interpret(decoded)
            if problem:
                raise errors.bad_request(problem)
            data = decoded or {}
        parameters: Obj = {key: query[key] for key in ("gracePeriodSeconds", "propagationPolicy", "orphanDependents")
                           if key in query}
        if query.getlist("dryRun"):
            parameters["dryRun"] = query.getlist("dryRun")
        return DeleteOptions.from_body(data, parameters, user)

    async def _delete_collection(self, request: Request, info: ResourceInfo, target: paths.Target,
                                 user: User) -> Response:
        options = await self._delete_options(request, user)
        deleted = await self.verbs.delete_collection(info, target.namespace, _list_options(request.query_params),
                                                     options)
        return _warn(self._render_plain(request, deleted.object), deleted.warnings)


def _check_route(request: Request, verb: str, handler: Subresource | None) -> None:
    """Upstream serves built-in kinds through its router (go-restful), which answers before any handler when no
    route takes the request's Content-Type (a PATCH's) or produces what its Accept header asks for."""
    if verb == "patch" and neg.content_type_of(request.headers.get("content-type")) not in neg.PATCH_TYPES[:4]:
        raise errors.route_unsupported_media_type()
    produced = (["text/plain"] if handler is not None and handler.streams else []) + neg.ROUTE_TYPES
    if verb in ("list", "watch"):
        produced += neg.STREAM_TYPES
    if not neg.route_accepts(request.headers.get("accept", ""), produced):
        raise errors.route_not_acceptable(produced)


def _body_kind(info: ResourceInfo, target: paths.Target) -> str:
    """The kind a create or update body is decoded into: the resource's, or its subresource's (a Binding)."""
    handler = info.subresources.get(target.subresource) if target.subresource else None
    return handler.kind.kind if handler is not None and handler.kind is not None else info.kind


def _warn(response: Response, warnings: tuple[str, ...]) -> Response:
    for text in warnings:
        response.headers.append("Warning", '299 - "' + text.replace('"', '\\"') + '"')
    return response


def _verb(method: str, target: paths.Target, is_watch: bool) -> str | None:
    """The verb a request asks for; None (405) for a method the path does not take: /watch/ paths serve GET
    alone, as upstream registers them."""
    if is_watch:
        return "watch" if method == "GET" else None
    if method == "GET":
        return "get" if target.name else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if target.name else "deletecollection"
    return None
