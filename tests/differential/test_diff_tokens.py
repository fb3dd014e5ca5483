"""Service-account tokens: TokenRequest answers and token Secrets, compared by their claims (normalize.token).

Programs read these tokens (the audience, the expiry, the pod they are bound to), so kube-apiserver's JWT
structure is the contract, not the bytes (issue 10: JWT vs kubeshim's opaque tokens).
"""
from __future__ import annotations

import time

import pytest

from differ import Pair, Side

pytestmark = pytest.mark.differential


def account(s: Side, name: str = "robot") -> None:
    s.json("POST", f"/api/v1/namespaces/{s.ns}/serviceaccounts",
           {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})


def request_token(s: Side, label: str, spec: dict, name: str = "robot") -> None:
    s.request(label, "POST", f"/api/v1/namespaces/{s.ns}/serviceaccounts/{name}/token",
              body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec})


def test_token_request(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        account(s)
        request_token(s, "default", {})
        request_token(s, "audience-expiry", {"audiences": ["vault"], "expirationSeconds": 3600})
        request_token(s, "too-short", {"expirationSeconds": 60})
        request_token(s, "missing-account", {}, name="nobody")
    pair.run(scenario)


def test_token_request_bound_to_pod(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        account(s)
        s.json("POST", f"/api/v1/namespaces/{s.ns}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"serviceAccountName": "robot", "containers": [{"name": "c", "image": "busybox:1.36"}]}})
        request_token(s, "bound", {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p"}})
        request_token(s, "bound-missing", {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "none"}})
    pair.run(scenario)


def test_token_is_accepted_as_bearer(pair: Pair) -> None:
    """The issued token authenticates as the service account (whoami through a SelfSubjectReview)."""
    def scenario(s: Side) -> None:
        account(s)
        issued = s.json("POST", f"/api/v1/namespaces/{s.ns}/serviceaccounts/robot/token",
                        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
        token = issued["status"]["token"]
        s.request("whoami", "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", token=token,
                  body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    pair.run(scenario)


def test_service_account_token_secret(pair: Pair) -> None:
    """A Secret of type service-account-token is filled in by the token controller (token, ca.crt, namespace)."""
    def scenario(s: Side) -> None:
        account(s)
        path = f"/api/v1/namespaces/{s.ns}/secrets"
        s.json("POST", path, {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                              "metadata": {"name": "robot-token",
                                           "annotations": {"kubernetes.io/service-account.name": "robot"}}})
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "token" not in s.json("GET", f"{path}/robot-token").get("data", {}):
            time.sleep(0.1)
        s.request("filled", "GET", f"{path}/robot-token")
    pair.run(scenario)
