"""The namespace deleter: pods go first and the rest only once none remain (ordered namespace deletion), and the
namespace's conditions say what is still there."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import AsyncIterator

import pytest
from registryhelpers import Api, configmap, namespace, pod

from harness import wait_for_async
from shim.clients.base import CONFIGMAPS, NAMESPACES, PODS
from shim.clients.local import LocalClient
from shim.controllers.namespaces import finalize_terminating
from shim.machinery.errors import StatusError

HELD = "e2e.example.com/finalizer"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    api = await Api(tmp_path).start()
    yield api
    api.store.close()


@pytest.fixture
async def deleter(api: Api) -> AsyncIterator[LocalClient]:
    client = LocalClient(api.verbs)
    task = asyncio.create_task(finalize_terminating(client, lambda: [PODS, CONFIGMAPS], poll=0.02))
    yield client
    task.cancel()


async def _terminating_with_a_held_pod(api: Api, client: LocalClient) -> None:
    await api.create("namespaces", namespace("ordered"))
    await api.create("pods", {**pod("held"), "metadata": {"name": "held", "finalizers": [HELD]}}, "ordered")
    await api.create("configmaps", configmap("kept"), "ordered")
    await client.delete(NAMESPACES, "ordered")


def _conditions(api: Api) -> dict[str, dict[str, str]]:
    ns = api.get("namespaces", "ordered")
    return {c["type"]: c for c in (ns.get("status") or {}).get("conditions") or []}


async def test_other_content_waits_until_the_pods_are_gone(api: Api, deleter: LocalClient) -> None:
    await _terminating_with_a_held_pod(api, deleter)
    await wait_for_async(lambda: api.get("pods", "held", "ordered")["metadata"].get("deletionTimestamp"), 5,
                         "the pod marked for deletion")
    await asyncio.sleep(0.2)  # several passes of the deleter
    assert api.get("configmaps", "kept", "ordered")["data"] == {"k": "v"}
    held = api.get("pods", "held", "ordered")
    held["metadata"]["finalizers"] = []
    await deleter.update(PODS, held)

    def configmap_gone() -> bool:
        try:
            api.get("configmaps", "kept", "ordered")
        except StatusError as err:
            return err.code == 404
        return False
    await wait_for_async(configmap_gone, 5, "the configmap deleted after the pod")


async def test_a_terminating_namespace_carries_the_deleters_conditions(api: Api, deleter: LocalClient) -> None:
    await _terminating_with_a_held_pod(api, deleter)
    await wait_for_async(lambda: len(_conditions(api)) == 5, 5, "the five deletion conditions")
    content = _conditions(api)["NamespaceDeletionContentFailure"]
    assert (content["status"], content["reason"]) == ("False", "ContentDeleted")


async def test_remaining_content_and_its_finalizers_are_named(api: Api, deleter: LocalClient) -> None:
    await api.create("namespaces", namespace("ordered"))
    await api.create("configmaps", {**configmap("held"), "metadata": {"name": "held", "finalizers": [HELD]}},
                     "ordered")
    await deleter.delete(NAMESPACES, "ordered")
    await wait_for_async(lambda: _conditions(api).get("NamespaceFinalizersRemaining", {}).get("status") == "True",
                         5, "NamespaceFinalizersRemaining True")
    conditions = _conditions(api)
    assert conditions["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: configmaps. has 1 resource instances")
    assert conditions["NamespaceFinalizersRemaining"]["message"] == (
        f"Some content in the namespace has finalizers remaining: {HELD} in 1 resource instances")
