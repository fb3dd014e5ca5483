"""The ReplicaSet controller on kubeshim's own registry (in-process, no kubelet): pods created and deleted to
match replicas, orphans adopted, non-matching pods released, status written, events recorded."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from harness import wait_for_async
from shim.clients.base import EVENTS, PODS
from shim.controllers.replicaset import REPLICASETS
from workloadhelpers import eventually, live_pods, mark_ready, pods_of, workloads


def replicaset(name: str = "web", replicas: int = 3, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "python:3.11"}]}}, **spec}}


async def test_creates_the_replicas_with_a_blocking_controller_reference(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api:
        rs = await api.client.create(REPLICASETS, replicaset(), "default")
        pods = await live_pods(api, 3, "app=web")
        for p in pods:
            assert p["metadata"]["generateName"] == "web-"
            assert p["metadata"]["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                                                         "uid": rs["metadata"]["uid"], "controller": True,
                                                         "blockOwnerDeletion": True}]
        status = await wait_for_async(lambda: (r := api.get(REPLICASETS, "web", "default")) and
                                      r["status"].get("replicas") == 3 and r["status"])
        assert status["observedGeneration"] == 1


async def test_never_creates_more_than_replicas(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api:
        await api.client.create(REPLICASETS, replicaset(replicas=5), "default")
        await live_pods(api, 5, "app=web")
        await wait_for_async(lambda: api.get(REPLICASETS, "web", "default")["status"].get("replicas") == 5)
        assert len(await pods_of(api)) == 5


async def test_scaling_down_deletes_the_not_ready_pods_first(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api:
        await api.client.create(REPLICASETS, replicaset(), "default")
        pods = await live_pods(api, 3, "app=web")
        for p in pods[:2]:
            await mark_ready(api, p, time.time() - 60)
        await api.client.patch(REPLICASETS, "web", {"spec": {"replicas": 2}}, namespace="default")
        left = await live_pods(api, 2, "app=web")
        assert {p["metadata"]["name"] for p in left} == {p["metadata"]["name"] for p in pods[:2]}


async def test_matching_orphans_are_adopted_instead_of_creating(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api:
        orphan = {"metadata": {"name": "stray", "labels": {"app": "web"}},
                  "spec": {"containers": [{"name": "c", "image": "python:3.11"}]}}
        await api.client.create(PODS, orphan, "default")
        rs = await api.client.create(REPLICASETS, replicaset(replicas=2), "default")
        await live_pods(api, 2, "app=web")
        adopted = await wait_for_async(lambda: (p := api.get(PODS, "stray", "default")) and
                                       p["metadata"].get("ownerReferences") and p)
        assert adopted["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]


async def test_a_relabeled_pod_is_released_and_replaced(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api:
        await api.client.create(REPLICASETS, replicaset(replicas=1), "default")
        [first] = await live_pods(api, 1, "app=web")
        name = first["metadata"]["name"]
        await api.client.patch(PODS, name, {"metadata": {"labels": {"app": "debug"}}}, namespace="default")
        await wait_for_async(lambda: not api.get(PODS, name, "default")["metadata"].get("ownerReferences"))
        [replacement] = await live_pods(api, 1, "app=web")
        assert replacement["metadata"]["name"] != name


async def test_status_counts_ready_pods(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api:
        await api.client.create(REPLICASETS, replicaset(replicas=2), "default")
        for p in await live_pods(api, 2, "app=web"):
            await mark_ready(api, p, time.time())
        status = await wait_for_async(lambda: (s := api.get(REPLICASETS, "web", "default")["status"]) and
                                      s.get("availableReplicas") == 2 and s)
        assert status["readyReplicas"] == 2 and status["fullyLabeledReplicas"] == 2


async def test_creations_are_recorded_as_events(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api:
        await api.client.create(REPLICASETS, replicaset(replicas=1), "default")
        [p] = await live_pods(api, 1, "app=web")

        async def created() -> list[dict[str, Any]]:
            return [e for e in (await api.client.list(EVENTS, "default"))["items"] if e["reason"] == "SuccessfulCreate"]
        events = await eventually(created)
        assert events[0]["message"] == f"Created pod: {p['metadata']['name']}"
        assert events[0]["source"] == {"component": "replicaset-controller"}
