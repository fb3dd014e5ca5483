"""serviceaccounts/token (TokenRequest) as upstream validates, defaults and binds it, and the token controller
that fills service-account-token Secrets."""
from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from registryhelpers import WRITE, Api, pod
from shim.clients.local import LocalClient
from shim.controllers.tokens import TokenSecrets
from shim.machinery import satokens
from shim.machinery.errors import StatusError
from shim.registry.options import DeleteOptions
from shim.registry.services import Services
from shim.server.satokens import TokenAuthority

Obj = dict[str, Any]
ISSUER = "https://issuer.test"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    authority = TokenAuthority.load(tmp_path / "keys", [ISSUER], "https://127.0.0.1:6443")
    api = await Api(tmp_path, Services(tokens=authority)).start()
    await api.create("serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}},
                     "default")
    yield api
    api.store.close()


async def request(api: Api, spec: Obj | None = None, name: str = "robot", **meta: str) -> Obj:
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "metadata": meta, "spec": spec or {}}
    written = await api.verbs.create(api.info("serviceaccounts"), "default", body, WRITE, name=name,
                                     subresource="token")
    return written.object


def claims(answer: Obj) -> Obj:
    body = answer["status"]["token"].split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


async def failure(api: Api, spec: Obj | None = None, **kw: Any) -> tuple[int, str]:
    with pytest.raises(StatusError) as err:
        await request(api, spec, **kw)
    return err.value.code, err.value.message


async def test_defaults_an_hour_for_the_api_servers_audiences(api: Api) -> None:
    answer = await request(api)
    account = api.get("serviceaccounts", "robot", "default")
    assert answer["spec"] == {"expirationSeconds": 3600, "audiences": [ISSUER], "boundObjectRef": None}
    assert answer["metadata"]["uid"] == account["metadata"]["uid"] and answer["metadata"]["creationTimestamp"]
    assert answer["metadata"]["managedFields"][0]["fieldsV1"] == {"f:spec": {"f:expirationSeconds": {}}}
    got = claims(answer)
    assert got["aud"] == [ISSUER] and got["iss"] == ISSUER and got["exp"] - got["iat"] == 3600
    assert got["kubernetes.io"] == {"namespace": "default", "serviceaccount": {
        "name": "robot", "uid": account["metadata"]["uid"]}}


async def test_refuses_less_than_ten_minutes(api: Api) -> None:
    assert await failure(api, {"expirationSeconds": 60}) == (422, (
        'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 60: may not '
        'specify a duration less than 10 minutes'))


async def test_refuses_a_missing_account(api: Api) -> None:
    assert await failure(api, name="nobody") == (404, 'serviceaccounts "nobody" not found')


async def test_refuses_another_accounts_uid(api: Api) -> None:
    code, message = await failure(api, uid="not-its-uid")
    assert code == 409 and "the UID in the token request (not-its-uid) does not match" in message


async def test_refuses_a_missing_pod(api: Api) -> None:
    assert await failure(api, {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "none"}}) == (
        404, 'pods "none" not found')


async def test_refuses_a_pod_of_another_account(api: Api) -> None:
    await api.create("pods", pod("p"), "default")
    assert await failure(api, {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p"}}) == (
        400, 'cannot bind token for serviceaccount "robot" to pod running with different serviceaccount name.')


async def test_refuses_a_bound_object_with_another_uid(api: Api) -> None:
    await api.create("pods", pod("p", serviceAccountName="robot"), "default")
    code, message = await failure(api, {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p",
                                                           "uid": "old"}})
    assert code == 409 and "The object might have been deleted and then recreated" in message


async def test_refuses_binding_to_other_kinds(api: Api) -> None:
    assert await failure(api, {"boundObjectRef": {"kind": "ConfigMap", "apiVersion": "v1", "name": "c"}}) == (
        400, "cannot bind token to object of type /v1, Kind=ConfigMap")


async def test_a_kube_api_access_token_lives_a_year_and_warns_after_its_hour(api: Api) -> None:
    await api.create("pods", pod("p", serviceAccountName="robot", nodeName="n"), "default")
    answer = await request(api, {"expirationSeconds": satokens.WARN_ONLY_SECONDS,
                                 "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p"}})
    got = claims(answer)
    assert got["exp"] - got["iat"] == satokens.EXTENDED_SECONDS
    assert got["kubernetes.io"]["warnafter"] - got["iat"] == satokens.WARN_ONLY_SECONDS
    assert got["kubernetes.io"]["pod"]["name"] == "p"
    assert got["kubernetes.io"]["node"] == {"name": "n"}  # the node object does not exist: its name still tells


async def test_the_same_lifetime_for_another_audience_is_not_extended(api: Api) -> None:
    await api.create("pods", pod("p", serviceAccountName="robot"), "default")
    got = claims(await request(api, {"expirationSeconds": satokens.WARN_ONLY_SECONDS, "audiences": ["vault"],
                                     "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p"}}))
    assert got["exp"] - got["iat"] == satokens.WARN_ONLY_SECONDS and "warnafter" not in got["kubernetes.io"]


# ----- the token controller -----

async def until(check: Any, timeout: float = 5.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := check()):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)
    return value


def token_secret(name: str = "robot-token", account: str = "robot") -> Obj:
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": name, "annotations": {"kubernetes.io/service-account.name": account}}}


def stored(api: Api, plural: str, name: str) -> Obj | None:
    info = api.info(plural)
    entry = api.registry.get_entry(info, "default", name)
    return api.registry.decode(info, entry) if entry is not None else None


@pytest.fixture
async def controller(api: Api) -> AsyncIterator[TokenSecrets]:
    signer = api.verbs.services.tokens
    assert isinstance(signer, TokenAuthority)
    secrets = TokenSecrets(LocalClient(api.verbs, manager="kube-controller-manager"), signer.sign, b"CA")
    tasks = [asyncio.create_task(secrets.fill()), asyncio.create_task(secrets.revoke())]
    yield secrets
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_token_secret_is_filled_with_a_legacy_token(api: Api, controller: TokenSecrets) -> None:
    await api.create("secrets", token_secret(), "default")
    secret = await until(lambda: (s := stored(api, "secrets", "robot-token")) and "token" in s.get("data", {}) and s)
    account = api.get("serviceaccounts", "robot", "default")
    data = {k: base64.b64decode(v) for k, v in secret["data"].items()}
    assert data["ca.crt"] == b"CA" and data["namespace"] == b"default"
    body = data["token"].decode().split(".")[1]
    assert json.loads(base64.urlsafe_b64decode(body + "==")) == satokens.legacy_claims(account, "robot-token")
    assert secret["metadata"]["annotations"]["kubernetes.io/service-account.uid"] == account["metadata"]["uid"]
    assert sorted(e["manager"] for e in secret["metadata"]["managedFields"]) == ["kube-controller-manager", "tests"]


async def test_a_token_secret_of_no_account_is_deleted(api: Api, controller: TokenSecrets) -> None:
    await api.create("secrets", token_secret("orphan-token", "nobody"), "default")
    await until(lambda: stored(api, "secrets", "orphan-token") is None)


async def test_deleting_the_account_deletes_its_token_secrets(api: Api, controller: TokenSecrets) -> None:
    await api.create("secrets", token_secret(), "default")
    await until(lambda: (s := stored(api, "secrets", "robot-token")) and "token" in s.get("data", {}))
    await api.verbs.delete(api.info("serviceaccounts"), "default", "robot", DeleteOptions())
    await until(lambda: stored(api, "secrets", "robot-token") is None)
