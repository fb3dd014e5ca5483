"""The browser log pages of a real `kubeshim up` with its kubelet, fetched with httpx as a browser would:
login link -> session cookie -> /logs/{namespace}/{pod}/{container}, RBAC as the signed-in user."""
from __future__ import annotations

import re
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from harness import ROOT, Kubeshim, processes_under, start_kubeshim, wait_for

from shim.server.auth import User
from shim.server.sessions import COOKIE, SESSION, Signer, login_url

pytestmark = pytest.mark.kubelet

TEAM_A, TEAM_B = "team-a", "team-b"


class Cluster:
    """kubeshim with its kubelet, driven through its API with the admin token."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.server: Kubeshim = start_kubeshim(data_dir)
        self.url = self.server.url
        self.context = ssl.create_default_context(cafile=self.server.ca)
        self.api = httpx.Client(base_url=self.url, verify=self.context, timeout=10,
                                headers={"Authorization": f"Bearer {self.server.token}"})

    def browser(self, **kwargs: Any) -> httpx.Client:
        """A client with a cookie jar that follows redirects, as a browser does."""
        return httpx.Client(**{"verify": self.context, "follow_redirects": True, "timeout": 10, **kwargs})

    def signed_in(self) -> httpx.Client:
        browser = self.browser()
        assert browser.get(login_url(self.data_dir, self.url)).status_code == 200
        return browser

    def create(self, path: str, obj: dict[str, Any]) -> dict[str, Any]:
        response = self.api.post(path, json=obj)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def run(self, name: str, script: str, namespace: str = "default", **spec: Any) -> None:
        container = {"name": "main", "image": "python:3.11", "command": [sys.executable, "-c", script]}
        self.create(f"/api/v1/namespaces/{namespace}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": "Never", "containers": [container], **spec}})

    def pod(self, name: str, namespace: str = "default") -> dict[str, Any]:
        return self.api.get(f"/api/v1/namespaces/{namespace}/pods/{name}").json()

    def wait_phase(self, name: str, *phases: str, namespace: str = "default") -> dict[str, Any]:
        return wait_for(lambda: (p := self.pod(name, namespace)).get("status", {}).get("phase") in phases
                        and p, 30)

    def namespace(self, name: str) -> None:
        self.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("log-pages") / "data")
    yield c
    namespaces = [n["metadata"]["name"] for n in c.api.get("/api/v1/namespaces").json()["items"]]
    for ns in namespaces:
        c.api.delete(f"/api/v1/namespaces/{ns}/pods", params={"gracePeriodSeconds": 0})
    wait_for(lambda: not c.api.get("/api/v1/pods").json()["items"], timeout=20)
    wait_for(lambda: not processes_under(c.data_dir), timeout=20)
    c.server.stop()


@pytest.fixture(scope="module")
def hello(cluster: Cluster) -> str:
    """A finished pod in `default` that printed two lines."""
    cluster.run("hello", "print('hello from the task'); print('second line')")
    cluster.wait_phase("hello", "Succeeded")
    return "/logs/default/hello/main"


@pytest.fixture(scope="module")
def tenant(cluster: Cluster) -> str:
    """A service-account token allowed to read pods and their logs in team-a only; a pod in each namespace."""
    for ns in (TEAM_A, TEAM_B):
        cluster.namespace(ns)
        cluster.run("job", f"print('output of {ns}')", namespace=ns)
    cluster.create(f"/api/v1/namespaces/{TEAM_A}/serviceaccounts",
                   {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "viewer"}})
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{TEAM_A}"
    cluster.create(f"{rbac}/roles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "log-reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]}]})
    cluster.create(f"{rbac}/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "viewer"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "log-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "viewer", "namespace": TEAM_A}]})
    token = cluster.create(f"/api/v1/namespaces/{TEAM_A}/serviceaccounts/viewer/token", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})["status"]["token"]
    for ns in (TEAM_A, TEAM_B):
        cluster.wait_phase("job", "Succeeded", namespace=ns)
    return token


def _tenant_browser(cluster: Cluster, token: str) -> httpx.Client:
    """The tenant signs in by posting its bearer token to the 401 page's form."""
    browser = cluster.browser()
    response = browser.post(f"{cluster.url}/login", data={"token": token, "next": "/logs"})
    assert response.status_code == 200 and response.url.path == "/logs"
    return browser


# -- sign-in -------------------------------------------------------------------------------------------------

def test_the_login_link_sets_a_cookie_and_then_the_page_shows_the_pods_output(cluster: Cluster, hello: str) -> None:
    browser = cluster.browser()
    response = browser.get(login_url(cluster.data_dir, cluster.url))
    assert response.status_code == 200 and response.url.path == "/logs"
    assert browser.cookies.get(COOKIE)
    page = browser.get(cluster.url + hello)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "hello from the task\nsecond line\n" in page.text
    assert "Succeeded" in page.text


def test_the_session_cookie_is_httponly_secure_samesite_lax_and_scoped_to_the_pages(cluster: Cluster) -> None:
    response = cluster.browser(follow_redirects=False).get(login_url(cluster.data_dir, cluster.url))
    assert response.status_code == 303
    attributes = {a.strip().split("=")[0].lower(): a.strip() for a in response.headers["set-cookie"].split(";")}
    assert {"httponly", "secure", "samesite", "path", "max-age"} <= set(attributes)
    assert attributes["samesite"].lower() == "samesite=lax" and attributes["path"] == "Path=/logs"


def test_login_goes_to_a_local_next_page_and_never_to_another_site(cluster: Cluster, hello: str) -> None:
    browser = cluster.browser(follow_redirects=False)
    link = login_url(cluster.data_dir, cluster.url)
    assert browser.get(f"{link}&{urlencode({'next': hello})}").headers["location"] == hello
    for outside in ("https://evil.example/x", "//evil.example/x", "/\\evil.example", "/\t/evil.example"):
        assert browser.get(f"{link}&{urlencode({'next': outside})}").headers["location"] == "/logs"


def test_kubeshim_up_prints_the_login_link(cluster: Cluster) -> None:
    output = (cluster.data_dir.parent / f"{cluster.data_dir.name}.log").read_text()
    link = re.search(rf"^logs: ({re.escape(cluster.url)}/login\?token=\S+)$", output, re.MULTILINE)
    assert link, output
    assert cluster.browser().get(link.group(1)).status_code == 200


def test_the_login_url_command_prints_a_working_link(cluster: Cluster) -> None:
    result = subprocess.run([sys.executable, "-m", "shim", "login-url", "--data-dir", str(cluster.data_dir)],
                            cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    link = result.stdout.strip()
    assert link.startswith(f"{cluster.url}/login?token=")
    browser = cluster.browser()
    assert browser.get(link).status_code == 200 and browser.cookies.get(COOKIE)


def test_a_sign_in_posted_from_another_site_is_refused(cluster: Cluster, tenant: str) -> None:
    response = cluster.browser().post(f"{cluster.url}/login", data={"token": tenant},
                                      headers={"Origin": "https://evil.example"})
    assert response.status_code == 403 and not response.cookies


def test_an_invalid_login_token_is_401(cluster: Cluster) -> None:
    response = cluster.browser().get(f"{cluster.url}/login", params={"token": "login.e30.0000"})
    assert response.status_code == 401 and not response.cookies


# -- access --------------------------------------------------------------------------------------------------

def test_without_a_cookie_a_page_is_401_with_a_sign_in_hint_and_no_redirect(cluster: Cluster, hello: str) -> None:
    for path in (hello, f"{hello}/raw", "/logs"):
        response = cluster.browser(follow_redirects=False).get(cluster.url + path)
        assert response.status_code == 401, path
        assert "location" not in response.headers
    page = cluster.browser().get(cluster.url + hello)
    assert "kubeshim login-url" in page.text and "hello from the task" not in page.text


def test_a_forged_cookie_is_401(cluster: Cluster, hello: str) -> None:
    admin = User("kubeshim-admin", ("system:masters", "system:authenticated"))
    forged = Signer(b"not the key" * 3).sign(SESSION, admin, int(time.time()) + 3600)
    response = cluster.browser(cookies={COOKIE: forged}).get(cluster.url + hello)
    assert response.status_code == 401 and "hello from the task" not in response.text


def test_an_expired_cookie_is_401(cluster: Cluster, hello: str) -> None:
    admin = User("kubeshim-admin", ("system:masters", "system:authenticated"))
    expired = Signer.load(cluster.data_dir).sign(SESSION, admin, int(time.time()) - 1)
    assert cluster.browser(cookies={COOKIE: expired}).get(cluster.url + hello).status_code == 401


def test_a_login_ticket_is_not_accepted_as_a_session_cookie(cluster: Cluster, hello: str) -> None:
    ticket = login_url(cluster.data_dir, cluster.url).split("token=", 1)[1]
    assert cluster.browser(cookies={COOKIE: ticket}).get(cluster.url + hello).status_code == 401


def test_a_bearer_token_opens_the_pages_without_a_cookie(cluster: Cluster, hello: str) -> None:
    response = cluster.browser(headers={"Authorization": f"Bearer {cluster.server.token}"}).get(
        cluster.url + f"{hello}/raw")
    assert response.status_code == 200 and response.text == "hello from the task\nsecond line\n"


def test_a_user_bound_to_namespace_a_reads_a_and_gets_403_in_b(cluster: Cluster, tenant: str) -> None:
    browser = _tenant_browser(cluster, tenant)
    allowed = browser.get(f"{cluster.url}/logs/{TEAM_A}/job/main")
    assert allowed.status_code == 200 and f"output of {TEAM_A}" in allowed.text
    for path in (f"/logs/{TEAM_B}/job/main", f"/logs/{TEAM_B}/job", f"/logs/{TEAM_B}/job/main/raw",
                 f"/logs/{TEAM_B}", f"/logs/{TEAM_B}/no-such-pod"):
        denied = browser.get(cluster.url + path)
        assert denied.status_code == 403, path
        assert f"output of {TEAM_B}" not in denied.text and "Succeeded" not in denied.text


def test_the_index_lists_only_the_namespaces_the_user_may_read(cluster: Cluster, tenant: str) -> None:
    index = _tenant_browser(cluster, tenant).get(f"{cluster.url}/logs")
    assert index.status_code == 200
    assert f'href="/logs/{TEAM_A}/job/main"' in index.text
    assert TEAM_B not in index.text and "default" not in index.text


def test_the_tenants_bearer_token_on_a_page_is_authorized_the_same(cluster: Cluster, tenant: str) -> None:
    client = cluster.browser(headers={"Authorization": f"Bearer {tenant}"})
    assert client.get(f"{cluster.url}/logs/{TEAM_A}/job/main").status_code == 200
    assert client.get(f"{cluster.url}/logs/{TEAM_B}/job/main").status_code == 403


def test_system_masters_see_every_namespace(cluster: Cluster, tenant: str) -> None:
    index = cluster.signed_in().get(f"{cluster.url}/logs")
    for ns in (TEAM_A, TEAM_B, "default"):
        assert f'href="/logs/{ns}"' in index.text


# -- pages ---------------------------------------------------------------------------------------------------

def test_the_raw_follow_stream_delivers_a_line_printed_after_the_request_within_a_second(
        cluster: Cluster, tmp_path: Path) -> None:
    trigger = tmp_path / "go"
    cluster.run("follower", "import os, time\nprint('waiting', flush=True)\n"
                f"while not os.path.exists({str(trigger)!r}): time.sleep(0.01)\n"
                "print('after the trigger', flush=True)\ntime.sleep(30)")
    cluster.wait_phase("follower", "Running")
    browser = cluster.signed_in()
    received = ""
    with browser.stream("GET", f"{cluster.url}/logs/default/follower/main/raw", params={"follow": "true"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        chunks = r.iter_text()
        while "waiting\n" not in received:
            received += next(chunks)
        trigger.touch()
        started = time.monotonic()
        while "after the trigger\n" not in received:
            received += next(chunks)
        elapsed = time.monotonic() - started
    assert elapsed < 1.0, elapsed
    assert received == "waiting\nafter the trigger\n"


def test_the_page_of_a_running_container_follows_from_the_bytes_it_shows(cluster: Cluster, tmp_path: Path) -> None:
    cluster.run("runner", "import time\nprint('first', flush=True)\ntime.sleep(30)")
    wait_for(lambda: "running" in (cluster.pod("runner").get("status", {}).get("containerStatuses")
                                   or [{}])[0].get("state", {}), 30)
    browser = cluster.signed_in()
    page = wait_for(lambda: (p := browser.get(f"{cluster.url}/logs/default/runner")) and "first" in p.text
                    and p, 30)
    assert 'data-follow="/logs/default/runner/main/raw?follow=true&amp;skipBytes=6"' in page.text
    nonce = re.search(r"script-src 'nonce-([^']+)'", page.headers["content-security-policy"]).group(1)
    assert f'<script nonce="{nonce}">' in page.text and "getReader" in page.text
    rest = browser.get(f"{cluster.url}/logs/default/runner/main/raw", params={"skipBytes": 6})
    assert rest.status_code == 200 and rest.text == ""


def test_an_unknown_pod_is_a_404_page_without_a_traceback(cluster: Cluster) -> None:
    response = cluster.signed_in().get(f"{cluster.url}/logs/default/no-such-pod/main")
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert "pods &quot;no-such-pod&quot; not found" in response.text and "Traceback" not in response.text


def test_a_container_that_has_not_started_is_a_400_page_that_reloads(cluster: Cluster) -> None:
    cluster.run("blocked", "print('main ran')", initContainers=[
        {"name": "setup", "image": "python:3.11", "command": [sys.executable, "-c", "import time; time.sleep(30)"]}])
    cluster.wait_phase("blocked", "Pending")
    wait_for(lambda: (cluster.pod("blocked")["status"].get("initContainerStatuses") or [{}])[0]
             .get("state", {}).get("running"), 30)
    response = cluster.signed_in().get(f"{cluster.url}/logs/default/blocked/main")
    assert response.status_code == 400 and "is waiting to start" in response.text
    assert '<meta http-equiv="refresh"' in response.text and 'href="/logs/default/blocked/setup"' in response.text


def test_a_container_the_pod_does_not_have_is_a_400_page(cluster: Cluster, hello: str) -> None:
    response = cluster.signed_in().get(f"{cluster.url}/logs/default/hello/sidecar")
    assert response.status_code == 400 and "container sidecar is not valid for pod hello" in response.text
    assert "refresh" not in response.text


def test_printed_html_is_escaped(cluster: Cluster) -> None:
    cluster.run("xss", "print('<script>alert(1)</script> & \"quotes\"')")
    cluster.wait_phase("xss", "Succeeded")
    page = cluster.signed_in().get(f"{cluster.url}/logs/default/xss/main")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;" in page.text
    assert "<script>alert" not in page.text


def test_raw_is_plain_text_that_is_never_sniffed(cluster: Cluster, hello: str) -> None:
    response = cluster.signed_in().get(f"{cluster.url}{hello}/raw")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.text == "hello from the task\nsecond line\n"
