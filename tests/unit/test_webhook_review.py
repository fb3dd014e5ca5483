"""What kube-apiserver checks of a webhook's AdmissionReview answer and how a refusal becomes a Status
(shim.registry.webhooks.review), and the URL a webhook is called at (shim.registry.webhooks.client), without
sockets."""
from __future__ import annotations

import base64
from typing import Any

import pytest

from shim.registry.webhooks.client import CallError, target
from shim.registry.webhooks.review import denied, verify

Obj = dict[str, Any]
SENT = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "u-1"}}
PATCH = base64.b64encode(b'[{"op":"add","path":"/x","value":1}]').decode()


def answer(**response: Any) -> Obj:
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": {"uid": "u-1", **response}}


def refusal(review: Obj, mutating: bool = True) -> str:
    with pytest.raises(CallError) as caught:
        verify(review, SENT, mutating)
    return caught.value.reason


def test_an_allowed_answer_with_a_patch_is_verified():
    verdict = verify(answer(allowed=True, patch=PATCH, patchType="JSONPatch", warnings=["w"]), SENT, True)
    assert (verdict.allowed, verdict.patch_type, verdict.warnings) == (True, "JSONPatch", ["w"])
    assert verdict.patch == b'[{"op":"add","path":"/x","value":1}]'


def test_a_patch_without_its_type_is_refused():
    assert refusal(answer(allowed=True, patch=PATCH)) == ("received invalid webhook response: webhook returned "
                                                          "response.patch but not response.patchType")


def test_a_validating_webhook_may_not_patch():
    assert refusal(answer(allowed=True, patch=PATCH), mutating=False) == (
        "received invalid webhook response: validating webhook may not return response.patch")


def test_an_answer_of_another_version_is_refused():
    review = {**answer(allowed=True), "apiVersion": "admission.k8s.io/v1beta1"}
    assert refusal(review) == ("received invalid webhook response: expected webhook response of "
                               "admission.k8s.io/v1, Kind=AdmissionReview, got admission.k8s.io/v1beta1, "
                               "Kind=AdmissionReview")


def test_a_refusal_keeps_the_webhooks_status_with_upstreams_words():
    status = denied("w.example.com", {"code": 422, "reason": "Invalid", "message": "bad",
                                      "details": {"causes": [{"field": "data", "message": "no"}]}}).status()
    assert status["code"] == 422 and status["reason"] == "Invalid"
    assert status["message"] == 'admission webhook "w.example.com" denied the request: bad'
    assert status["details"] == {"causes": [{"field": "data", "message": "no"}]}


def test_a_refusal_without_code_or_message_is_a_400_without_explanation():
    status = denied("w.example.com", {"code": 200}).status()
    assert status["code"] == 400
    assert status["message"] == 'admission webhook "w.example.com" denied the request without explanation'


def test_a_url_is_called_with_the_timeout_in_its_query():
    where = target({"url": "https://localhost:8443/check"}, 7, store=None)  # type: ignore[arg-type]
    assert where.url == "https://localhost:8443/check?timeout=7s"
    assert (where.address, where.server_name, where.path) == (("127.0.0.1", 8443), "localhost", "/check?timeout=7s")
