"""The single-node scheduler with a running kubelet: retry when room frees, other schedulers' pods left alone
(its decisions alone: tests/unit/test_scheduling.py)."""
from __future__ import annotations

from typing import Any

from shim.clients.base import PODS

from harness import wait_for_async

from .conftest import Harness, make_pod


def _req(cpu: str = "", memory: str = "") -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    return {"resources": {"requests": requests}}


def _scheduled(p: dict | None) -> Any:
    return p and p["spec"].get("nodeName")


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
    await wait_for_async(lambda: _scheduled(harness.pod("ours")))
    assert not _scheduled(harness.pod("mine"))


