"""pods/proxy, services/proxy and nodes/proxy: requests forwarded to a server in the test (pods share the host's
network, so a pod's address is 127.0.0.1), and each way a location cannot be found answered with upstream's
Status. The session's server runs no kubelet: pods get their IP through /status, as a kubelet writes it."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import httpx
import pytest

from apihelpers import expect_http, unique
from harness import free_port

Obj = dict[str, Any]


class Echo(BaseHTTPRequestHandler):
    """Answers what it was asked (method, path, body, headers) as JSON; /moved redirects to /landed."""

    def _answer(self) -> None:
        if self.path.startswith("/moved"):
            self.send_response(302)
            self.send_header("Location", "/landed")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        length = int(self.headers.get("Content-Length") or 0)
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = json.dumps({"method": self.command, "path": self.path, "body": self.rfile.read(length).decode(),
                           "headers": headers}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def backend() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def running_pod(http: httpx.Client, ns: str, port: int | None, *, ip: str = "127.0.0.1",
                labels: Obj | None = None) -> str:
    """A pod declaring `port`, with the status a kubelet gives a running pod on this host."""
    name = unique("web")
    container: Obj = {"name": "web", "image": "python:3.11"}
    if port is not None:
        container["ports"] = [{"containerPort": port}]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
           "spec": {"containers": [container]}}
    assert http.post(f"/api/v1/namespaces/{ns}/pods", json=pod).status_code == 201
    if ip:
        status = {"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}}
        resp = http.patch(f"/api/v1/namespaces/{ns}/pods/{name}/status", json=status,
                          headers={"Content-Type": "application/merge-patch+json"})
        assert resp.status_code == 200, resp.text
    return name


def test_pod_proxy_forwards_method_path_query_and_body(http: httpx.Client, ns: str, backend: int) -> None:
    pod = running_pod(http, ns, backend)
    resp = http.post(f"/api/v1/namespaces/{ns}/pods/{pod}/proxy/echo/a?x=1&y=2", content=b"payload",
                     headers={"X-Test": "kept"})
    assert resp.status_code == 200, resp.text
    seen = resp.json()
    assert (seen["method"], seen["path"], seen["body"]) == ("POST", "/echo/a?x=1&y=2", "payload")
    assert seen["headers"]["x-test"] == "kept"
    assert "authorization" not in seen["headers"]  # the caller's credentials stay with the API server


def test_pod_proxy_keeps_a_trailing_slash(http: httpx.Client, ns: str, backend: int) -> None:
    pod = running_pod(http, ns, backend)
    assert http.get(f"/api/v1/namespaces/{ns}/pods/{pod}/proxy/dir/").json()["path"] == "/dir/"


def test_bare_pod_proxy_path_redirects_to_its_trailing_slash(http: httpx.Client, ns: str, backend: int) -> None:
    pod = running_pod(http, ns, backend)
    resp = http.get(f"/api/v1/namespaces/{ns}/pods/{pod}/proxy", params={"q": "1"})
    assert resp.status_code == 301
    assert resp.headers["location"] == f"/api/v1/namespaces/{ns}/pods/{pod}/proxy/?q=1"


@pytest.mark.parametrize("form", ["{name}:{port}", "http:{name}:{port}"])
def test_pod_proxy_port_named_in_the_path(http: httpx.Client, ns: str, backend: int, form: str) -> None:
    pod = running_pod(http, ns, None)
    ident = form.format(name=pod, port=backend)
    assert http.get(f"/api/v1/namespaces/{ns}/pods/{ident}/proxy/x").json()["path"] == "/x"


def test_backend_redirect_goes_through_the_proxy(http: httpx.Client, ns: str, backend: int) -> None:
    pod = running_pod(http, ns, backend)
    resp = http.get(f"/api/v1/namespaces/{ns}/pods/{pod}/proxy/moved")
    assert resp.status_code == 302
    assert resp.headers["location"] == f"/api/v1/namespaces/{ns}/pods/{pod}/proxy/landed"


def test_pod_proxy_to_a_closed_port_is_service_unavailable(http: httpx.Client, ns: str) -> None:
    closed = free_port()
    pod = running_pod(http, ns, closed)
    status = expect_http(http.get(f"/api/v1/namespaces/{ns}/pods/{pod}/proxy/"), 503, "ServiceUnavailable")
    assert status["message"] == (f"error trying to reach service: dial tcp 127.0.0.1:{closed}: connect: "
                                 "connection refused")


def test_pod_without_an_address_is_not_proxied(http: httpx.Client, ns: str, backend: int) -> None:
    pod = running_pod(http, ns, backend, ip="")
    status = expect_http(http.get(f"/api/v1/namespaces/{ns}/pods/{pod}/proxy/"), 400, "BadRequest")
    assert status["message"] == "address not allowed"


def test_malformed_pod_proxy_name_is_a_bad_request(http: httpx.Client, ns: str) -> None:
    status = expect_http(http.get(f"/api/v1/namespaces/{ns}/pods/a:b:c:d/proxy/"), 400, "BadRequest")
    assert status["message"] == 'invalid pod request "a:b:c:d"'


def test_proxy_of_a_missing_pod_is_not_found(http: httpx.Client, ns: str) -> None:
    status = expect_http(http.get(f"/api/v1/namespaces/{ns}/pods/nope/proxy/"), 404, "NotFound")
    assert status["message"] == 'pods "nope" not found'


def test_a_path_below_another_subresource_is_not_found(http: httpx.Client, ns: str, backend: int) -> None:
    pod = running_pod(http, ns, backend)
    expect_http(http.get(f"/api/v1/namespaces/{ns}/pods/{pod}/status/extra"), 404, "NotFound")


def service_with_endpoints(http: httpx.Client, ns: str, pod: str, port: int, *, subsets: bool = True) -> str:
    """A service (port 80 named "web") and the Endpoints an endpoints controller keeps for it."""
    name = unique("svc")
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
               "spec": {"ports": [{"name": "web", "port": 80, "targetPort": port}]}}
    assert http.post(f"/api/v1/namespaces/{ns}/services", json=service).status_code == 201
    endpoints: Obj = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name}}
    if subsets:
        endpoints["subsets"] = [{"addresses": [{"ip": "127.0.0.1", "targetRef": {
            "kind": "Pod", "namespace": ns, "name": pod}}], "ports": [{"name": "web", "port": port}]}]
    assert http.post(f"/api/v1/namespaces/{ns}/endpoints", json=endpoints).status_code == 201
    return name


@pytest.mark.parametrize("form", ["{name}:80", "{name}:web", "http:{name}:web"])
def test_service_proxy_reaches_an_endpoint(http: httpx.Client, ns: str, backend: int, form: str) -> None:
    svc = service_with_endpoints(http, ns, running_pod(http, ns, backend), backend)
    resp = http.get(f"/api/v1/namespaces/{ns}/services/{form.format(name=svc)}/proxy/hello")
    assert resp.status_code == 200, resp.text
    assert resp.json()["path"] == "/hello"


def test_service_without_endpoints_is_service_unavailable(http: httpx.Client, ns: str, backend: int) -> None:
    svc = service_with_endpoints(http, ns, running_pod(http, ns, backend), backend, subsets=False)
    status = expect_http(http.get(f"/api/v1/namespaces/{ns}/services/{svc}:web/proxy/"), 503, "ServiceUnavailable")
    assert status["message"] == f'no endpoints available for service "{svc}"'


def test_service_port_nobody_declares_is_service_unavailable(http: httpx.Client, ns: str, backend: int) -> None:
    svc = service_with_endpoints(http, ns, running_pod(http, ns, backend), backend)
    status = expect_http(http.get(f"/api/v1/namespaces/{ns}/services/{svc}:81/proxy/"), 503, "ServiceUnavailable")
    assert status["message"] == f'no service port 81 found for service "{svc}"'


def test_service_endpoint_that_is_no_pod_is_not_proxied(http: httpx.Client, ns: str, backend: int) -> None:
    svc = service_with_endpoints(http, ns, "gone", backend)
    status = expect_http(http.get(f"/api/v1/namespaces/{ns}/services/{svc}:web/proxy/"), 503, "ServiceUnavailable")
    assert status["message"] == f'no endpoints available for service "{svc}:web"'


def test_node_proxy_reaches_a_port_of_the_node(http: httpx.Client, backend: int) -> None:
    name = unique("node")
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
    assert http.post("/api/v1/nodes", json=node).status_code == 201
    status = {"status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}}
    assert http.patch(f"/api/v1/nodes/{name}/status", json=status,
                      headers={"Content-Type": "application/merge-patch+json"}).status_code == 200
    try:
        assert http.get(f"/api/v1/nodes/{name}:{backend}/proxy/stats").json()["path"] == "/stats"
    finally:
        http.delete(f"/api/v1/nodes/{name}")


def test_proxies_are_listed_in_discovery(http: httpx.Client) -> None:
    listed = {r["name"]: r for r in http.get("/api/v1").json()["resources"]}
    for resource, kind in (("pods", "PodProxyOptions"), ("services", "ServiceProxyOptions"),
                           ("nodes", "NodeProxyOptions")):
        assert listed[f"{resource}/proxy"]["kind"] == kind
        assert listed[f"{resource}/proxy"]["verbs"] == ["create", "delete", "get", "patch", "update"]
