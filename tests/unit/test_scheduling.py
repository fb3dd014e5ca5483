"""The single-node scheduler's decisions: fit by requests, Unschedulable wording, priority then age (on the
in-process registry; no kubelet, no processes)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from localapi import LocalApi
from shim.clients.base import PODS
from shim.controllers.bootstrap import PRIORITY_CLASSES
from shim.kubelet.scheduler import Scheduler, unfit_reasons, unschedulable_message


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[LocalApi]:
    local = await LocalApi(tmp_path / "state.db").start()
    yield local
    await local.close()


def _req(cpu: str = "", memory: str = "") -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    return {"resources": {"requests": requests}}


def _scheduled(p: dict | None) -> Any:
    return p and p["spec"].get("nodeName")


def test_unfit_reasons_and_message() -> None:
    alloc = {"cpu": "2", "memory": "1Gi", "pods": "3"}
    pod = {"spec": {"containers": [{"name": "c", **_req("3", "2Gi")}]}}
    reasons = unfit_reasons(pod, {}, alloc, [])
    assert unschedulable_message(reasons) == "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."
    small = {"spec": {"containers": [{"name": "c", **_req("100m")}]}}
    assert unfit_reasons(small, {}, alloc, [small, small, small]) == ["Too many pods"]
    picky = {"spec": {"nodeSelector": {"disk": "ssd"}, "containers": [{"name": "c"}]}}
    assert unfit_reasons(picky, {"disk": "hdd"}, alloc, []) == ["node(s) didn't match Pod's node affinity/selector"]


async def test_priority_then_age(api: LocalApi) -> None:
    client = api.client
    await client.create(PRIORITY_CLASSES, {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                           "metadata": {"name": "high"}, "value": 100})
    pods = []
    for name, priority_class in (("low-old", ""), ("high", "high"), ("low-new", "")):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
               "spec": {"containers": [{"name": "c", "image": "python:3.11", **_req("1")}],
                        "priorityClassName": priority_class}}
        pods.append(await client.create(PODS, pod, "default"))
        pods[-1]["metadata"]["creationTimestamp"] = f"2024-01-01T00:00:0{len(pods)}Z"
    node = {"metadata": {"labels": {}}, "status": {"allocatable": {"cpu": "2", "memory": "1Gi", "pods": "110"}}}
    scheduler = Scheduler(client, "n1", lambda: pods, lambda: node)
    await scheduler.schedule_once()
    bound = sorted(n for n in ("low-old", "high", "low-new") if _scheduled(api.get(PODS, n, "default")))
    assert bound == ["high", "low-old"]
    msg = next(c for c in api.get(PODS, "low-new", "default")["status"]["conditions"]
               if c["type"] == "PodScheduled")["message"]
    assert msg == "0/1 nodes are available: 1 Insufficient cpu."
