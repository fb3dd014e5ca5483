"""Plain helpers for the api tier: unique names, Status parsing, polling, raw watch streams, manifests."""
from __future__ import annotations

import json
import ssl
import uuid
from typing import Any, Callable

import httpx
import pytest
from kubernetes.client.rest import ApiException

Obj = dict[str, Any]


def unique(prefix: str = "t") -> str:
    """A DNS-1123 label that no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def status_of(exc: ApiException) -> Obj:
    """The metav1 Status the server answered with."""
    return json.loads(exc.body)


def expect_status(call: Callable[[], Any], code: int, reason: str) -> Obj:
    """Run a client call that must fail with `code`/`reason`; returns the Status."""
    with pytest.raises(ApiException) as info:
        call()
    status = status_of(info.value)
    assert (info.value.status, status.get("reason")) == (code, reason), status
    assert status["kind"] == "Status" and status["status"] == "Failure" and status["code"] == code
    return status


def expect_page_not_found(call: Callable[[], Any]) -> None:
    """Run a client call that must reach no handler: the plain-text 404 of upstream's HTTP mux (a group or
    version of custom resources that is not served)."""
    with pytest.raises(ApiException) as info:
        call()
    assert (info.value.status, info.value.body) == (404, "404 page not found\n")


def expect_http(resp: httpx.Response, code: int, reason: str) -> Obj:
    """A raw response must be a Failure Status with `code`/`reason`; returns the Status."""
    assert resp.status_code == code, resp.text
    assert resp.headers["content-type"].startswith("application/json"), resp.headers
    status = resp.json()
    assert (status["kind"], status["apiVersion"], status["status"]) == ("Status", "v1", "Failure"), status
    assert (status["code"], status["reason"]) == (code, reason), status
    return status


def gone(call: Callable[[], Any]) -> bool:
    """True when the object `call` reads answers 404."""
    try:
        call()
    except ApiException as exc:
        if exc.status == 404:
            return True
        raise
    return False


def http_client(server: Any, token: str | None = None, **kw: Any) -> httpx.Client:
    token = server.token if token is None else token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.url, verify=ssl.create_default_context(cafile=server.ca), headers=headers,
                        timeout=kw.pop("timeout", 30), **kw)


def watch_events(http: httpx.Client, path: str, params: Obj, *, count: int | None = None,
                 until: Callable[[Obj], bool] | None = None, timeout: float = 10.0,
                 headers: Obj | None = None) -> list[Obj]:
    """Read a raw watch stream: stop after `count` events, after one matching `until`, or at stream end."""
    out: list[Obj] = []
    with http.stream("GET", path, params={**params, "watch": "true"}, headers=headers,
                     timeout=httpx.Timeout(timeout)) as resp:
        assert resp.status_code == 200, resp.read()
        for line in resp.iter_lines():
            if not line.strip():
                continue
            event = json.loads(line)
            out.append(event)
            if count is not None and len(out) >= count:
                break
            if until is not None and until(event):
                break
    return out


def pod_manifest(name: str, labels: Obj | None = None, **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}], **spec}}


def cm_manifest(name: str, labels: Obj | None = None, data: Obj | None = None, **meta: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}, **meta},
            "data": data or {"k": "v"}}


