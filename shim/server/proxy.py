"""Forwarding of pods/proxy, services/proxy and nodes/proxy requests (upstream's UpgradeAwareHandler with its
rewriting transport, k8s.io/apimachinery/pkg/util/proxy).

The registry says where a request goes (shim.registry.subresources.proxy); this sends it there with its method,
query, headers (less the caller's credentials and hop-by-hop headers) and body, and streams the answer back.
A bare proxy path read with GET or HEAD is redirected to the same path with a trailing slash; a backend's
redirect to a path of its own is rewritten to go through the proxy again; a backend that cannot be reached is
upstream's 503 ServiceUnavailable, "error trying to reach service: ...". HTML bodies are passed through as
they are (upstream rewrites their links) and connection upgrades are not proxied.
"""
from __future__ import annotations

import posixpath
import urllib.parse
from collections.abc import AsyncIterator

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from shim.machinery import errors
from shim.registry.subresources.proxy import Location

#: headers of one connection (RFC 9110), and the caller's credentials, which the API server consumed
DROPPED = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
                     "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length", "authorization",
                     "impersonate-user", "impersonate-group", "impersonate-uid"})
TIMEOUT = httpx.Timeout(connect=30.0, read=None, write=None, pool=None)


def _headers(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in pairs if k.lower() not in DROPPED and not k.lower().startswith("impersonate-extra-")]


def _dial_error(location: Location, exc: Exception) -> errors.StatusError:
    """The transport's failure in the words of Go's dialer where it has them."""
    address = f"{location.host}:{location.port or (443 if location.scheme == 'https' else 80)}"
    if _refused(exc):
        detail = f"dial tcp {address}: connect: connection refused"
    elif isinstance(exc, httpx.TimeoutException):
        detail = f"dial tcp {address}: i/o timeout"
    else:
        detail = f"dial tcp {address}: {exc}" if isinstance(exc, httpx.ConnectError) else str(exc) or type(exc).__name__
    return errors.unavailable(f"error trying to reach service: {detail}")


def _refused(exc: BaseException | None) -> bool:
    """Whether the connection was refused, somewhere in the exception's chain (httpx wraps the OSError)."""
    while exc is not None:
        if isinstance(exc, ConnectionRefusedError) or "refused" in str(exc).lower():
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def rewrite_location(value: str, backend: str, request_host: str, prefix: str) -> str:
    """A backend's redirect target as the client must follow it: an absolute path on the backend's (or the
    request's) host goes through the proxy prefix; a relative one or another host's is kept (rewriteURL)."""
    url = urllib.parse.urlsplit(value)
    if (url.netloc and url.netloc not in (backend, request_host)) or not url.path.startswith("/"):
        return value
    path = url.path
    if not path.startswith(prefix):
        path = posixpath.join(prefix, path.lstrip("/"))
        if url.path.endswith("/") and not path.endswith("/"):
            path += "/"
    return urllib.parse.urlunsplit(("", "", path, url.query, url.fragment))


async def forward(request: Request, location: Location, subpath: str) -> Response:
    """`request` sent to `subpath` at `location`, its answer streamed back."""
    query = request.url.query
    if not subpath and request.method in ("GET", "HEAD"):
        return Response(status_code=301, headers={"Location": request.url.path + "/" + (f"?{query}" if query else "")})
    prefix = request.url.path[:len(request.url.path) - len(subpath)] if subpath else request.url.path
    host = f"{location.host}:{location.port}" if location.port else location.host
    if ":" in location.host:
        host = f"[{location.host}]:{location.port}" if location.port else f"[{location.host}]"
    path = urllib.parse.quote(subpath or "/", safe="/:@!$&'()*+,;=~")
    target = urllib.parse.urlunsplit((location.scheme, host, path, query, ""))
    headers = _headers(list(request.headers.items()))
    client_ip = request.client.host if request.client else ""
    headers += [("X-Forwarded-Uri", request.url.path), ("X-Forwarded-For", client_ip)]
    client = httpx.AsyncClient(verify=False, timeout=TIMEOUT, follow_redirects=False)
    try:
        body = await request.body()
        upstream = await client.send(client.build_request(request.method, target, headers=headers, content=body),
                                     stream=True)
    except (httpx.HTTPError, OSError) as exc:
        await client.aclose()
        raise _dial_error(location, exc) from None
    out_headers = _headers(list(upstream.headers.items()))
    out_headers = [(k, rewrite_location(v, host, request.headers.get("host", ""), prefix) if k.lower() == "location"
                    else v) for k, v in out_headers]

    async def close() -> None:
        await upstream.aclose()
        await client.aclose()

    async def chunks() -> AsyncIterator[bytes]:
        async for chunk in upstream.aiter_raw():
            yield chunk

    response = StreamingResponse(chunks(), status_code=upstream.status_code, background=BackgroundTask(close))
    for key, value in out_headers:
        response.headers.append(key, value)
    return response
