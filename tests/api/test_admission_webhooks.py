"""Admission webhooks through a real server, called over HTTPS as kube-apiserver calls them: a mutating webhook's
JSONPatch is stored, a validating one's refusal is the client's Status, a webhook that is down or too slow or
answers nonsense fails the write under failurePolicy Fail (nothing stored) and is skipped under Ignore, selectors
and matchConditions choose the requests, IfNeeded webhooks are called again after a later change, and a service
clientConfig reaches the webhook at its targetPort on loopback, verified against the caBundle."""
from __future__ import annotations

import json
import socket
import threading
from contextlib import contextmanager
from typing import Any, Iterator

import httpx
import pytest

from apihelpers import expect_http, http_client, unique
from webhook_server import WebhookServer

Obj = dict[str, Any]
MUTATING = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"
VALIDATING = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    with WebhookServer() as server:
        yield server


def configmaps(ns: str) -> str:
    return f"/api/v1/namespaces/{ns}/configmaps"


def hook(ns: str, url: str, ca_bundle: str, **spec: Any) -> Obj:
    """A webhook on the configmaps of namespace `ns` (so that other tests never meet it)."""
    return {"name": spec.pop("name", f"{unique('hook')}.example.com"),
            "clientConfig": spec.pop("clientConfig", {"url": url, "caBundle": ca_bundle}),
            "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": [""], "apiVersions": ["v1"],
                       "resources": ["configmaps"]}],
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
            "sideEffects": "None", "admissionReviewVersions": ["v1"], **spec}


@contextmanager
def configured(http: httpx.Client, path: str, *hooks: Obj, name: str = "") -> Iterator[str]:
    name = name or unique("webhooks")
    resp = http.post(path, json={"metadata": {"name": name}, "webhooks": list(hooks)})
    assert resp.status_code == 201, resp.text
    try:
        yield name
    finally:
        http.delete(f"{path}/{name}")


def refusal(resp: httpx.Response) -> str:
    """The message of a webhook's refusal: its own Status (403, no reason given) with upstream's wording."""
    assert resp.status_code == 403, resp.text
    status = resp.json()
    assert (status["kind"], status["status"], status["code"]) == ("Status", "Failure", 403)
    assert "reason" not in status
    return str(status["message"])


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def create_configmap(http: httpx.Client, ns: str, name: str, **params: str) -> httpx.Response:
    return http.post(configmaps(ns), params=params, json={"metadata": {"name": name}, "data": {"k": "v"}})


def test_a_mutating_webhook_adds_a_label(http, ns, webhook):
    with configured(http, MUTATING, hook(ns, webhook.url("/label/team/blue"), webhook.ca_bundle)):
        resp = create_configmap(http, ns, "mutated")
    assert resp.status_code == 201, resp.text
    assert resp.json()["metadata"]["labels"] == {"team": "blue"}
    assert http.get(f"{configmaps(ns)}/mutated").json()["metadata"]["labels"] == {"team": "blue"}


def test_the_admission_review_describes_the_request(http, ns, webhook):
    with configured(http, VALIDATING, hook(ns, webhook.url("/allow"), webhook.ca_bundle)):
        assert create_configmap(http, ns, "described", fieldManager="me").status_code == 201
    review = webhook.reviews[-1]
    assert (review["apiVersion"], review["kind"]) == ("admission.k8s.io/v1", "AdmissionReview")
    request = review["request"]
    assert request["kind"] == {"group": "", "version": "v1", "kind": "ConfigMap"}
    assert request["resource"] == {"group": "", "version": "v1", "resource": "configmaps"}
    assert (request["name"], request["namespace"], request["operation"]) == ("described", ns, "CREATE")
    assert request["object"]["data"] == {"k": "v"} and request["oldObject"] is None
    assert request["dryRun"] is False
    assert request["options"] == {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "me"}
    assert "system:masters" in request["userInfo"]["groups"]


def test_a_validating_webhook_rejects_with_its_message(http, ns, webhook):
    with configured(http, VALIDATING, hook(ns, webhook.url("/deny/no%20configmaps%20here"),
                                           webhook.ca_bundle, name="deny.example.com")):
        resp = create_configmap(http, ns, "refused")
    assert refusal(resp) == 'admission webhook "deny.example.com" denied the request: no configmaps here'
    assert http.get(f"{configmaps(ns)}/refused").status_code == 404


def test_a_webhook_that_is_down_fails_the_write_under_fail(http, ns, webhook):
    port = closed_port()
    down = hook(ns, f"https://127.0.0.1:{port}/check", webhook.ca_bundle, name="down.example.com",
                failurePolicy="Fail")
    with configured(http, VALIDATING, down):
        resp = create_configmap(http, ns, "unstored")
    status = expect_http(resp, 500, "InternalError")
    reason = (f'failed calling webhook "down.example.com": failed to call webhook: Post '
              f'"https://127.0.0.1:{port}/check?timeout=10s": dial tcp 127.0.0.1:{port}: connect: connection refused')
    assert status["message"] == f"Internal error occurred: {reason}"
    assert status["details"]["causes"] == [{"message": reason}]
    assert http.get(f"{configmaps(ns)}/unstored").status_code == 404


def test_a_webhook_that_is_down_is_skipped_under_ignore(http, ns, webhook):
    down = hook(ns, f"https://127.0.0.1:{closed_port()}/", webhook.ca_bundle, failurePolicy="Ignore")
    with configured(http, MUTATING, down):
        assert create_configmap(http, ns, "stored").status_code == 201


def test_a_webhook_slower_than_its_timeout_fails_the_write(http, ns, webhook):
    slow = hook(ns, webhook.url("/slow/5"), webhook.ca_bundle, name="slow.example.com", timeoutSeconds=1)
    with configured(http, VALIDATING, slow):
        resp = create_configmap(http, ns, "late")
    status = expect_http(resp, 500, "InternalError")
    assert status["message"] == (f'Internal error occurred: failed calling webhook "slow.example.com": failed to '
                                 f'call webhook: Post "{webhook.url("/slow/5")}?timeout=1s": context deadline '
                                 f"exceeded")
    assert http.get(f"{configmaps(ns)}/late").status_code == 404


def test_an_html_answer_fails_the_write_as_the_yaml_it_decodes_to(http, ns, webhook):
    with configured(http, VALIDATING, hook(ns, webhook.url("/html"), webhook.ca_bundle, name="html.example.com")):
        resp = create_configmap(http, ns, "malformed")
    status = expect_http(resp, 500, "InternalError")
    assert status["message"] == (
        'Internal error occurred: failed calling webhook "html.example.com": failed to call webhook: '
        "couldn't get version/kind; json parse error: json: cannot unmarshal string into Go value of type struct "
        '{ APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }')


def test_a_review_without_response_fails_the_write(http, ns, webhook):
    with configured(http, MUTATING, hook(ns, webhook.url("/absent"), webhook.ca_bundle, name="absent.example.com")):
        resp = create_configmap(http, ns, "absent")
    status = expect_http(resp, 500, "InternalError")
    assert status["message"] == ('Internal error occurred: failed calling webhook "absent.example.com": received '
                                 "invalid webhook response: webhook response was absent")


def test_a_response_about_another_request_fails_the_write(http, ns, webhook):
    with configured(http, VALIDATING, hook(ns, webhook.url("/wrong-uid"), webhook.ca_bundle,
                                           name="uid.example.com")):
        resp = create_configmap(http, ns, "other")
    status = expect_http(resp, 500, "InternalError")
    uid = webhook.reviews[-1]["request"]["uid"]
    assert status["message"].endswith(f'received invalid webhook response: expected response.uid="{uid}", '
                                      f'got "not-{uid}"')


def test_a_certificate_from_another_ca_fails_the_call(http, ns, webhook):
    with WebhookServer() as other:
        with configured(http, VALIDATING, hook(ns, webhook.url("/allow"), other.ca_bundle, name="ca.example.com")):
            resp = create_configmap(http, ns, "untrusted")
    status = expect_http(resp, 500, "InternalError")
    assert status["message"].endswith(
        "tls: failed to verify certificate: x509: certificate signed by unknown authority")


def test_the_object_selector_chooses_the_objects(http, ns, webhook):
    guarded = hook(ns, webhook.url("/deny/guarded"), webhook.ca_bundle,
                   objectSelector={"matchLabels": {"guarded": "yes"}})
    with configured(http, VALIDATING, guarded):
        assert create_configmap(http, ns, "free").status_code == 201
        resp = http.post(configmaps(ns), json={"metadata": {"name": "kept", "labels": {"guarded": "yes"}}})
        assert refusal(resp).endswith("denied the request: guarded")


def test_the_namespace_selector_chooses_the_namespaces(http, ns, webhook):
    elsewhere = hook(ns, webhook.url("/deny/not-here"), webhook.ca_bundle,
                     namespaceSelector={"matchLabels": {"kubernetes.io/metadata.name": "some-other-namespace"}})
    with configured(http, VALIDATING, elsewhere):
        assert create_configmap(http, ns, "welcome").status_code == 201
    assert webhook.reviews == []


def test_match_conditions_choose_the_requests(http, ns, webhook):
    conditional = hook(ns, webhook.url("/deny/named"), webhook.ca_bundle, matchConditions=[
        {"name": "named-bad", "expression": "object.metadata.name.startsWith('bad')"}])
    with configured(http, VALIDATING, conditional):
        assert create_configmap(http, ns, "good").status_code == 201
        assert refusal(create_configmap(http, ns, "bad-one")).endswith("denied the request: named")


def test_warnings_become_warning_headers(http, ns, webhook):
    with configured(http, VALIDATING, hook(ns, webhook.url("/allow/think%20twice"), webhook.ca_bundle)):
        resp = create_configmap(http, ns, "warned")
    assert resp.status_code == 201
    assert resp.headers["Warning"] == '299 - "think twice"'


def test_a_dry_run_reaches_a_webhook_without_side_effects_as_a_dry_run(http, ns, webhook):
    with configured(http, VALIDATING, hook(ns, webhook.url("/allow"), webhook.ca_bundle, sideEffects="NoneOnDryRun")):
        assert create_configmap(http, ns, "dry", dryRun="All").status_code == 201
    assert webhook.reviews[-1]["request"]["dryRun"] is True
    assert http.get(f"{configmaps(ns)}/dry").status_code == 404


def test_a_configuration_with_side_effects_is_refused(http, ns, webhook):
    effects = hook(ns, webhook.url("/allow"), webhook.ca_bundle, sideEffects="Unknown")
    resp = http.post(VALIDATING, json={"metadata": {"name": unique("effects")}, "webhooks": [effects]})
    status = expect_http(resp, 422, "Invalid")
    assert status["details"]["causes"] == [{"reason": "FieldValueNotSupported", "field": "webhooks[0].sideEffects",
                                            "message": 'Unsupported value: "Unknown": supported values: "None", '
                                                       '"NoneOnDryRun"'}]


def test_a_configuration_gets_upstreams_defaults(http, ns, webhook):
    bare = {"name": "bare.example.com", "clientConfig": {"service": {"name": "s", "namespace": ns}},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
            "sideEffects": "None", "admissionReviewVersions": ["v1"],
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}
    with configured(http, MUTATING, bare) as name:
        stored = http.get(f"{MUTATING}/{name}").json()["webhooks"][0]
    assert (stored["failurePolicy"], stored["matchPolicy"], stored["timeoutSeconds"]) == ("Fail", "Equivalent", 10)
    assert (stored["reinvocationPolicy"], stored["objectSelector"]) == ("Never", {})
    assert stored["rules"][0]["scope"] == "*"
    assert stored["clientConfig"]["service"]["port"] == 443


def test_an_if_needed_webhook_is_called_again_after_a_later_change(http, ns, webhook):
    first = hook(ns, webhook.url("/allow"), webhook.ca_bundle, reinvocationPolicy="IfNeeded")
    second = hook(ns, webhook.url("/label/late/yes"), webhook.ca_bundle)
    with configured(http, MUTATING, first, name=unique("a-first")), \
            configured(http, MUTATING, second, name=unique("b-second")):
        assert create_configmap(http, ns, "twice").status_code == 201
    paths = [r["request"]["object"]["metadata"].get("labels") for r in webhook.reviews]
    assert paths == [None, None, {"late": "yes"}]


def test_a_never_webhook_is_not_called_again(http, ns, webhook):
    first = hook(ns, webhook.url("/allow"), webhook.ca_bundle)
    second = hook(ns, webhook.url("/label/late/yes"), webhook.ca_bundle)
    with configured(http, MUTATING, first, name=unique("a-first")), \
            configured(http, MUTATING, second, name=unique("b-second")):
        assert create_configmap(http, ns, "once").status_code == 201
    assert len(webhook.reviews) == 2


def test_patches_waiting_on_a_webhook_never_lose_each_others_changes(http, kubeshim, ns, webhook):
    assert create_configmap(http, ns, "shared").status_code == 201
    slow = hook(ns, webhook.url("/slow/1"), webhook.ca_bundle, timeoutSeconds=5)
    slow["rules"][0]["operations"] = ["UPDATE"]
    answers: dict[str, int] = {}

    def patch(key: str) -> None:
        with http_client(kubeshim) as own:
            answers[key] = own.patch(f"{configmaps(ns)}/shared", content=json.dumps({"data": {key: "set"}}),
                                     headers={"Content-Type": "application/merge-patch+json"}).status_code

    with configured(http, VALIDATING, slow):
        threads = [threading.Thread(target=patch, args=(key,)) for key in ("first", "second")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    data = http.get(f"{configmaps(ns)}/shared").json()["data"]
    assert set(answers.values()) <= {200, 409}, answers
    assert {key for key, code in answers.items() if code == 200} <= set(data), (answers, data)


def test_a_service_client_config_reaches_the_target_port_on_loopback(http, ns):
    with WebhookServer(f"webhook.{ns}.svc") as server:
        service = {"metadata": {"name": "webhook"},
                   "spec": {"ports": [{"port": 443, "targetPort": server.port}]}}
        assert http.post(f"/api/v1/namespaces/{ns}/services", json=service).status_code == 201
        config = {"service": {"name": "webhook", "namespace": ns, "path": "/label"}, "caBundle": server.ca_bundle}
        with configured(http, MUTATING, hook(ns, "", "", clientConfig=config)):
            resp = create_configmap(http, ns, "through-service")
    assert resp.status_code == 201, resp.text
    assert resp.json()["metadata"]["labels"] == {"added": "yes"}


def test_a_named_target_port_is_found_in_the_services_endpoints(http, ns):
    with WebhookServer(f"webhook.{ns}.svc") as server:
        service = {"metadata": {"name": "webhook"},
                   "spec": {"ports": [{"name": "tls", "port": 8443, "targetPort": "webhook-tls"}]}}
        assert http.post(f"/api/v1/namespaces/{ns}/services", json=service).status_code == 201
        endpoints = {"metadata": {"name": "webhook"},
                     "subsets": [{"addresses": [{"ip": "10.1.2.3"}], "ports": [{"name": "tls", "port": server.port}]}]}
        assert http.post(f"/api/v1/namespaces/{ns}/endpoints", json=endpoints).status_code == 201
        config = {"service": {"name": "webhook", "namespace": ns, "port": 8443, "path": "/label"},
                  "caBundle": server.ca_bundle}
        with configured(http, MUTATING, hook(ns, "", "", clientConfig=config)):
            resp = create_configmap(http, ns, "through-endpoints")
    assert resp.status_code == 201, resp.text
    assert resp.json()["metadata"]["labels"] == {"added": "yes"}


def test_a_missing_service_fails_the_call_in_upstreams_words(http, ns, webhook):
    config = {"service": {"name": "nowhere", "namespace": ns}, "caBundle": webhook.ca_bundle}
    with configured(http, VALIDATING, hook(ns, "", "", name="svc.example.com", clientConfig=config)):
        resp = create_configmap(http, ns, "unreached")
    status = expect_http(resp, 500, "InternalError")
    assert status["message"] == ('Internal error occurred: failed calling webhook "svc.example.com": failed to call '
                                 f'webhook: Post "https://nowhere.{ns}.svc:443/?timeout=10s": service "nowhere" not '
                                 "found")
