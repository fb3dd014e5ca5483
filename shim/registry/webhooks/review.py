"""The AdmissionReview a webhook receives and the checks on the one it answers (upstream's
webhook/request/admissionreview.go): CreateV1AdmissionReview and VerifyAdmissionResponse."""
from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass, field
from typing import Any

from shim.machinery import errors
from shim.registry.admission import Attributes, admission_request
from shim.registry.resource import ResourceInfo
from shim.registry.webhooks.client import CallError

Obj = dict[str, Any]
V1 = "admission.k8s.io/v1"
V1BETA1 = "admission.k8s.io/v1beta1"


@dataclass
class Verdict:
    """What a webhook decided (upstream's AdmissionResponse once verified)."""

    allowed: bool
    result: Obj | None
    patch: bytes = b""
    patch_type: str = ""
    warnings: list[str] = field(default_factory=list)
    audit_annotations: dict[str, str] = field(default_factory=dict)


def review_version(versions: list[str]) -> str:
    """The first AdmissionReview version the webhook accepts that upstream speaks (CreateAdmissionObjects)."""
    for version in versions:
        if version in ("v1", "v1beta1"):
            return version
    raise CallError("could not create admission objects: webhook does not accept known AdmissionReview versions "
                    "(v1, v1beta1)")


def build(attrs: Attributes, matched: ResourceInfo, obj: Obj | None, old: Obj | None, version: str) -> Obj:
    """A fresh AdmissionReview for one call: a new uid, the request as the matched resource sees it."""
    request = {"uid": str(uuid.uuid4()), **admission_request(attrs, matched), "object": obj, "oldObject": old}
    return {"kind": "AdmissionReview", "apiVersion": V1 if version == "v1" else V1BETA1, "request": request}


def verify(review: Obj, sent: Obj, mutating: bool) -> Verdict:
    """VerifyAdmissionResponse: the answer is an AdmissionReview of the version sent, about the request sent;
    raises CallError (`received invalid webhook response: ...`) otherwise."""
    response = review.get("response")
    if not isinstance(response, dict):
        raise _invalid("webhook response was absent")
    uid = sent["request"]["uid"]
    v1 = sent["apiVersion"] == V1
    if v1:
        if response.get("uid", "") != uid:
            raise _invalid(f'expected response.uid="{uid}", got "{response.get("uid", "")}"')
        kind = f"{review.get('apiVersion', '')}, Kind={review.get('kind', '')}"
        if (review.get("apiVersion"), review.get("kind")) != (V1, "AdmissionReview"):
            raise _invalid(f"expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got {kind}")
    patch = _patch_bytes(response.get("patch"))
    patch_type = response.get("patchType")
    if not v1:
        patch_type = "JSONPatch" if patch and mutating else None
    elif mutating:
        if patch and patch_type is None:
            raise _invalid("webhook returned response.patch but not response.patchType")
        if not patch and patch_type is not None:
            raise _invalid("webhook returned response.patchType but not response.patch")
        if patch_type is not None and not patch_type:
            raise _invalid('webhook returned invalid response.patchType of ""')
    else:
        if patch:
            raise _invalid("validating webhook may not return response.patch")
        if patch_type is not None:
            raise _invalid("validating webhook may not return response.patchType")
    result = response.get("status")
    return Verdict(bool(response.get("allowed")), result if isinstance(result, dict) else None,
                   patch if mutating else b"", str(patch_type or ""),
                   [str(w) for w in response.get("warnings") or []],
                   {str(k): str(v) for k, v in (response.get("auditAnnotations") or {}).items()})


def _invalid(message: str) -> CallError:
    return CallError("received invalid webhook response: " + message)


def _patch_bytes(value: Any) -> bytes:
    """response.patch: []byte, base64 in JSON (a value that is no base64 fails decoding the whole answer)."""
    if value is None or value == "":
        return b""
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise CallError("failed to call webhook: illegal base64 data at input byte 0") from None


def denied(webhook: str, result: Obj | None) -> errors.StatusError:
    """ToStatusErr: the Status a rejection is answered with, the webhook's own (code at least 400, its
    reason and details) with the message `admission webhook "x" denied the request: ...`."""
    status = result or {}
    code = status.get("code")
    code = code if isinstance(code, int) and code >= 400 else 400
    reason = str(status.get("reason") or "")
    prefix = f'admission webhook "{webhook}" denied the request'
    if status.get("message"):
        message = f"{prefix}: {status['message']}"
    elif reason:
        message = f"{prefix}: {reason}"
    else:
        message = f"{prefix} without explanation"
    details: Obj = status["details"] if isinstance(status.get("details"), dict) else {}
    retry = details.get("retryAfterSeconds")
    return errors.StatusError(code, reason, message, name=str(details.get("name") or "") or None,
                              group=str(details.get("group") or "") or None,
                              kind=str(details.get("kind") or "") or None,
                              causes=[c for c in details.get("causes") or [] if isinstance(c, dict)] or None,
                              retry_after=retry if isinstance(retry, int) else None)
