"""The HTTPS call to one webhook, as kube-apiserver's webhook client makes it (k8s.io/apiserver pkg/util/webhook
and client-go's rest client): POST of the AdmissionReview to the clientConfig's URL or service, with
`?timeout=Ns`, verified against the caBundle (else the system roots) for the service's `<name>.<namespace>.svc`
or the URL's host. A failure is a `CallError` whose text is what upstream's `failed calling webhook` error says
after the webhook's name (`failed to call webhook: Post "https://...": dial tcp ...: connect: connection refused`).

A service is reached where its pods listen: pods share the host network here, so a numeric targetPort is
127.0.0.1:<targetPort> and a named one is the port its Endpoints (or EndpointSlices) give that name.
"""
from __future__ import annotations

import asyncio
import base64
import errno
import json
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import yaml

from shim.machinery.golang import quote
from shim.storage.store import Store

Obj = dict[str, Any]
LOOPBACK = "127.0.0.1"


class CallError(Exception):
    """The webhook could not be called or answered nonsense (upstream's ErrCallingWebhook): failurePolicy
    decides; `reason` is the error text after `failed calling webhook "name": `."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    """Where a webhook is called: `url` as upstream prints it, `address` (host, port) dialled, the name its
    certificate must carry, and the `path` (with query) the request names."""

    url: str
    address: tuple[str, int]
    server_name: str
    path: str

    @property
    def authority(self) -> str:
        """The Host header: the URL's host and port."""
        return urlsplit(self.url).netloc

    @property
    def dial_url(self) -> str:
        host, port = self.address
        return f"https://{f'[{host}]' if ':' in host else host}:{port}{self.path}"


class _Unresolvable(Exception):
    """The service cannot be resolved to an address (upstream's resolver error, shown in place of a dial's)."""


def _go_duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}m{rest}s" if minutes else f"{rest}s"


def target(config: Obj, timeout: int, store: Store) -> Target:
    """The URL and address of a webhook's clientConfig (a service resolved through the store)."""
    query = f"?timeout={_go_duration(timeout)}" if timeout > 0 else ""
    service = config.get("service")
    if service:
        name, namespace = str(service.get("name", "")), str(service.get("namespace", ""))
        port = int(service.get("port") or 443)
        server_name = f"{name}.{namespace}.svc"
        path = str(service.get("path") or "") or "/"
        url = f"https://{server_name}:{port}{path}{query}"
        try:
            address = resolve_service(store, namespace, name, port)
        except _Unresolvable as problem:
            raise CallError(f"failed to call webhook: Post {quote(url)}: {problem}") from None
        return Target(url, address, server_name, path + query)
    parts = urlsplit(str(config.get("url") or ""))
    host = parts.hostname or ""
    port = parts.port or 443
    path = parts.path or "/"
    url = f"{parts.scheme}://{parts.netloc}{path}{query}"
    return Target(url, (LOOPBACK if host == "localhost" else host, port), host, path + query)


def resolve_service(store: Store, namespace: str, name: str, port: int) -> tuple[str, int]:
    """The loopback address of the service port's targetPort (a named one through the Endpoints or
    EndpointSlices of the service, which give it under the service port's name)."""
    entry = store.get("/services", namespace, name)
    if entry is None:
        raise _Unresolvable(f'service "{name}" not found')
    spec = orjson.loads(entry.raw).get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    if kind == "ExternalName":
        return str(spec.get("externalName", "")), port
    if kind == "ClusterIP" and spec.get("clusterIP") == "None":
        raise _Unresolvable('cannot route to service with ClusterIP "None"')
    if kind not in ("ClusterIP", "LoadBalancer", "NodePort"):
        raise _Unresolvable(f"unsupported service type {quote(kind)}")
    for service_port in spec.get("ports") or []:
        if service_port.get("port") != port:
            continue
        target_port = service_port.get("targetPort", port)
        if isinstance(target_port, int) or str(target_port).isdigit():
            return LOOPBACK, int(target_port)
        found = _endpoint_port(store, namespace, name, str(service_port.get("name") or ""))
        if found is None:
            raise _Unresolvable(f'no endpoints available for service "{name}"')
        return LOOPBACK, found
    raise _Unresolvable(f'no service port {port} found for service "{name}"')


def _endpoint_port(store: Store, namespace: str, service: str, port_name: str) -> int | None:
    """The port a named targetPort resolves to: the service's Endpoints (else EndpointSlices) list it under the
    service port's name, as upstream's endpoint resolver reads them."""
    entry = store.get("/endpoints", namespace, service)
    if entry is not None:
        for subset in orjson.loads(entry.raw).get("subsets") or []:
            for port in subset.get("ports") or []:
                if port.get("name", "") == port_name and subset.get("addresses"):
                    return int(port["port"])
    for ns, _, slice_entry in store.items("discovery.k8s.io/endpointslices"):
        obj = orjson.loads(slice_entry.raw)
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if ns != namespace or labels.get("kubernetes.io/service-name") != service:
            continue
        for port in obj.get("ports") or []:
            if port.get("name", "") == port_name and port.get("port") is not None:
                return int(port["port"])
    return None


def tls_context(config: Obj) -> ssl.SSLContext:
    """Verification against the caBundle, else the system's roots (a bundle that is no PEM fails the call)."""
    context = ssl.create_default_context()
    bundle = config.get("caBundle")
    if bundle:
        try:
            pem = base64.b64decode(bundle).decode("ascii")
            context = ssl.create_default_context(cadata=pem)
        except (ValueError, ssl.SSLError):
            raise CallError("could not get REST client: unable to load root certificates: unable to parse bytes "
                            "as PEM block") from None
    return context


async def post(config: Obj, review: Obj, timeout: int, store: Store) -> Obj:
    """POST `review` to the webhook and return the AdmissionReview it answers, decoded as client-go's rest client
    decodes it; raises CallError in upstream's words."""
    context = tls_context(config)
    where = target(config, timeout, store)
    host, port = where.address
    prefix = f"failed to call webhook: Post {quote(where.url)}: "
    body = orjson.dumps(review)
    try:
        async with httpx.AsyncClient(verify=context, timeout=None, trust_env=False) as client:
            response = await asyncio.wait_for(client.post(
                where.dial_url, content=body,
                headers={"Content-Type": "application/json", "Accept": "application/json, */*",
                         "Host": where.authority, "User-Agent": "kube-apiserver-admission"},
                extensions={"sni_hostname": where.server_name}), timeout if timeout > 0 else None)
    except TimeoutError:
        raise CallError(prefix + "context deadline exceeded") from None
    except httpx.HTTPError as err:
        raise CallError(prefix + _transport_error(err, host, port)) from None
    return _decode(response, "failed to call webhook: ")


def _transport_error(err: httpx.HTTPError, host: str, port: int) -> str:
    """A transport failure as Go's net/http and crypto/tls word it."""
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "tls: failed to verify certificate: " + _x509(cause)
        if isinstance(cause, ssl.SSLError):
            return f"remote error: tls: {cause.reason or 'handshake failure'}".lower()
        if isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED:
            return f"dial tcp {host}:{port}: connect: connection refused"
        cause = cause.__cause__ or cause.__context__
    text = str(err)
    if "refused" in text.lower():
        return f"dial tcp {host}:{port}: connect: connection refused"
    if isinstance(err, httpx.RemoteProtocolError):
        return "EOF"
    return text or type(err).__name__


def _x509(err: ssl.SSLCertVerificationError) -> str:
    message = str(err.verify_message or "")
    if "Hostname mismatch" in message or "IP address mismatch" in message:
        return "x509: certificate is not valid for the requested name"
    if "expired" in message:
        return "x509: certificate has expired or is not yet valid"
    return "x509: certificate signed by unknown authority"


_GENERIC = {400: "the server rejected our request for an unknown reason",
            401: "the server has asked for the client to provide credentials",
            404: "the server could not find the requested resource",
            405: "the server does not allow this method on the requested resource",
            409: "the server reported a conflict",
            422: "the server rejected our request due to an error in our request",
            429: "the server has received too many requests and has asked us to try again later",
            503: "the server is currently unable to handle the request",
            504: "the server was unable to return a response in the time allotted, but may still be processing "
                 "the request"}


def _decode(response: httpx.Response, prefix: str) -> Obj:
    """The body as client-go's Result.Into decodes it: a non-2xx status is an error (its Status's message when
    the body is one), a 2xx body must be a JSON object naming its kind."""
    text = response.content
    if not 200 <= response.status_code <= 206:
        status = _json(text)
        if isinstance(status, dict) and status.get("kind") == "Status" and status.get("status") == "Failure":
            raise CallError(prefix + str(status.get("message") or ""))
        code = response.status_code
        message = text.decode("utf-8", "replace").strip() if response.headers.get(
            "content-type", "").startswith("text/") else "unknown"
        if code == 403:
            raise CallError(prefix + message)
        generic = _GENERIC.get(code)
        if generic is None:
            generic = f"an error on the server ({quote(message)}) has prevented the request from succeeding"
        raise CallError(prefix + generic)
    decoded: Any
    if text.lstrip().startswith(b"{"):
        try:
            decoded = json.loads(text)
        except ValueError as err:
            raise CallError(prefix + "couldn't get version/kind; json parse error: " + _go_json_error(text, err)) \
                from None
    else:  # the universal decoder takes whatever is not JSON for YAML
        try:
            decoded = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise CallError(prefix + f"error converting YAML to JSON: yaml: {_yaml_problem(err)}") from None
    if not isinstance(decoded, dict) and decoded is not None:
        raise CallError(prefix + "couldn't get version/kind; json parse error: json: cannot unmarshal "
                        f"{_go_json_type(decoded)} into Go value of type struct {{ APIVersion string "
                        '"json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }')
    if not decoded or not decoded.get("kind"):
        raise CallError(prefix + f"Object 'Kind' is missing in '{text.decode('utf-8', 'replace')}'")
    return decoded


def _yaml_problem(err: yaml.YAMLError) -> str:
    """go-yaml's wording of a syntax error, as near as PyYAML's marks allow: `line N: <problem>`."""
    mark = getattr(err, "problem_mark", None)
    problem = str(getattr(err, "problem", "") or err)
    return f"line {mark.line + 1}: {problem}" if mark is not None else problem


def _json(text: bytes) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _go_json_error(text: bytes, err: ValueError) -> str:
    """encoding/json's syntax error for the usual cases."""
    stripped = text.strip()
    if not stripped:
        return "unexpected end of JSON input"
    position = getattr(err, "pos", 0)
    if position >= len(text):
        return "unexpected end of JSON input"
    char = chr(text[position]) if text[position] < 0x80 else "\ufffd"
    before = text[:position].rstrip()
    if before.endswith(b"{"):
        return f"invalid character {_go_char(char)} looking for beginning of object key string"
    if position == len(text) - len(text.lstrip()):
        return f"invalid character {_go_char(char)} looking for beginning of value"
    return f"invalid character {_go_char(char)} after top-level value" if _json_complete(text[:position]) else \
        f"invalid character {_go_char(char)} looking for beginning of value"


def _json_complete(prefix: bytes) -> bool:
    try:
        json.loads(prefix)
    except ValueError:
        return False
    return True


def _go_char(char: str) -> str:
    """strconv.QuoteRune as encoding/json's quoteChar does it."""
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    return "'" + quote(char)[1:-1] + "'"


def _go_json_type(value: Any) -> str:
    return {list: "array", str: "string", bool: "bool", type(None): "null"}.get(type(value), "number")
