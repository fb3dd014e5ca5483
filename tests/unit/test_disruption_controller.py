"""The disruption controller on kubeshim's own registry (pods stand in for a kubelet's by writing their status):
it computes each PodDisruptionBudget's status from the pods it selects and their controllers' scale, so that
eviction is allowed while the budget permits and refused once it does not; evictions it no longer awaits leave
disruptedPods; a status it cannot compute allows no disruption (SyncFailed); a DisruptionTarget condition nobody
acted on for two minutes is reset."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from harness import wait_for_async
from localapi import LocalApi
from shim.clients.base import PODS
from shim.controllers.clock import FakeClock
from shim.controllers.disruption import PDBS
from shim.controllers.replicaset import REPLICASETS
from shim.kubelet.timeutil import rfc3339
from shim.machinery.errors import StatusError
from workloadhelpers import live_pods, mark_ready, workloads

ONLY = ["disruption-controller"]


def pod(name: str, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "web"}, **meta},
            "spec": {"containers": [{"name": "c", "image": "python:3.11"}]}}


async def ready_pods(api: LocalApi, *names: str, **meta: Any) -> None:
    for name in names:
        created = await api.client.create(PODS, pod(name, **meta), "default")
        await mark_ready(api, created, time.time())


async def create_budget(api: LocalApi, **spec: Any) -> None:
    await api.client.create(PDBS, {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                                   "metadata": {"name": "web"},
                                   "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}}, "default")


def status(api: LocalApi) -> dict[str, Any]:
    return dict((api.get(PDBS, "web", "default") or {}).get("status") or {})


async def settled(api: LocalApi, **expected: Any) -> dict[str, Any]:
    """Wait for the budget's status to show `expected` (and its generation observed); return it."""
    def check() -> dict[str, Any] | None:
        current = status(api)
        return current if current.get("observedGeneration") == 1 and all(
            current.get(k) == v for k, v in expected.items()) else None
    return await wait_for_async(check, what=f"budget status {expected}")


async def evict(api: LocalApi, name: str) -> None:
    await api.client.create(PODS, {"apiVersion": "policy/v1", "kind": "Eviction",
                                   "metadata": {"name": name, "namespace": "default"}}, "default",
                            subresource="eviction")


def condition(current: dict[str, Any]) -> tuple[str, str]:
    cond = next(c for c in current["conditions"] if c["type"] == "DisruptionAllowed")
    return cond["status"], cond["reason"]


async def test_min_available_counts_the_ready_pods_the_budget_selects(tmp_path: Path) -> None:
    async with workloads(tmp_path, ONLY) as api:
        await ready_pods(api, "a", "b", "c")
        await create_budget(api, minAvailable=2)
        current = await settled(api, currentHealthy=3, desiredHealthy=2, expectedPods=3, disruptionsAllowed=1)
        assert condition(current) == ("True", "SufficientPods")


async def test_eviction_is_allowed_while_the_budget_permits_and_refused_after(tmp_path: Path) -> None:
    async with workloads(tmp_path, ONLY) as api:
        await ready_pods(api, "a", "b")
        await create_budget(api, minAvailable=1)
        await settled(api, disruptionsAllowed=1)
        await evict(api, "a")
        assert api.get(PODS, "a", "default") is None or api.get(PODS, "a", "default")["metadata"].get(
            "deletionTimestamp")
        current = await settled(api, currentHealthy=1, disruptionsAllowed=0)
        assert condition(current) == ("False", "InsufficientPods")
        with pytest.raises(StatusError) as err:
            await evict(api, "b")
        assert (err.value.code, err.value.reason) == (429, "TooManyRequests")
        assert not api.get(PODS, "b", "default")["metadata"].get("deletionTimestamp")


async def test_max_unavailable_takes_the_scale_of_the_pods_controller(tmp_path: Path) -> None:
    async with workloads(tmp_path, [*ONLY, "replicaset-controller"]) as api:
        await api.client.create(REPLICASETS, {
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
            "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "python:3.11"}]}}}}, "default")
        pods = await live_pods(api, 4, "app=web")
        for p in pods[:3]:
            await mark_ready(api, p, time.time())
        await create_budget(api, maxUnavailable="25%")
        await settled(api, expectedPods=4, desiredHealthy=3, currentHealthy=3, disruptionsAllowed=0)


async def test_a_percentage_over_pods_without_a_controller_expects_none(tmp_path: Path) -> None:
    async with workloads(tmp_path, ONLY) as api:
        await ready_pods(api, "a", "b")
        await create_budget(api, minAvailable="50%")
        await settled(api, expectedPods=0, desiredHealthy=0, currentHealthy=2, disruptionsAllowed=0)


async def test_a_pod_whose_controller_is_not_a_scalable_kind_fails_the_sync_safely(tmp_path: Path) -> None:
    owner = [{"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": "1234", "controller": True}]
    async with workloads(tmp_path, ONLY) as api:
        await ready_pods(api, "a", "b", ownerReferences=owner)
        await create_budget(api, maxUnavailable=1)

        def failed() -> dict[str, Any] | None:
            current = status(api)
            return current if any(c.get("reason") == "SyncFailed" for c in current.get("conditions") or []) else None
        current = await wait_for_async(failed, what="SyncFailed condition")
        assert current["disruptionsAllowed"] == 0 and condition(current) == ("False", "SyncFailed")
        assert "found no controllers for pod" in current["conditions"][0]["message"]


async def test_an_evicted_pod_leaves_disrupted_pods_once_it_is_gone(tmp_path: Path) -> None:
    async with workloads(tmp_path, ONLY) as api:
        await ready_pods(api, "a", "b", "c")
        await create_budget(api, minAvailable=1)
        await settled(api, disruptionsAllowed=2)
        await evict(api, "a")
        await settled(api, currentHealthy=2, disruptionsAllowed=1, disruptedPods=None)


async def test_a_disruption_target_nobody_acted_on_is_reset_after_two_minutes(tmp_path: Path) -> None:
    clock = FakeClock(time.time() // 1)
    async with workloads(tmp_path, ONLY, clock=clock) as api:
        created = await api.client.create(PODS, pod("a"), "default")
        target = {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
                  "lastTransitionTime": rfc3339(clock())}
        await api.client.patch(PODS, created["metadata"]["name"], {"status": {"conditions": [target]}},
                               namespace="default", subresource="status")

        def target_status() -> str:
            found = api.get(PODS, "a", "default") or {}
            return next(c["status"] for c in found["status"]["conditions"] if c["type"] == "DisruptionTarget")
        clock.step(119)
        assert target_status() == "True"
        clock.step(1)
        await wait_for_async(lambda: target_status() == "False", what="DisruptionTarget reset to False")
