"""Service-account JWTs: claims, keys and rotation, and what the authenticator refuses (shim.machinery.satokens,
shim.server.satokens, shim.server.auth.ServiceAccountTokens)."""
from __future__ import annotations

import base64
import json
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from registryhelpers import WRITE, Api, pod
from shim.machinery import satokens
from shim.registry.options import DeleteOptions
from shim.registry.services import Services
from shim.server.auth import ServiceAccountTokens
from shim.server.satokens import SIGNING_KEY, VERIFY_KEYS, InvalidToken, TokenAuthority, rotate

Obj = dict[str, Any]
ISSUER = "https://issuer.test"
SERVER = "https://127.0.0.1:6443"

# kube-apiserver's key-id stability vector (pkg/serviceaccount/keyid_test.go): the same public key must get the
# same kid here as there, or a JWKS consumer could not match kubeshim's tokens with keys moved between servers.
UPSTREAM_KEY = b"""-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA249XwEo9k4tM8fMxV7zx
OhcrP+WvXn917koM5Qr2ZXs4vo26e4ytdlrV0bQ9SlcLpQVSYjIxNfhTZdDt+ecI
zshKuv1gKIxbbLQMOuK1eA/4HALyEkFgmS/tleLJrhc65tKPMGD+pKQ/xhmzRuCG
51RoiMgbQxaCyYxGfNLpLAZK9L0Tctv9a0mJmGIYnIOQM4kC1A1I1n3EsXMWmeJU
j7OTh/AjjCnMnkgvKT2tpKxYQ59PgDgU8Ssc7RDSmSkLxnrv+OrN80j6xrw0OjEi
B4Ycr0PqfzZcvy8efTtFQ/Jnc4Bp1zUtFXt7+QeevePtQ2EcyELXE0i63T1CujRM
WwIDAQAB
-----END PUBLIC KEY-----
"""
UPSTREAM_KID = "JHJehTTTZlsspKHT-GaJxK7Kd1NQgZJu3fyK6K_QDYU"


def account(name: str = "robot", uid: str = "sa-uid", namespace: str = "default") -> Obj:
    return {"metadata": {"name": name, "namespace": namespace, "uid": uid}}


def decoded(token: str) -> tuple[Obj, Obj]:
    head, body, _ = token.split(".")
    return tuple(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))) for part in (head, body))  # type: ignore[return-value]


# ----- claims and keys -----

def test_key_id_is_upstreams_derivation() -> None:
    key = serialization.load_pem_public_key(UPSTREAM_KEY)
    assert satokens.key_id(key) == UPSTREAM_KID  # type: ignore[arg-type]
    assert satokens.jwk(key)["kid"] == UPSTREAM_KID  # type: ignore[arg-type]


def test_bound_claims_name_the_account_the_pod_and_its_node() -> None:
    claims = satokens.bound_claims(ISSUER, account(), ["api"], 1000, 3600, "the-jti",
                                   pod={"metadata": {"name": "p", "uid": "pod-uid"}},
                                   node={"metadata": {"name": "n"}}, warn_after=3607)
    assert claims == {"aud": ["api"], "exp": 4600, "iat": 1000, "nbf": 1000, "iss": ISSUER, "jti": "the-jti",
                      "sub": "system:serviceaccount:default:robot",
                      "kubernetes.io": {"namespace": "default", "serviceaccount": {"name": "robot", "uid": "sa-uid"},
                                        "pod": {"name": "p", "uid": "pod-uid"}, "node": {"name": "n"},
                                        "warnafter": 4607}}


def test_legacy_claims_name_the_secret_and_never_expire() -> None:
    assert satokens.legacy_claims(account(), "robot-token") == {
        "iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:default:robot",
        "kubernetes.io/serviceaccount/namespace": "default",
        "kubernetes.io/serviceaccount/secret.name": "robot-token",
        "kubernetes.io/serviceaccount/service-account.name": "robot",
        "kubernetes.io/serviceaccount/service-account.uid": "sa-uid"}


def test_signing_key_is_made_once_and_private(tmp_path: Path) -> None:
    first = TokenAuthority.load(tmp_path, [ISSUER], SERVER)
    assert stat.S_IMODE((tmp_path / SIGNING_KEY).stat().st_mode) == 0o600
    again = TokenAuthority.load(tmp_path, [ISSUER], SERVER)
    assert list(again.verifying) == list(first.verifying)


def test_the_hmac_key_of_opaque_tokens_is_replaced_by_an_rsa_key(tmp_path: Path) -> None:
    (tmp_path / SIGNING_KEY).write_bytes(b"\x01" * 32)
    authority = TokenAuthority.load(tmp_path, [ISSUER], SERVER)
    assert authority.verify(authority.sign({"iss": ISSUER}), (ISSUER,)) == {"iss": ISSUER}


def test_tokens_are_rs256_with_the_signing_keys_kid_and_no_typ(tmp_path: Path) -> None:
    authority = TokenAuthority.load(tmp_path, [ISSUER], SERVER)
    header, claims = decoded(authority.sign({"iss": ISSUER, "sub": "x"}))
    assert header == {"alg": "RS256", "kid": satokens.key_id(authority.signing.public_key())}
    assert claims == {"iss": ISSUER, "sub": "x"}


def test_after_rotation_old_tokens_verify_and_the_jwks_lists_both_keys(tmp_path: Path) -> None:
    before = TokenAuthority.load(tmp_path, [ISSUER], SERVER)
    old_token = before.sign({"iss": ISSUER})
    new_kid = rotate(tmp_path)
    after = TokenAuthority.load(tmp_path, [ISSUER], SERVER)
    kids = [key["kid"] for key in json.loads(after.jwks())["keys"]]
    assert kids == [new_kid, *before.verifying]
    assert decoded(after.sign({"iss": ISSUER}))[0]["kid"] == new_kid
    assert after.verify(old_token, (ISSUER,)) == {"iss": ISSUER}
    (tmp_path / VERIFY_KEYS).unlink()  # the old key retired: its tokens no longer verify
    with pytest.raises(InvalidToken):
        TokenAuthority.load(tmp_path, [ISSUER], SERVER).verify(old_token, (ISSUER,))


def test_discovery_document_points_at_the_servers_jwks(tmp_path: Path) -> None:
    authority = TokenAuthority.load(tmp_path, [ISSUER], SERVER)
    assert json.loads(authority.openid_configuration()) == {
        "issuer": ISSUER, "jwks_uri": f"{SERVER}/openid/v1/jwks", "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]}


# ----- verification against the stored objects -----

class Cluster:
    def __init__(self, api: Api, authority: TokenAuthority) -> None:
        self.api = api
        self.authority = authority
        self.accounts = ServiceAccountTokens(authority, self.lookup)

    def lookup(self, plural: str, namespace: str, name: str) -> Obj | None:
        info = self.api.info(plural)
        entry = self.api.registry.get_entry(info, namespace, name)
        return self.api.registry.decode(info, entry) if entry is not None else None

    async def token(self, spec: Obj | None = None, name: str = "robot") -> str:
        info = self.api.info("serviceaccounts")
        written = await self.api.verbs.create(info, "default", {"spec": spec or {}}, WRITE, name=name,
                                              subresource="token")
        return str(written.object["status"]["token"])


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    authority = TokenAuthority.load(tmp_path / "keys", [ISSUER], SERVER)
    api = await Api(tmp_path, Services(tokens=authority)).start()
    await api.create("serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}},
                     "default")
    yield Cluster(api, authority)
    api.store.close()


async def test_a_token_authenticates_as_its_service_account(cluster: Cluster) -> None:
    user = cluster.accounts.user(await cluster.token())
    uid = cluster.api.get("serviceaccounts", "robot", "default")["metadata"]["uid"]
    assert user is not None
    assert (user.name, user.uid) == ("system:serviceaccount:default:robot", uid)
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated")
    assert list(user.extra) == [satokens.CREDENTIAL_ID]


async def test_a_pod_bound_token_carries_the_pod_in_the_users_extra(cluster: Cluster) -> None:
    created = await cluster.api.create("pods", pod("p", serviceAccountName="robot"), "default")
    user = cluster.accounts.user(await cluster.token({"boundObjectRef": {"kind": "Pod", "apiVersion": "v1",
                                                                        "name": "p"}}))
    assert user is not None
    assert user.extra[satokens.POD_NAME] == ("p",) and user.extra[satokens.POD_UID] == (created["metadata"]["uid"],)


async def test_a_tampered_token_is_refused(cluster: Cluster) -> None:
    head, body, signature = (await cluster.token()).split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["sub"] = "system:serviceaccount:kube-system:admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    assert cluster.accounts.user(f"{head}.{forged}.{signature}") is None


async def test_a_token_signed_by_another_key_is_refused(cluster: Cluster, tmp_path: Path) -> None:
    other = TokenAuthority.load(tmp_path / "other", [ISSUER], SERVER)
    claims = decoded(await cluster.token())[1]
    assert cluster.accounts.user(other.sign(claims)) is None


def _resigned(cluster: Cluster, token: str, **changes: Any) -> str:
    return cluster.authority.sign({**decoded(token)[1], **changes})


async def test_an_expired_token_is_refused_after_a_minutes_leeway(cluster: Cluster) -> None:
    token = await cluster.token()
    now = int(time.time())
    assert cluster.accounts.user(_resigned(cluster, token, exp=now - 30)) is not None
    with pytest.raises(InvalidToken, match="expired"):
        cluster.accounts.review(_resigned(cluster, token, exp=now - 120), cluster.authority.audiences)


async def test_a_token_not_yet_valid_is_refused(cluster: Cluster) -> None:
    token = await cluster.token()
    with pytest.raises(InvalidToken, match="not valid yet"):
        cluster.accounts.review(_resigned(cluster, token, nbf=int(time.time()) + 600), cluster.authority.audiences)


async def test_a_token_of_an_unknown_issuer_is_refused(cluster: Cluster) -> None:
    token = await cluster.token()
    assert cluster.accounts.user(_resigned(cluster, token, iss="https://elsewhere")) is None


async def test_a_token_for_another_audience_is_refused(cluster: Cluster) -> None:
    token = await cluster.token({"audiences": ["vault"]})
    assert cluster.accounts.user(token) is None
    user, audiences = cluster.accounts.review(token, ("vault",))
    assert audiences == ["vault"] and user.name == "system:serviceaccount:default:robot"


async def test_a_token_of_a_deleted_or_recreated_account_is_refused(cluster: Cluster) -> None:
    token = await cluster.token()
    await cluster.api.verbs.delete(cluster.api.info("serviceaccounts"), "default", "robot", DeleteOptions())
    assert cluster.accounts.user(token) is None
    await cluster.api.create("serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                                 "metadata": {"name": "robot"}}, "default")
    assert cluster.accounts.user(token) is None  # same name, another uid


async def test_a_token_bound_to_a_deleted_secret_is_refused(cluster: Cluster) -> None:
    await cluster.api.create("secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}},
                             "default")
    token = await cluster.token({"boundObjectRef": {"kind": "Secret", "apiVersion": "v1", "name": "s"}})
    assert cluster.accounts.user(token) is not None
    await cluster.api.verbs.delete(cluster.api.info("secrets"), "default", "s", DeleteOptions())
    assert cluster.accounts.user(token) is None


async def test_a_pod_bound_token_dies_with_its_pod_and_is_not_its_successors(cluster: Cluster) -> None:
    first = await cluster.api.create("pods", pod("p", serviceAccountName="robot"), "default")
    token = await cluster.token({"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p"}})
    assert cluster.accounts.user(token) is not None
    await cluster.api.verbs.delete(cluster.api.info("pods"), "default", "p", DeleteOptions())
    with pytest.raises(InvalidToken, match="^service account token has been invalidated$"):
        cluster.accounts.review(token, cluster.authority.audiences)
    second = await cluster.api.create("pods", pod("p", serviceAccountName="robot"), "default")
    with pytest.raises(InvalidToken) as err:
        cluster.accounts.review(token, cluster.authority.audiences)
    assert str(err.value) == f"pod UID ({second['metadata']['uid']}) does not match service account pod ref " \
                             f"claim ({first['metadata']['uid']})"


async def test_a_legacy_token_holds_while_its_secret_holds_it(cluster: Cluster) -> None:
    sa = cluster.api.get("serviceaccounts", "robot", "default")
    token = cluster.authority.sign(satokens.legacy_claims(sa, "robot-token"))
    assert cluster.accounts.user(token) is None  # no such Secret
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
              "metadata": {"name": "robot-token", "annotations": {"kubernetes.io/service-account.name": "robot"}},
              "data": {"token": base64.b64encode(token.encode()).decode()}}
    await cluster.api.create("secrets", secret, "default")
    user = cluster.accounts.user(token)
    assert user is not None and user.name == "system:serviceaccount:default:robot" and not user.extra
    other = cluster.authority.sign({**satokens.legacy_claims(sa, "robot-token"), "sub": "x"})
    assert cluster.accounts.user(other) is None


def test_garbage_is_not_a_token(tmp_path: Path) -> None:
    authority = TokenAuthority.load(tmp_path, [ISSUER], SERVER)
    accounts = ServiceAccountTokens(authority, lambda *_: None)
    for token in ("", "abc", "a.b.c", jwt.encode({"iss": ISSUER}, "s" * 32, algorithm="HS256")):
        assert accounts.user(token) is None


def test_a_remembered_token_still_expires(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    authority = TokenAuthority.load(tmp_path, [ISSUER], SERVER)
    now = int(time.time())
    token = authority.sign({"iss": ISSUER, "exp": now + 10})
    assert authority.verify(token, (ISSUER,))["exp"] == now + 10
    monkeypatch.setattr(time, "time", lambda: now + 10 + satokens.LEEWAY + 1)
    with pytest.raises(InvalidToken, match="expired"):
        authority.verify(token, (ISSUER,))
