"""The single-node scheduler: fit by requests, Unschedulable wording, retry when room frees, priority order."""
from __future__ import annotations

from typing import Any

from shim.clients.base import PODS
from shim.kubelet.scheduler import Scheduler, unfit_reasons, unschedulable_message

from .conftest import Harness, LocalApi, make_pod, wait_for


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


async def test_unschedulable_then_scheduled_when_room_frees(harness: Harness) -> None:
    harness.config.capacity = {"cpu": "2", "memory": "4Gi"}
    await harness.start()
    await harness.create(make_pod("big", [{"name": "c", "command": ["sleep", "30"], **_req("1500m")}],
                                  terminationGracePeriodSeconds=0))
    await harness.wait_phase("big", "Running")
    await harness.create(make_pod("next", [{"name": "c", "command": ["sleep", "30"], **_req("1")}]))
    pod = await harness.wait_status("next", lambda p: any(c["type"] == "PodScheduled" and c["status"] == "False"
                                                          for c in p["status"].get("conditions") or []))
    cond = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
    assert cond["reason"] == "Unschedulable"
    assert cond["message"] == "0/1 nodes are available: 1 Insufficient cpu."
    assert pod["status"]["phase"] == "Pending" and not pod["spec"].get("nodeName")
    await harness.client.delete(PODS, "big", "default")
    await harness.wait_phase("next", "Running", timeout=10)


async def test_other_schedulers_are_left_alone(harness: Harness) -> None:
    await harness.start()
    await harness.create(make_pod("mine", [{"name": "c", "command": ["true"]}], schedulerName="volcano"))
    await harness.create(make_pod("ours", [{"name": "c", "command": ["true"]}]))
    await wait_for(lambda: _scheduled(harness.pod("ours")))
    assert not _scheduled(harness.pod("mine"))


async def test_priority_then_age(api: LocalApi) -> None:
    client = api.client
    pods = []
    for name, prio in (("low-old", 0), ("high", 100), ("low-new", 0)):
        pod = make_pod(name, [{"name": "c", **_req("1")}], priority=prio)
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
