"""Service-account token claims as kube-apiserver writes and checks them (pkg/serviceaccount/claims.go and
legacy.go), and the key id and JWK of a verifying key (jwt.go, openidmetadata.go).

Pure: no keys on disk, no signing, no lookups. Programs read these claims (Vault's Kubernetes auth, a pod that
decodes its token to learn its namespace, an OIDC relying party), so their names and shapes are upstream's.
"""
from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

Obj = dict[str, Any]

#: the `iss` of the tokens kube-controller-manager writes into service-account-token Secrets
LEGACY_ISSUER = "kubernetes/serviceaccount"
#: what the kubelet asks for its kube-api-access volume; such a pod-bound token lives a year, warning after this
WARN_ONLY_SECONDS = 60 * 60 + 7
EXTENDED_SECONDS = 365 * 24 * 60 * 60
MIN_SECONDS = 10 * 60
MAX_SECONDS = 1 << 32
#: go-jose's clock skew allowance for exp, nbf and iat
LEEWAY = 60

PREFIX = "system:serviceaccount:"
CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"
POD_NAME, POD_UID = "authentication.kubernetes.io/pod-name", "authentication.kubernetes.io/pod-uid"
NODE_NAME, NODE_UID = "authentication.kubernetes.io/node-name", "authentication.kubernetes.io/node-uid"
LEGACY_KEYS = {"namespace": "kubernetes.io/serviceaccount/namespace",
               "secret": "kubernetes.io/serviceaccount/secret.name",
               "name": "kubernetes.io/serviceaccount/service-account.name",
               "uid": "kubernetes.io/serviceaccount/service-account.uid"}


def username(namespace: str, name: str) -> str:
    return f"{PREFIX}{namespace}:{name}"


def groups(namespace: str) -> tuple[str, ...]:
    """The groups every service account of `namespace` is in (system:authenticated is added by the caller)."""
    return ("system:serviceaccounts", f"system:serviceaccounts:{namespace}")


def _ref(obj: Obj) -> Obj:
    """A {name, uid} claim, each left out when empty (upstream's omitempty)."""
    meta = obj.get("metadata") or {}
    return {k: v for k, v in (("name", meta.get("name", "")), ("uid", meta.get("uid", ""))) if v}


def bound_claims(issuer: str, account: Obj, audiences: list[str], now: int, seconds: int, jti: str, *,
                 pod: Obj | None = None, secret: Obj | None = None, node: Obj | None = None,
                 warn_after: int = 0) -> Obj:
    """The claims of a TokenRequest's token: valid `seconds` from `now`, bound to at most one pod (with the
    node it runs on), secret or node, whose deletion revokes it."""
    meta = account.get("metadata") or {}
    private: Obj = {"namespace": meta.get("namespace", ""), "serviceaccount": _ref(account)}
    if pod is not None:
        private["pod"] = _ref(pod)
    elif secret is not None:
        private["secret"] = _ref(secret)
    if node is not None:
        private["node"] = _ref(node)
    if warn_after:
        private["warnafter"] = now + warn_after
    return {"aud": list(audiences), "exp": now + seconds, "iat": now, "iss": issuer, "jti": jti,
            "kubernetes.io": private, "nbf": now, "sub": username(meta.get("namespace", ""), meta.get("name", ""))}


def legacy_claims(account: Obj, secret_name: str) -> Obj:
    """The claims of a service-account-token Secret's token: no audience and no expiry; it lives as long as
    the Secret does and holds this very token."""
    meta = account.get("metadata") or {}
    return {"iss": LEGACY_ISSUER, "sub": username(meta.get("namespace", ""), meta.get("name", "")),
            LEGACY_KEYS["namespace"]: meta.get("namespace", ""), LEGACY_KEYS["secret"]: secret_name,
            LEGACY_KEYS["name"]: meta.get("name", ""), LEGACY_KEYS["uid"]: meta.get("uid", "")}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def key_id(public_key: RSAPublicKey) -> str:
    """Upstream's `kid`: the unpadded base64url SHA-256 of the key's DER SubjectPublicKeyInfo, so that the same
    key has the same id on every server that holds it."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _b64(hashlib.sha256(der).digest())


def _uint(value: int) -> str:
    return _b64(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def jwk(public_key: RSAPublicKey) -> Obj:
    """The key as the JWKS document lists it (go-jose's fields for an RS256 signing key)."""
    numbers = public_key.public_numbers()
    return {"use": "sig", "kty": "RSA", "kid": key_id(public_key), "alg": "RS256", "n": _uint(numbers.n),
            "e": _uint(numbers.e)}


def user_extra(claims: Obj) -> dict[str, tuple[str, ...]]:
    """The user's extra of a verified bound token: the pod and node it is bound to, and its credential id."""
    private = claims.get("kubernetes.io") or {}
    extra: dict[str, tuple[str, ...]] = {}
    pod, node = private.get("pod") or {}, private.get("node") or {}
    if pod.get("name") and pod.get("uid"):
        extra[POD_NAME], extra[POD_UID] = (pod["name"],), (pod["uid"],)
    if claims.get("jti"):
        extra[CREDENTIAL_ID] = (f"JTI={claims['jti']}",)
    if node.get("name"):
        extra[NODE_NAME] = (node["name"],)
        if node.get("uid"):
            extra[NODE_UID] = (node["uid"],)
    return extra
