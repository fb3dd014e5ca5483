"""pods/eviction with PodDisruptionBudgets, on kubeshim's own registry: a budget with no disruption left refuses
with upstream's 429 and DisruptionBudget cause and keeps the pod; one that allows it spends a disruption, records
the pod and the pod is evicted with the DisruptionTarget condition; a budget not yet processed refuses."""
from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from harness import wait_for_async
from localapi import LocalApi
from shim.clients.base import PODS, Resource
from shim.machinery.errors import StatusError

PDBS = Resource("policy", "v1", "poddisruptionbudgets")
EVICT = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "web", "namespace": "default"}}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[LocalApi]:
    local = await LocalApi(tmp_path / "state.db").start()
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default",
                                                           "labels": {"app": "web"}},
           "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "python:3.11"}]}}
    await local.client.create(PODS, pod, "default")
    await local.client.patch(PODS, "web", {"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True"}]}}, namespace="default", subresource="status")
    yield local
    await local.close()


async def budget(api: LocalApi, **status: Any) -> None:
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
           "metadata": {"name": "web-pdb", "namespace": "default"},
           "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}
    created = await api.client.create(PDBS, pdb, "default")
    if status:
        await api.client.update(PDBS, {**created, "status": status}, subresource="status")


async def test_a_budget_with_no_disruption_allowed_refuses_with_429(api: LocalApi) -> None:
    await budget(api, observedGeneration=1, disruptionsAllowed=0, currentHealthy=1, desiredHealthy=1,
                 expectedPods=1)
    with pytest.raises(StatusError) as err:
        await api.client.create(PODS, EVICT, "default", subresource="eviction")
    assert (err.value.code, err.value.reason, err.value.message) == (
        429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.")
    assert err.value.causes == [{"type": "DisruptionBudget",
                                 "message": "The disruption budget web-pdb needs 1 healthy pods and has 1 currently"}]
    assert api.get(PODS, "web", "default") is not None


async def test_a_budget_not_yet_processed_refuses(api: LocalApi) -> None:
    await budget(api)
    with pytest.raises(StatusError) as err:
        await api.client.create(PODS, EVICT, "default", subresource="eviction")
    assert err.value.code == 429 and err.value.causes == [{
        "type": "DisruptionBudget", "message": "The disruption budget web-pdb is still being processed by the server."}]


async def test_an_allowed_eviction_spends_a_disruption_and_marks_the_pod(api: LocalApi) -> None:
    await budget(api, observedGeneration=1, disruptionsAllowed=1, currentHealthy=2, desiredHealthy=1,
                 expectedPods=2)
    watch = api.record(PODS, "web")
    await api.client.create(PODS, EVICT, "default", subresource="eviction")
    status = (await api.client.get(PDBS, "web-pdb", "default"))["status"]
    assert status["disruptionsAllowed"] == 0 and list(status["disruptedPods"]) == ["web"]
    assert [c["reason"] for c in status["conditions"] if c["type"] == "DisruptionAllowed"] == ["InsufficientPods"]
    marked = await wait_for_async(lambda: next((e.object for e in watch if any(
        c["type"] == "DisruptionTarget" for c in e.object["status"].get("conditions") or [])), None),
        what="the pod marked DisruptionTarget")
    target = next(c for c in marked["status"]["conditions"] if c["type"] == "DisruptionTarget")
    assert (target["reason"], target["message"]) == ("EvictionByEvictionAPI", "Eviction API: evicting")
    pod = api.get(PODS, "web", "default")
    assert pod is None or pod["metadata"].get("deletionTimestamp")
