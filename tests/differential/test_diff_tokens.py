"""Service-account tokens: TokenRequest answers and token Secrets, compared by their claims (normalize.token).

Programs read these tokens (the audience, the expiry, the pod they are bound to), so kube-apiserver's JWT
structure is the contract, not the bytes (issue 10: JWT vs kubeshim's opaque tokens).
"""
from __future__ import annotations

import base64
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


def test_token_request_refusals(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        account(s)
        account(s, "other")
        s.json("POST", f"/api/v1/namespaces/{s.ns}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"serviceAccountName": "other", "containers": [{"name": "c", "image": "busybox:1.36"}]}})
        s.json("POST", f"/api/v1/namespaces/{s.ns}/secrets",
               {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})
        request_token(s, "other-accounts-pod", {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p"}})
        request_token(s, "configmap", {"boundObjectRef": {"kind": "ConfigMap", "apiVersion": "v1", "name": "c"}})
        request_token(s, "secret-of-another-uid", {"boundObjectRef": {
            "kind": "Secret", "apiVersion": "v1", "name": "s", "uid": "9d8e1f6a-0000-4000-8000-000000000000"}})
        request_token(s, "bound-to-secret", {"boundObjectRef": {"kind": "Secret", "apiVersion": "v1", "name": "s"}})
        s.request("name-mismatch", "POST", f"/api/v1/namespaces/{s.ns}/serviceaccounts/robot/token",
                  body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                        "metadata": {"name": "other"}, "spec": {}})
        s.request("uid-mismatch", "POST", f"/api/v1/namespaces/{s.ns}/serviceaccounts/robot/token",
                  body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                        "metadata": {"uid": "9d8e1f6a-0000-4000-8000-000000000000"}, "spec": {}})
    pair.run(scenario)


def whoami(s: Side, label: str, token: str) -> None:
    s.request(label, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", token=token,
              body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})


def issue(s: Side, spec: dict, name: str = "robot") -> str:
    return str(s.json("POST", f"/api/v1/namespaces/{s.ns}/serviceaccounts/{name}/token",
                      {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec})
               ["status"]["token"])


def test_a_bound_token_dies_with_its_pod(pair: Pair) -> None:
    """A pod-bound token names its pod in the user's extra, and stops authenticating once the pod is gone.
    (kube-apiserver caches a token's user for 10 s: the token asked about after the deletion is one not used
    before it.)"""
    def scenario(s: Side) -> None:
        account(s)
        s.json("POST", f"/api/v1/namespaces/{s.ns}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"serviceAccountName": "robot", "containers": [{"name": "c", "image": "busybox:1.36"}]}})
        used, unused = (issue(s, {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p"}})
                        for _ in range(2))
        whoami(s, "bound", used)
        s.json("DELETE", f"/api/v1/namespaces/{s.ns}/pods/p", {"gracePeriodSeconds": 0})
        whoami(s, "pod-deleted", unused)
    pair.run(scenario)


def test_token_review_of_a_token_whose_pod_is_gone_or_replaced(pair: Pair) -> None:
    """TokenReview says why a pod-bound token no longer holds: its pod deleted, or a new pod of the same name.
    (Each token is reviewed once: kube-apiserver caches a token's answer for 10 s.)"""
    def scenario(s: Side) -> None:
        account(s)
        pods = f"/api/v1/namespaces/{s.ns}/pods"
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "spec": {"serviceAccountName": "robot", "containers": [{"name": "c", "image": "busybox:1.36"}]}}
        s.json("POST", pods, pod)
        bound = {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p"}}
        live, deleted, replaced = (issue(s, bound) for _ in range(3))

        def review(label: str, token: str) -> None:
            s.request(label, "POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                      body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                            "spec": {"token": token}})
        review("pod-live", live)
        s.json("DELETE", f"{pods}/p", {"gracePeriodSeconds": 0})
        review("pod-deleted", deleted)
        s.json("POST", pods, pod)
        review("pod-replaced", replaced)
    pair.run(scenario)


def test_a_token_dies_with_its_service_account(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        account(s)
        token = issue(s, {})
        s.json("DELETE", f"/api/v1/namespaces/{s.ns}/serviceaccounts/robot")
        whoami(s, "account-deleted", token)
        account(s)
        whoami(s, "account-recreated", token)
    pair.run(scenario)


def test_token_review(pair: Pair) -> None:
    """TokenReview: who a token stands for, for which audiences (a webhook's or an aggregated server's check)."""
    def scenario(s: Side) -> None:
        account(s)
        default, vault = issue(s, {}), issue(s, {"audiences": ["vault"]})

        def review(label: str, spec: dict) -> None:
            s.request(label, "POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                      body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec})
        review("default", {"token": default})
        review("for-vault", {"token": vault, "audiences": ["vault", "other"]})
        review("not-for-the-api", {"token": vault})
        review("wrong-audience", {"token": default, "audiences": ["vault"]})
        review("garbage", {"token": "not-a-token"})
        review("no-token", {})
    pair.run(scenario)


def key_shapes(jwks: dict) -> dict:
    """A JWKS with each key's own bytes left out (each server its key): what is compared is the fields."""
    return {**jwks, "keys": [{**key, "kid": "<kid>", "n": f"<{len(key.get('n', ''))} characters>"}
                             for key in jwks.get("keys") or []]}


def test_service_account_issuer_discovery(pair: Pair) -> None:
    """The OIDC documents relying parties verify service-account tokens with, read by the admin, by a service
    account (the default system:service-account-issuer-discovery binding) and by an anonymous client."""
    def scenario(s: Side) -> None:
        account(s)
        token = issue(s, {})
        s.request("config", "GET", "/.well-known/openid-configuration")
        s.request("jwks", "GET", "/openid/v1/jwks", view=key_shapes)
        s.request("config-as-service-account", "GET", "/.well-known/openid-configuration", token=token)
        s.request("jwks-as-service-account", "GET", "/openid/v1/jwks", token=token, view=key_shapes)
        s.request("anonymous", "GET", "/openid/v1/jwks", token="")
    pair.run(scenario)


def test_a_token_secrets_token_authenticates_while_the_secret_exists(pair: Pair) -> None:
    """The legacy token of a service-account-token Secret, before and after its Secret is deleted (another
    Secret's: kube-apiserver caches a token's user for 10 s)."""
    def scenario(s: Side) -> None:
        account(s)
        path = f"/api/v1/namespaces/{s.ns}/secrets"

        def filled(name: str) -> str:
            s.json("POST", path, {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                                  "metadata": {"name": name,
                                               "annotations": {"kubernetes.io/service-account.name": "robot"}}})
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and "token" not in s.json("GET", f"{path}/{name}").get("data", {}):
                time.sleep(0.1)
            return base64.b64decode(s.json("GET", f"{path}/{name}")["data"]["token"]).decode()
        kept, deleted = filled("kept"), filled("deleted")
        whoami(s, "whoami", kept)
        s.json("DELETE", f"{path}/deleted")
        whoami(s, "secret-deleted", deleted)
    pair.run(scenario)
