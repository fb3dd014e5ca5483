"""The resource endpoints: HTTP verbs on /api and /apis paths translated into registry calls."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from shim.machinery import errors, tables
from shim.machinery.errors import StatusError
from shim.machinery.fields import parse_field_selector
from shim.machinery.labels import parse_label_selector
from shim.registry import subresources
from shim.registry.options import DeleteOptions, ListOptions, Patch, WriteOptions
from shim.registry.resource import ResourceInfo
from shim.registry.rest import NOT_FOUND_MESSAGE, Verbs, list_metadata, mutation
from shim.server import negotiation as neg
from shim.server import paths, reviews, watch as watches
from shim.server.auth import Authenticator, Authorizer, User, impersonate
from shim.server.printing import table_for
from shim.server.sessions import Signer

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
    #: (pod, PodLogOptions query) -> the log's byte stream; raises StatusError before the first byte. Set by
    #: the kubelet of this process (shim.kubelet.agent); None when no kubelet runs here.
    pod_logs: Callable[[Obj, Mapping[str, str]], Awaitable[AsyncIterator[bytes]]] | None = None
    #: signs the web pages' login tickets and session cookies (shim.server.sessions)
    sessions: Signer | None = None


def status_response(err: StatusError, rendering: neg.Rendering | None = None) -> Response:
    headers = {}
    if err.retry_after is not None:
        headers["Retry-After"] = str(err.retry_after)
    if err.code == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="kubeshim"'
    return Response(orjson.dumps(err.status()), status_code=err.code, media_type=neg.JSON, headers=headers)


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


def _write_options(request: Request) -> WriteOptions:
    dry_run = request.query_params.getlist("dryRun")
    for value in dry_run:
        if value != "All":
            raise errors.bad_request(f'Invalid dry run value: "{value}"; supported values: "All"')
    manager = request.query_params.get("fieldManager", "")
    if len(manager) > 128:
        raise errors.invalid("PatchOptions", "", [errors.field_too_long("fieldManager", manager, 128)],
                             "meta.k8s.io")
    validation = request.query_params.get("fieldValidation") or "Warn"
    if validation not in ("Ignore", "Warn", "Strict"):
        raise errors.bad_request(f"fieldValidation must be one of Ignore, Warn, Strict (got {validation!r})")
    return WriteOptions(bool(dry_run), manager, request.headers.get("user-agent", ""), field_validation=validation)


class ResourceEndpoint:
    """One ASGI-facing handler for every resource path."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

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
        target = paths.parse(request.url.path)
        if target is None:
            raise StatusError(404, "NotFound", NOT_FOUND_MESSAGE)
        info = self.ctx.verbs.resource(target.group, target.version, target.plural)
        if target.namespace and not info.namespaced:
            raise StatusError(404, "NotFound", NOT_FOUND_MESSAGE)
        if target.subresource and target.subresource not in info.subresources:
            raise StatusError(404, "NotFound", NOT_FOUND_MESSAGE)
        method = request.method
        query = request.query_params
        is_watch = target.watch_path or (method == "GET" and not target.subresource
                                         and _bool_param(query, "watch") is True)
        verb = _verb(method, target, is_watch)
        if verb is None:
            raise errors.method_not_allowed()
        if not target.subresource:
            self.ctx.verbs.allow(info, verb)
        self.ctx.authorizer.authorize(user, verb, info, target)
        if target.subresource == "log":
            return await self._pod_log(request, info, target)
        if is_watch:
            return await self._watch(request, info, target)
        if method == "GET":
            return await (self._get(request, info, target) if target.name else self._list(request, info, target))
        if method == "POST":
            return await self._create(request, info, target, user)
        if method == "PUT":
            return await self._update(request, info, target)
        if method == "PATCH":
            return await self._patch(request, info, target)
        if method == "DELETE":
            return await (self._delete(request, info, target) if target.name
                          else self._delete_collection(request, info, target))
        raise errors.method_not_allowed()

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

    async def _object_body(self, request: Request) -> Obj:
        body = await self._body(request)
        if not body:
            raise errors.bad_request("the body of the request was empty")
        obj = neg.decode_body(body, neg.content_type_of(request.headers.get("content-type")))
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        return obj

    def _render(self, request: Request, info: ResourceInfo, obj: Obj, status: int = 200) -> Response:
        rendering = neg.choose(request.headers.get("accept", ""), protobuf_ok=info.crd is None)
        if rendering.view == "Table":
            obj = table_for(info, [obj], {"resourceVersion": obj.get("metadata", {}).get("resourceVersion", "")},
                            request.query_params.get("includeObject", "Metadata"), rendering.version)
        elif rendering.view == "PartialObjectMetadata":
            obj = tables.partial_metadata(obj, rendering.version)
        elif rendering.view:
            raise errors.not_acceptable("application/json;as=Table;g=meta.k8s.io;v=v1, application/json")
        body, media = neg.encode(obj, rendering)
        return Response(body, status_code=status, media_type=media)

    # -- verbs -----------------------------------------------------------------------------------------------

    async def _get(self, request: Request, info: ResourceInfo, target: paths.Target) -> Response:
        obj = self.ctx.verbs.get(info, target.namespace, target.name)
        if target.subresource == "scale":
            return self._render_plain(request, subresources.scale_of(info, obj))
        return self._render(request, info, obj)

    def _render_plain(self, request: Request, obj: Obj, status: int = 200) -> Response:
        return Response(orjson.dumps(obj), status_code=status, media_type=neg.JSON)

    async def _list(self, request: Request, info: ResourceInfo, target: paths.Target) -> Response:
        rendering = neg.choose(request.headers.get("accept", ""), protobuf_ok=info.crd is None)
        opts = _list_options(request.query_params)
        verbs = self.ctx.verbs
        result = await verbs.list(info, target.namespace, opts)
        list_meta = list_metadata(result)
        if rendering.encoding == "json" and not rendering.view and self._raw_ok(info):
            head = orjson.dumps({"kind": info.list_kind, "apiVersion": info.api_version, "metadata": list_meta})
            body = head[:-1] + b',"items":[' + b",".join(e.raw for e in result.entries) + b"]}"
            return Response(body, media_type=neg.JSON)
        if rendering.view == "Table":
            items = [verbs.decode(info, e) for e in result.entries]
            out = table_for(info, items, list_meta, request.query_params.get("includeObject", "Metadata"),
                            rendering.version)
        elif rendering.view in ("PartialObjectMetadataList", "PartialObjectMetadata"):
            items = [verbs.decode(info, e) for e in result.entries]
            out = tables.partial_metadata_list(items, list_meta, rendering.version)
        else:
            out = verbs.list_object(info, result)
        body, media = neg.encode(out, rendering)
        return Response(body, media_type=media)

    @staticmethod
    def _raw_ok(info: ResourceInfo) -> bool:
        return info.from_storage is None and (info.crd is None or info.storage_version)

    async def _watch(self, request: Request, info: ResourceInfo, target: paths.Target) -> Response:
        query = request.query_params
        rendering = neg.choose(request.headers.get("accept", ""), protobuf_ok=False, protobuf_views=False)
        opts = _list_options(query, target.name)
        send_initial = _bool_param(query, "sendInitialEvents")
        if send_initial is not None and not _bool_param(query, "allowWatchBookmarks"):
            raise errors.invalid_options("sendInitialEvents", send_initial,
                                         "sendInitialEvents is forbidden for watch unless allowWatchBookmarks=true")
        timeout = _int_param(query, "timeoutSeconds")
        watch = await self.ctx.verbs.watch(info, target.namespace, opts, send_initial_events=send_initial)
        stream = watches.stream(self.ctx.verbs.registry, watch, rendering,
                                bookmarks=bool(_bool_param(query, "allowWatchBookmarks")),
                                bookmark_interval=self.ctx.bookmark_interval,
                                timeout=float(timeout) if timeout is not None else 1800.0,
                                include_object=query.get("includeObject", "Metadata"),
                                raw_ok=self._raw_ok(info))
        return StreamingResponse(stream, media_type=neg.JSON,
                                 headers={"Cache-Control": "no-cache, private", "X-Content-Type-Options": "nosniff"})

    async def _create(self, request: Request, info: ResourceInfo, target: paths.Target, user: User) -> Response:
        verbs = self.ctx.verbs
        opts = _write_options(request)
        if target.subresource == "binding" or info.plural == "bindings":
            pods = verbs.resource("", "v1", "pods")
            binding = await self._object_body(request)
            binding.setdefault("metadata", {}).setdefault("name", target.name)
            if target.name and binding["metadata"]["name"] != target.name:
                raise errors.bad_request("name in binding does not match the pod name in the URL")
            out = await subresources.bind(verbs.registry, pods, target.namespace, binding, opts)
            return self._render_plain(request, out, 201)
        if target.subresource == "eviction":
            eviction = await self._object_body(request)
            options = DeleteOptions.from_body(eviction.get("deleteOptions") or {})
            await verbs.delete(info, target.namespace, target.name, options)
            return self._render_plain(request, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                                "status": "Success", "code": 201}, 201)
        if target.subresource == "token":
            sa = verbs.registry.get(info, target.namespace, target.name)
            request_obj = await self._object_body(request)
            return self._render_plain(request, self.ctx.authenticator.token_request(sa, request_obj), 201)
        if target.name or target.subresource:
            raise errors.method_not_allowed()
        obj = await self._object_body(request)
        if (info.group, info.plural) in reviews.REVIEW_KINDS:
            return self._render_plain(request, reviews.review(self.ctx.authorizer, user, info.plural, obj), 201)
        created = await verbs.create(info, target.namespace, obj, opts)
        return _warn(self._render(request, info, created.object, 201), created.warnings)

    async def _update(self, request: Request, info: ResourceInfo, target: paths.Target) -> Response:
        if not target.name:
            raise errors.method_not_allowed()
        opts = _write_options(request)
        obj = await self._object_body(request)
        if target.subresource == "scale":
            return await self._write_scale(request, info, target, opts, lambda _current_scale: obj)
        updated = await self.ctx.verbs.update(info, target.namespace, target.name, obj, opts,
                                              subresource=target.subresource)
        return _warn(self._render(request, info, updated.object), updated.warnings)

    async def _patch(self, request: Request, info: ResourceInfo, target: paths.Target) -> Response:
        if not target.name:
            raise errors.method_not_allowed()
        content_type = neg.content_type_of(request.headers.get("content-type"))
        body = await self._body(request)
        patch = Patch(content_type, neg.decode_patch(body, content_type),
                      bool(_bool_param(request.query_params, "force")))
        opts = _write_options(request)
        if target.subresource == "scale":
            return await self._write_scale(request, info, target, opts, mutation(info, patch))
        updated = await self.ctx.verbs.patch(info, target.namespace, target.name, patch, opts,
                                             subresource=target.subresource)
        return _warn(self._render(request, info, updated.object), updated.warnings)

    async def _write_scale(self, request: Request, info: ResourceInfo, target: paths.Target, opts: WriteOptions,
                           new_scale: Callable[[Obj], Obj]) -> Response:
        """PUT or PATCH of /scale: the new Scale (from the current one) written back into the object."""
        def rescale(current: Obj) -> Obj:
            return subresources.set_scale(info, current, new_scale(subresources.scale_of(info, current)))
        updated = await self.ctx.verbs.registry.update_with(info, target.namespace, target.name, rescale, opts,
                                                            subresource="scale")
        return _warn(self._render_plain(request, subresources.scale_of(info, updated.object)), updated.warnings)

    async def _delete(self, request: Request, info: ResourceInfo, target: paths.Target) -> Response:
        options = await self._delete_options(request)
        obj, gone = await self.ctx.verbs.delete(info, target.namespace, target.name, options)
        if gone and not info.strategy.returns_deleted_object:
            return self._render_plain(request, success_status(info, obj))
        return self._render(request, info, obj, 200 if gone or obj["metadata"].get("deletionTimestamp") else 202)

    async def _delete_options(self, request: Request) -> DeleteOptions:
        query = request.query_params
        body = await self._body(request)
        data: Obj = {}
        if body.strip():
            decoded = neg.decode_body(body, neg.content_type_of(request.headers.get("content-type")))
            if not isinstance(decoded, dict):
                raise errors.bad_request("DeleteOptions must be an object")
            data = decoded
        for key in ("gracePeriodSeconds", "propagationPolicy", "orphanDependents"):
            if key in query:
                data[key] = query[key]
        if query.getlist("dryRun"):
            data["dryRun"] = query.getlist("dryRun")
        return DeleteOptions.from_body(data)

    async def _delete_collection(self, request: Request, info: ResourceInfo, target: paths.Target) -> Response:
        options = await self._delete_options(request)
        deleted = await self.ctx.verbs.delete_collection(info, target.namespace, _list_options(request.query_params),
                                                         options)
        return self._render_plain(request, deleted)

    async def _pod_log(self, request: Request, info: ResourceInfo, target: paths.Target) -> Response:
        if request.method != "GET":
            raise errors.method_not_allowed()
        pod = self.ctx.verbs.registry.get(info, target.namespace, target.name)
        return StreamingResponse(await read_pod_log(self.ctx, pod, request.query_params), media_type="text/plain")


async def read_pod_log(ctx: ApiContext, pod: Obj, query: Mapping[str, str]) -> AsyncIterator[bytes]:
    """The pod's log as PodLogOptions in `query` select it (validated before the first byte)."""
    if ctx.pod_logs is None:
        raise errors.bad_request(f"pod {pod['metadata']['name']} has no logs: no kubelet runs here")
    return await ctx.pod_logs(pod, query)


def _warn(response: Response, warnings: tuple[str, ...]) -> Response:
    for text in warnings:
        response.headers.append("Warning", '299 - "' + text.replace('"', '\\"') + '"')
    return response


def _verb(method: str, target: paths.Target, is_watch: bool) -> str | None:
    if is_watch:
        return "watch"
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
