"""The HTTP client: the API verbs against any kube-apiserver (kubeshim or real), same semantics as LocalClient.

This is what lets the kubelet run on a machine other than the API server's: it needs nothing but a kubeconfig.
Requests are plain JSON over HTTP/1.1 keep-alive (one pooled connection per concurrent request or watch).
Every non-2xx answer becomes the `StatusError` the server described, so callers handle errors exactly as
they do in-process; transport failures (refused connection, reset stream) stay httpx exceptions, because no
server answered and callers back off and relist on those.
"""
from __future__ import annotations

import base64
import ipaddress
import ssl
import tempfile
import time
from pathlib import Path
from typing import Any, AsyncIterator, Generator
from urllib.parse import urlsplit

import httpx
import orjson
import yaml

from shim.clients.base import Resource, WatchEvent
from shim.machinery.errors import StatusError

Obj = dict[str, Any]

JSON = "application/json"

# What client-go says when a failure carries no Status body (apimachinery NewGenericServerResponse).
_GENERIC: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "the server rejected our request for an unknown reason"),
    401: ("Unauthorized", "the server has asked for the client to provide credentials"),
    403: ("Forbidden", "the server does not allow access to the requested resource"),
    404: ("NotFound", "the server could not find the requested resource"),
    405: ("MethodNotAllowed", "the server does not allow this method on the requested resource"),
    406: ("NotAcceptable", "the server was unable to respond with a content type that the client supports"),
    409: ("Conflict", "the server reported a conflict"),
    410: ("Gone", "the server reported that the requested resource is gone"),
    413: ("RequestEntityTooLarge", "the server has rejected the request because it is too large"),
    415: ("UnsupportedMediaType", "the server was unable to handle the media type of the request"),
    422: ("Invalid", "the server rejected our request due to an error in our request"),
    429: ("TooManyRequests", "the server has received too many requests and has asked us to try again later"),
    500: ("InternalError", "an error on the server has prevented the request from succeeding"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    504: ("Timeout", "the server was unable to return a response in the time allotted, but may still be "
                     "processing the request"),
}


def status_error(status: Obj, code: int = 500) -> StatusError:
    """A metav1 Status (from a response body or a watch ERROR event) as the error LocalClient would raise."""
    details = status.get("details") or {}
    return StatusError(int(status.get("code") or code), status.get("reason") or "", status.get("message") or "",
                       name=details.get("name"), group=details.get("group"), kind=details.get("kind"),
                       causes=details.get("causes"), retry_after=details.get("retryAfterSeconds"))


def response_error(response: httpx.Response, body: bytes) -> StatusError:
    """The server's Status for a non-2xx answer, or a generic one when a proxy or load balancer answered."""
    try:
        decoded = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        decoded = None
    if isinstance(decoded, dict) and decoded.get("kind") == "Status":
        return status_error(decoded, response.status_code)
    code = response.status_code
    reason, message = _GENERIC.get(code, ("Unknown", f"an error on the server (\"{response.reason_phrase}\") "
                                                      "has prevented the request from succeeding"))
    text = body.decode(errors="replace").strip()[:1024]
    retry = response.headers.get("Retry-After", "")
    return StatusError(code, reason, message,
                       causes=[{"reason": "UnexpectedServerResponse", "message": text}] if text else None,
                       retry_after=int(retry) if retry.isdigit() else None)


def resource_path(resource: Resource, namespace: str = "", name: str = "", subresource: str = "") -> str:
    """/api/v1 for the core group, /apis/{group}/{version} otherwise; a namespace makes the path namespaced."""
    path = f"/apis/{resource.group}/{resource.version}" if resource.group else f"/api/{resource.version}"
    if namespace:
        path += f"/namespaces/{namespace}"
    path += f"/{resource.plural}"
    if name:
        path += f"/{name}"
    if subresource:
        path += f"/{subresource}"
    return path


class _TokenFile(httpx.Auth):
    """A bearer token re-read from its file every minute, as client-go does for rotated (bound) tokens."""

    def __init__(self, path: Path) -> None:
        self.path, self.token, self.read_at = path, "", 0.0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if time.monotonic() - self.read_at > 60:
            self.token, self.read_at = self.path.read_text().strip(), time.monotonic()
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


class RemoteClient:
    """`shim.clients.base.Client` over HTTP(S) to a kube-apiserver."""

    def __init__(self, http: httpx.AsyncClient, *, manager: str = "kubeshim", namespace: str = "default") -> None:
        """Take a ready httpx client (base_url, TLS and auth set) so tests can hand in any transport."""
        self.http = http
        self.manager = manager
        #: the kubeconfig context's namespace, for callers that want kubectl's default
        self.namespace = namespace

    @classmethod
    def from_kubeconfig(cls, path: str | Path, context: str | None = None, *, manager: str = "kubeshim",
                        timeout: float = 30.0) -> RemoteClient:
        """Server, TLS and credentials of one context (default: current-context), as kubectl would use them.

        Supported: certificate-authority(-data), insecure-skip-tls-verify, proxy-url, token, tokenFile,
        client-certificate(-data)/client-key(-data), username/password. Not supported: exec and auth-provider
        plugins.
        """
        path = Path(path).expanduser()
        config = yaml.safe_load(path.read_text()) or {}
        ctx_name = context or config.get("current-context", "")
        ctx = _named(config, "contexts", ctx_name, "context")
        cluster = _named(config, "clusters", ctx.get("cluster", ""), "cluster")
        user = _named(config, "users", ctx.get("user", ""), "user") if ctx.get("user") else {}
        base = path.parent
        server = cluster.get("server", "")
        if not server:
            raise ValueError(f"{path}: cluster {ctx.get('cluster')!r} has no server")

        headers = {"Accept": JSON, "User-Agent": f"{manager} (kubeshim RemoteClient)"}
        auth: httpx.Auth | None = None
        if user.get("token"):
            headers["Authorization"] = f"Bearer {user['token']}"
        elif user.get("tokenFile"):
            auth = _TokenFile(base / user["tokenFile"])
        elif user.get("username"):
            auth = httpx.BasicAuth(user["username"], user.get("password", ""))
        host = urlsplit(server).hostname or ""
        http = httpx.AsyncClient(
            base_url=server, headers=headers, auth=auth, verify=_ssl_context(cluster, user, base),
            http1=True, http2=False, timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=32),
            proxy=cluster.get("proxy-url"),
            # Go's ProxyFromEnvironment never proxies loopback; httpx would, and break a local kubeshim.
            trust_env=not _loopback(host))
        return cls(http, manager=manager, namespace=ctx.get("namespace") or "default")

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> RemoteClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _request(self, method: str, path: str, *, body: Any = None, content_type: str = JSON,
                       params: dict[str, str] | None = None) -> Obj:
        content = orjson.dumps(body) if body is not None else None
        headers = {"Content-Type": content_type} if content is not None else None
        response = await self.http.request(method, path, params=params, content=content, headers=headers)
        if not response.is_success:
            raise response_error(response, response.content)
        return orjson.loads(response.content) if response.content else {}

    def _write_params(self) -> dict[str, str]:
        return {"fieldManager": self.manager} if self.manager else {}

    async def get(self, resource: Resource, name: str, namespace: str = "") -> Obj:
        return await self._request("GET", resource_path(resource, namespace, name))

    async def list(self, resource: Resource, namespace: str = "", *, label_selector: str = "",
                   field_selector: str = "") -> Obj:
        return await self._request("GET", resource_path(resource, namespace),
                                   params=_selectors(label_selector, field_selector))

    async def watch(self, resource: Resource, namespace: str = "", *, resource_version: str = "",
                    label_selector: str = "", field_selector: str = "",
                    timeout_seconds: int | None = None) -> AsyncIterator[WatchEvent]:
        """Events of the chunked stream, one JSON object a line, until the server ends it.

        ERROR events (e.g. 410 Expired from a real apiserver mid-stream) raise StatusError, as the initial
        answer does. `timeout_seconds` asks the server to end the watch (client-go reflectors use 5-10 min).
        """
        params = {"watch": "true", **_selectors(label_selector, field_selector)}
        if resource_version:
            params["resourceVersion"] = resource_version
        if timeout_seconds is not None:
            params["timeoutSeconds"] = str(timeout_seconds)
        base = self.http.timeout  # a watch is idle between events for as long as nothing changes: no read timeout
        timeout = httpx.Timeout(connect=base.connect, read=None, write=base.write, pool=base.pool)
        async with self.http.stream("GET", resource_path(resource, namespace), params=params, timeout=timeout) as r:
            if not r.is_success:
                raise response_error(r, await r.aread())
            async for line in r.aiter_lines():
                if not line.strip():
                    continue
                event = orjson.loads(line)
                if event.get("type") == "ERROR":
                    raise status_error(event.get("object") or {})
                yield WatchEvent(event["type"], event["object"])

    async def create(self, resource: Resource, obj: Obj, namespace: str = "", *, subresource: str = "") -> Obj:
        """POST to the collection, or to a subresource of the object obj names (pods/{name}/binding)."""
        meta = obj.get("metadata") or {}
        namespace = namespace or meta.get("namespace", "")
        path = resource_path(resource, namespace, meta.get("name", "") if subresource else "", subresource)
        return await self._request("POST", path, body=obj, params=self._write_params())

    async def update(self, resource: Resource, obj: Obj, *, subresource: str = "") -> Obj:
        meta = obj.get("metadata") or {}
        path = resource_path(resource, meta.get("namespace", ""), meta.get("name", ""), subresource)
        return await self._request("PUT", path, body=obj, params=self._write_params())

    async def patch(self, resource: Resource, name: str, patch: Any, *, namespace: str = "",
                    patch_type: str = "application/merge-patch+json", subresource: str = "") -> Obj:
        """PATCH with the patch's own media type; the server answers 415 for types it does not take."""
        return await self._request("PATCH", resource_path(resource, namespace, name, subresource), body=patch,
                                   content_type=patch_type, params=self._write_params())

    async def delete(self, resource: Resource, name: str, namespace: str = "", *,
                     grace_period_seconds: int | None = None, uid: str | None = None,
                     propagation_policy: str | None = None) -> Obj:
        """DELETE with DeleteOptions as the body; answers the object (finalizers, grace) or a Success Status."""
        options: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if uid is not None:
            options["preconditions"] = {"uid": uid}
        if propagation_policy is not None:
            options["propagationPolicy"] = propagation_policy
        return await self._request("DELETE", resource_path(resource, namespace, name), body=options)


def _selectors(label_selector: str, field_selector: str) -> dict[str, str]:
    params = {}
    if label_selector:
        params["labelSelector"] = label_selector
    if field_selector:
        params["fieldSelector"] = field_selector
    return params


def _named(config: Obj, section: str, name: str, key: str) -> Obj:
    for entry in config.get(section) or []:
        if entry.get("name") == name:
            return entry.get(key) or {}
    raise ValueError(f"kubeconfig has no {section[:-1]} named {name!r}")


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ssl_context(cluster: Obj, user: Obj, base: Path) -> ssl.SSLContext:
    """Server verification from the cluster entry, client certificate from the user entry."""
    if cluster.get("insecure-skip-tls-verify"):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif cluster.get("certificate-authority-data"):
        ctx = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    elif cluster.get("certificate-authority"):
        ctx = ssl.create_default_context(cafile=str(base / cluster["certificate-authority"]))
    else:
        ctx = ssl.create_default_context()
    cert = _pem(user, "client-certificate", base)
    key = _pem(user, "client-key", base)
    if cert and key:
        # ssl loads certificate chains only from files; keep the key on disk no longer than the load.
        with tempfile.TemporaryDirectory() as tmp:
            cert_file, key_file = Path(tmp) / "client.crt", Path(tmp) / "client.key"
            cert_file.write_bytes(cert)
            key_file.touch(0o600)
            key_file.write_bytes(key)
            ctx.load_cert_chain(cert_file, key_file)
    return ctx


def _pem(user: Obj, field: str, base: Path) -> bytes | None:
    if user.get(f"{field}-data"):
        return base64.b64decode(user[f"{field}-data"])
    if user.get(field):
        path: Path = base / user[field]
        return path.read_bytes()
    return None
