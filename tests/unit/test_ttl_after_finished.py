"""The TTL-after-finished controller on kubeshim's own registry, its time a fake clock: a finished Job is deleted
once its TTL has passed since it finished, and not before; a Job with a shorter TTL shows the controller has
acted on that time."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from harness import wait_for_async
from localapi import LocalApi
from shim.controllers.clock import FakeClock
from shim.controllers.job import JOBS
from shim.kubelet.timeutil import rfc3339
from workloadhelpers import workloads

ONLY = ["ttl-after-finished-controller"]


def job(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "default"},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "c", "image": "python:3.11"}]}}, **spec}}


async def finish(api: LocalApi, name: str, kind: str, at: float) -> None:
    """End the job as the Job controller does: the interim condition upstream requires (SuccessCriteriaMet before
    Complete, FailureTarget before Failed), then the final one, finished at `at`."""
    interim = "SuccessCriteriaMet" if kind == "Complete" else "FailureTarget"
    conditions = [{"type": t, "status": "True", "lastTransitionTime": rfc3339(at)} for t in (interim, kind)]
    status: dict[str, object] = {"startTime": rfc3339(at), "conditions": conditions}
    if kind == "Complete":
        status["completionTime"] = rfc3339(at)
    await api.client.patch(JOBS, name, {"status": status}, namespace="default", subresource="status")


def deleting(api: LocalApi, name: str) -> bool:
    found = api.get(JOBS, name, "default")
    return found is None or bool(found["metadata"].get("deletionTimestamp"))


async def test_a_finished_job_is_deleted_once_its_ttl_has_passed(tmp_path: Path) -> None:
    clock = FakeClock(time.time() // 1)
    async with workloads(tmp_path, ONLY, clock=clock) as api:
        for name, ttl, kind in (("once", 30, "Complete"), ("sooner", 29, "Failed")):
            await api.client.create(JOBS, job(name, ttlSecondsAfterFinished=ttl), "default")
            await finish(api, name, kind, clock())
        clock.step(29)
        await wait_for_async(lambda: deleting(api, "sooner"), what="the job whose 29s passed deleted")
        assert not deleting(api, "once")
        clock.step(1)
        await wait_for_async(lambda: deleting(api, "once"), what="the job whose 30s passed deleted")


async def test_a_finished_job_without_a_ttl_stays(tmp_path: Path) -> None:
    clock = FakeClock(time.time() // 1)
    async with workloads(tmp_path, ONLY, clock=clock) as api:
        for name, spec in (("kept", {}), ("gone", {"ttlSecondsAfterFinished": 0})):
            await api.client.create(JOBS, job(name, **spec), "default")
            await finish(api, name, "Complete", clock())
        await wait_for_async(lambda: deleting(api, "gone"), what="the ttl=0 job deleted")
        assert not deleting(api, "kept")
