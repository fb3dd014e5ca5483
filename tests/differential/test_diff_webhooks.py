"""Admission webhooks on both servers: the AdmissionReview bodies each sends its webhooks for creates, updates,
patches, deletes and dry runs, what a mutating webhook's patch makes of the stored object, and the Status each
answers when a webhook refuses, is down, is too slow, or answers nonsense.

Each side has its own HTTPS webhook (tests/webhook_server.py) reached by URL, and configurations named after the
namespace that select only it, deleted at the end. kube-apiserver applies a new configuration asynchronously
(its informers), so a scenario first waits, unrecorded, until its webhook acts.
"""
from __future__ import annotations

import socket
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import httpx
import pytest

from differ import Pair, Side, response_record
from harness import wait_for
from webhook_server import WebhookServer

pytestmark = pytest.mark.differential

MUTATING = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"
VALIDATING = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
ALL_OPERATIONS = ["CREATE", "UPDATE", "DELETE"]


def hook(s: Side, name: str, url: str, ca_bundle: str, **spec: Any) -> dict[str, Any]:
    return {"name": f"{name}.{s.ns}.example.com", "clientConfig": {"url": url, "caBundle": ca_bundle},
            "rules": [{"operations": spec.pop("operations", ["CREATE", "UPDATE"]), "apiGroups": [""],
                       "apiVersions": ["v1"], "resources": ["configmaps"]}],
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": s.ns}},
            "sideEffects": "None", "admissionReviewVersions": ["v1"], **spec}


@contextmanager
def configured(s: Side, path: str, *hooks: dict[str, Any]) -> Iterator[None]:
    name = f"{s.ns}-{path.rsplit('/', 1)[1][:8]}"
    s.json("POST", path, {"metadata": {"name": name}, "webhooks": list(hooks)})
    try:
        yield
    finally:
        s.request(None, "DELETE", f"{path}/{name}")


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def wait_until_acting(s: Side, acts: Callable[[httpx.Response], bool]) -> None:
    """Create a probe configmap until the answer shows the configuration is in force (deleting admitted probes)."""
    cms = f"/api/v1/namespaces/{s.ns}/configmaps"

    def probe() -> bool:
        resp = s.request(None, "POST", cms, body=configmap("probe", a="1"))
        if resp.status_code < 300:
            s.request(None, "DELETE", f"{cms}/probe")
        return acts(resp)
    wait_for(probe, 30, f"{s.name}: the webhook configuration to act", interval=0.2)


def review_view(review: dict[str, Any]) -> dict[str, Any]:
    """A review as compared: the user is each server's own admin identity, everything else must match."""
    request = dict(review["request"])
    request.pop("userInfo", None)
    return {**review, "request": request}


def test_review_bodies(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        cms = f"/api/v1/namespaces/{s.ns}/configmaps"
        with WebhookServer() as server:
            mutating = hook(s, "label", server.url("/label/team/blue"), server.ca_bundle, operations=ALL_OPERATIONS)
            with configured(s, MUTATING, mutating):
                wait_until_acting(s, lambda r: r.status_code == 201 and "team" in (
                    r.json()["metadata"].get("labels") or {}))
                del server.reviews[:]
                s.request("create", "POST", cms, body=configmap("a", k="v"), params={"fieldManager": "differ"})
                current = s.json("GET", f"{cms}/a")
                current["data"] = {"k": "w"}
                s.request("update", "PUT", f"{cms}/a", body=current)
                s.request("patch", "PATCH", f"{cms}/a", content='{"data":{"k":"x"}}',
                          content_type="application/merge-patch+json")
                s.request("dry-run", "POST", cms, body=configmap("b", k="v"), params={"dryRun": "All"})
                s.request("delete", "DELETE", f"{cms}/a")
            s.record("reviews", [review_view(r) for r in server.reviews])
    pair.run(scenario)


def test_validating_review_of_a_generated_name(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        cms = f"/api/v1/namespaces/{s.ns}/configmaps"
        with WebhookServer() as server:
            with configured(s, VALIDATING, hook(s, "allow", server.url("/allow/noted"), server.ca_bundle)):
                wait_until_acting(s, lambda r: bool(r.headers.get_list("warning")))
                del server.reviews[:]
                s.request("create", "POST", cms, body={"apiVersion": "v1", "kind": "ConfigMap",
                                                       "metadata": {"generateName": "gen-"}})
            s.record("reviews", [review_view(r) for r in server.reviews])
    pair.run(scenario)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: case -> (configuration path, webhook path on the test server or None for a closed port, extra webhook fields)
FAILURES: dict[str, tuple[str, str | None, dict[str, Any]]] = {
    "denied-with-message": (VALIDATING, "/deny/not%20today", {}),
    "denied-without-message": (VALIDATING, "/deny", {}),
    "denied-with-code": (MUTATING, "/deny/bad%20data/422", {}),
    "down-fail": (VALIDATING, None, {"failurePolicy": "Fail"}),
    "down-ignore": (MUTATING, None, {"failurePolicy": "Ignore"}),
    "too-slow": (VALIDATING, "/slow/4", {"timeoutSeconds": 1}),
    "html-answer": (VALIDATING, "/html", {}),
    "wrong-uid": (VALIDATING, "/wrong-uid", {}),
    "match-condition-error": (VALIDATING, "/allow", {"matchConditions": [
        {"name": "has-mode", "expression": "object.data.mode == 'on'"}]}),
    "match-condition-error-ignored": (MUTATING, "/deny/never", {"failurePolicy": "Ignore", "matchConditions": [
        {"name": "has-mode", "expression": "object.data.mode == 'on'"}]}),
    "absent-response": (MUTATING, "/absent", {}),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_webhook_failure(pair: Pair, case: str) -> None:
    path, where, extra = FAILURES[case]
    port = closed_port()

    def scenario(s: Side) -> None:
        cms = f"/api/v1/namespaces/{s.ns}/configmaps"
        with WebhookServer() as server:
            url = server.url(where) if where is not None else f"https://127.0.0.1:{port}/down"
            params = None
            with configured(s, path, hook(s, "w", url, server.ca_bundle, **extra)):
                if "ignore" in case:  # nothing to wait for: give the informers a create of their own
                    wait_until_acting(s, lambda r: r.status_code == 201)
                else:
                    def refused(resp: httpx.Response) -> bool:
                        return resp.status_code >= 400
                    wait_for(lambda: refused(s.request(None, "POST", cms, body=configmap("probe"), params=params)),
                             30, f"{s.name}: the webhook to act", interval=0.2)
                resp = s.request(None, "POST", cms, body=configmap("c", k="v"), params=params)
                record = response_record(resp)
                if isinstance(record.get("body"), dict) and "message" in record["body"]:
                    record["body"]["message"] = record["body"]["message"].replace(str(port), "<port>")
                    for cause in (record["body"].get("details") or {}).get("causes") or []:
                        cause["message"] = cause["message"].replace(str(port), "<port>")
                s.record("create", record)
            s.request("stored", "GET", f"{cms}/c")
    pair.run(scenario)


def test_configuration_defaults(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        bare = {"name": f"bare.{s.ns}.example.com", "clientConfig": {"service": {"name": "s", "namespace": s.ns}},
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                           "resources": ["pods"]}],
                "sideEffects": "None", "admissionReviewVersions": ["v1"],
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": s.ns}}}
        for path in (MUTATING, VALIDATING):
            kind = path.rsplit("/", 1)[1]
            s.request(f"create-{kind}", "POST", path, body={"metadata": {"name": f"{s.ns}-defaults"},
                                                            "webhooks": [bare]})
            s.request(f"table-{kind}", "GET", f"{path}/{s.ns}-defaults",
                      accept="application/json;as=Table;v=v1;g=meta.k8s.io")
            s.request(None, "DELETE", f"{path}/{s.ns}-defaults")
    pair.run(scenario)


INVALID: dict[str, dict[str, Any]] = {
    "side-effects-unknown": {"sideEffects": "Unknown"},
    "side-effects-missing": {"sideEffects": None},
    "short-name": {"name": "short"},
    "policies-and-timeout": {"failurePolicy": "Sometimes", "matchPolicy": "Roughly", "timeoutSeconds": 31,
                             "reinvocationPolicy": "Always"},
    "url-with-query": {"clientConfig": {"url": "http://example.com/x?y=1#z"}},
    "url-and-service": {"clientConfig": {"url": "https://example.com/", "service": {"name": "s", "namespace": "n"}}},
    "service-path": {"clientConfig": {"service": {"name": "s", "namespace": "n", "path": "x//Y", "port": 70000}}},
    "review-versions": {"admissionReviewVersions": ["v2", "v2"]},
    "no-review-versions": {"admissionReviewVersions": []},
    "bad-rule": {"rules": [{"operations": ["*", "PATCH"], "apiGroups": [], "apiVersions": ["v1"],
                            "resources": ["pods/*/x"], "scope": "Everywhere"}]},
    "match-condition": {"matchConditions": [{"name": "", "expression": "object.x + 1"}]},
}


@pytest.mark.parametrize("case", list(INVALID))
def test_configuration_refused(pair: Pair, case: str) -> None:
    def scenario(s: Side) -> None:
        webhook = {"name": f"w.{s.ns}.example.com", "clientConfig": {"url": "https://127.0.0.1:9/"},
                   "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                              "resources": ["pods"]}],
                   "sideEffects": "None", "admissionReviewVersions": ["v1"], **INVALID[case]}
        webhook = {k: v for k, v in webhook.items() if v is not None}
        s.request("create", "POST", MUTATING, body={"metadata": {"name": f"{s.ns}-invalid"}, "webhooks": [webhook]})
        s.request(None, "DELETE", f"{MUTATING}/{s.ns}-invalid")
    pair.run(scenario)


def test_equivalent_resource_review(pair: Pair) -> None:
    """A webhook for events.k8s.io/v1 events is called for a core v1 event (matchPolicy Equivalent), and sees it
    converted; with matchPolicy Exact it is not called."""
    def scenario(s: Side) -> None:
        events = f"/api/v1/namespaces/{s.ns}/events"
        with WebhookServer() as server:
            rules = [{"operations": ["CREATE"], "apiGroups": ["events.k8s.io"], "apiVersions": ["v1"],
                      "resources": ["events"]}]
            equivalent = hook(s, "equivalent", server.url("/allow/equivalent"), server.ca_bundle, rules=rules)
            exact = hook(s, "exact", server.url("/allow/exact"), server.ca_bundle, rules=rules, matchPolicy="Exact")

            def event(name: str) -> dict[str, Any]:
                return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
                        "involvedObject": {"kind": "ConfigMap", "name": "c", "namespace": s.ns},
                        "reason": "Tested", "message": "a test event", "type": "Normal",
                        "eventTime": "2026-01-02T03:04:05.000000Z", "action": "Testing",
                        "reportingComponent": "differ", "reportingInstance": "differ-1"}
            with configured(s, VALIDATING, equivalent, exact):
                def acts() -> bool:
                    resp = s.request(None, "POST", events, body=event("probe"))
                    s.request(None, "DELETE", f"{events}/probe")
                    return bool(resp.headers.get_list("warning"))
                wait_for(acts, 30, f"{s.name}: the webhook configuration to act", interval=0.2)
                del server.reviews[:]
                s.request("create", "POST", events, body=event("e"))
            s.record("reviews", [review_view(r) for r in server.reviews])
    pair.run(scenario)


#: case -> the Service the webhook names (None: none exists)
SERVICES: dict[str, dict[str, Any] | None] = {
    "missing": None,
    "headless": {"clusterIP": "None", "ports": [{"port": 443}]},
    "no-such-port": {"ports": [{"port": 80}]},
}


@pytest.mark.parametrize("case", list(SERVICES))
def test_unresolvable_service(pair: Pair, case: str) -> None:
    def scenario(s: Side) -> None:
        cms = f"/api/v1/namespaces/{s.ns}/configmaps"
        spec = SERVICES[case]
        if spec is not None:
            s.json("POST", f"/api/v1/namespaces/{s.ns}/services", {"metadata": {"name": "webhook"}, "spec": spec})
        webhook = hook(s, "svc", "", "")
        webhook["clientConfig"] = {"service": {"name": "webhook", "namespace": s.ns, "path": "/check"}}
        with configured(s, VALIDATING, webhook):
            wait_for(lambda: s.request(None, "POST", cms, body=configmap("probe")).status_code >= 400, 30,
                     f"{s.name}: the webhook to act", interval=0.2)
            s.request("create", "POST", cms, body=configmap("c", k="v"))
    pair.run(scenario)
