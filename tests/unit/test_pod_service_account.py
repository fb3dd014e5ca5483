"""kube-apiserver's ServiceAccount admission on new pods: the account defaulted and required, the kube-api-access
volume mounted where in-cluster clients look, and the account's secrets enforced when it asks."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from registryhelpers import Api, namespace, pod
from shim.machinery.errors import StatusError
from shim.registry.kinds import pod_service_account
from shim.registry.kinds.pod_service_account import MOUNT_PATH, PLUGIN

Obj = dict[str, Any]


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    api = await Api(tmp_path, plugins=frozenset({PLUGIN})).start()
    await api.create("serviceaccounts", account("default"), "default")
    yield api
    api.store.close()


def account(name: str, **fields: Any) -> Obj:
    meta = {"name": name, **fields.pop("meta", {})}
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta, **fields}


async def refusal(api: Api, obj: Obj, ns: str = "default") -> str:
    with pytest.raises(StatusError) as err:
        await api.create("pods", obj, ns)
    assert err.value.code == 403 and err.value.reason == "Forbidden"
    assert api.verbs.registry.store.get("/pods", ns, obj["metadata"]["name"]) is None
    return err.value.message


async def test_a_pod_runs_as_the_default_account_with_the_api_access_volume(api: Api) -> None:
    created = await api.create("pods", pod("p", initContainers=[{"name": "init", "image": "busybox"}]), "default")
    spec = created["spec"]
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "default"
    [volume] = spec["volumes"]
    assert volume["name"].startswith("kube-api-access-") and len(volume["name"]) == len("kube-api-access-") + 5
    assert volume["projected"] == pod_service_account.token_volume_source()
    assert volume["projected"]["sources"][0]["serviceAccountToken"] == {"expirationSeconds": 3607, "path": "token"}
    mount = {"name": volume["name"], "readOnly": True, "mountPath": MOUNT_PATH}
    assert spec["containers"][0]["volumeMounts"] == spec["initContainers"][0]["volumeMounts"] == [mount]


async def test_a_container_with_its_own_mount_at_the_token_path_keeps_it(api: Api) -> None:
    own = {"name": "own", "mountPath": MOUNT_PATH}
    obj = pod("p", volumes=[{"name": "own", "emptyDir": {}}])
    obj["spec"]["containers"][0]["volumeMounts"] = [own]
    created = await api.create("pods", obj, "default")
    assert created["spec"]["containers"][0]["volumeMounts"] == [own]
    assert [v["name"] for v in created["spec"]["volumes"]] == ["own"]


@pytest.mark.parametrize("pod_says,account_says,mounted", [
    (False, None, False), (None, False, False), (True, False, True), (None, True, True)])
async def test_automount_is_the_pods_choice_else_the_accounts(api: Api, pod_says: bool | None,
                                                              account_says: bool | None, mounted: bool) -> None:
    await api.create("serviceaccounts", account("robot", automountServiceAccountToken=account_says), "default")
    created = await api.create("pods", pod("p", serviceAccountName="robot",
                                           automountServiceAccountToken=pod_says), "default")
    assert bool(created["spec"].get("volumes")) is mounted
    assert bool(created["spec"]["containers"][0].get("volumeMounts")) is mounted


async def test_the_deprecated_service_account_field_follows_the_name(api: Api) -> None:
    await api.create("serviceaccounts", account("robot"), "default")
    created = await api.create("pods", pod("p", serviceAccountName="robot", serviceAccount="other"), "default")
    assert created["spec"]["serviceAccount"] == "robot"
    created = await api.create("pods", pod("q", serviceAccount="robot"), "default")
    assert created["spec"]["serviceAccountName"] == "robot"


async def test_a_pod_of_a_missing_account_is_refused_at_once(api: Api) -> None:
    started = time.monotonic()
    message = await refusal(api, pod("p", serviceAccountName="ghost"))
    assert message == 'pods "p" is forbidden: error looking up service account default/ghost: ' \
                      'serviceaccount "ghost" not found'
    assert time.monotonic() - started < 0.5


async def test_a_pod_waits_briefly_for_the_default_account_of_a_fresh_namespace(api: Api) -> None:
    await api.create("namespaces", namespace("fresh"))
    creating = asyncio.create_task(api.create("pods", pod("p"), "fresh"))
    await asyncio.sleep(0.3)  # the service-account controller, late
    assert not creating.done()
    await api.create("serviceaccounts", account("default"), "fresh")
    assert (await creating)["spec"]["serviceAccountName"] == "default"


async def test_without_a_default_account_the_pod_is_refused_after_the_wait(api: Api) -> None:
    await api.create("namespaces", namespace("empty"))
    message = await refusal(api, pod("p"), "empty")
    assert message.endswith('error looking up service account empty/default: serviceaccount "default" not found')


async def test_the_accounts_image_pull_secrets_are_copied_when_the_pod_has_none(api: Api) -> None:
    await api.create("serviceaccounts", account("robot", imagePullSecrets=[{"name": "registry"}]), "default")
    created = await api.create("pods", pod("p", serviceAccountName="robot"), "default")
    assert created["spec"]["imagePullSecrets"] == [{"name": "registry"}]
    mine = await api.create("pods", pod("q", serviceAccountName="robot", imagePullSecrets=[{"name": "mine"}]),
                            "default")
    assert mine["spec"]["imagePullSecrets"] == [{"name": "mine"}]


async def test_an_enforcing_account_refuses_secrets_it_does_not_list(api: Api) -> None:
    await api.create("serviceaccounts", account("strict", secrets=[{"name": "listed"}],
                                                meta={"annotations": {"kubernetes.io/enforce-mountable-secrets":
                                                                      "true"}}), "default")
    ok = pod("ok", serviceAccountName="strict", volumes=[{"name": "s", "secret": {"secretName": "listed"}}])
    await api.create("pods", ok, "default")
    volume = pod("v", serviceAccountName="strict", volumes=[{"name": "s", "secret": {"secretName": "other"}}])
    assert (await refusal(api, volume)).endswith('volume with secret.secretName="other" is not allowed because '
                                                 "service account strict does not reference that secret")
    env = pod("e", serviceAccountName="strict")
    env["spec"]["containers"][0]["env"] = [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "other",
                                                                                          "key": "k"}}}]
    assert (await refusal(api, env)).endswith('container main with envVar PW referencing secret.secretName="other" '
                                              "is not allowed because service account strict does not reference "
                                              "that secret")


async def test_a_mirror_pod_gets_no_account_and_may_not_name_one(api: Api) -> None:
    mirror = {"kubernetes.io/config.mirror": "x"}
    created = await api.create("pods", {**pod("m"), "metadata": {"name": "m", "annotations": mirror}}, "default")
    assert "serviceAccountName" not in created["spec"] and "volumes" not in created["spec"]
    named = {**pod("n", serviceAccountName="default"), "metadata": {"name": "n", "annotations": mirror}}
    assert (await refusal(api, named)).endswith("a mirror pod may not reference service accounts")


async def test_a_bare_registry_runs_without_the_plugin(tmp_path: Path) -> None:
    (tmp_path / "bare").mkdir()
    api = await Api(tmp_path / "bare").start()
    created = await api.create("pods", pod("p", serviceAccountName="ghost"), "default")
    assert "volumes" not in created["spec"]
    api.store.close()
