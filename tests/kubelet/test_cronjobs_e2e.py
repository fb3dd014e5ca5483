"""CronJobs end to end: the CronJob and Job controllers on kubeshim's own registry with a real Kubelet running the
pods. The controllers' clock is a fake one the test steps a minute at a time (the pods run in real time)."""
from __future__ import annotations

import asyncio
import contextlib
import math
import time
from typing import Any, AsyncIterator, Callable

from harness import wait_for_async
from shim.clients.base import EVENTS, PODS
from shim.controllers.clock import FakeClock
from shim.controllers.cronjob import CRONJOBS
from shim.controllers.job import JOBS
from shim.controllers.selection import Selection
from shim.controllers.workloads import run_workloads

from .conftest import Harness


@contextlib.asynccontextmanager
async def controllers(harness: Harness, clock: FakeClock) -> AsyncIterator[None]:
    await harness.start()
    api = harness.api
    served = lambda r: api.catalog.lookup(r.group, r.version, r.plural) is not None  # noqa: E731
    task = asyncio.create_task(run_workloads(api.client, served, Selection.parse(["job-controller",
                                                                                   "cronjob-controller"]), clock))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def cronjob(command: list[str], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick", "namespace": "default"},
            "spec": {"schedule": "* * * * *", "timeZone": "UTC", "jobTemplate": {"spec": {
                "backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                                                         "containers": [{"name": "c", "image": "python:3.11",
                                                                         "command": command}]}}}}, **spec}}


def next_minute(clock: FakeClock) -> int:
    """Step the controllers' clock a second past the next whole minute; the Job name's suffix for it."""
    minute = math.floor(clock() / 60 + 1) * 60
    clock.set(minute + 1)
    return minute // 60


async def job_list(harness: Harness) -> dict[str, dict[str, Any]]:
    return {j["metadata"]["name"]: j for j in (await harness.client.list(JOBS, "default"))["items"]
            if not j["metadata"].get("deletionTimestamp")}


def complete(job: dict[str, Any] | None) -> bool:
    return job is not None and any(c["type"] == "Complete" and c["status"] == "True"
                                   for c in (job.get("status") or {}).get("conditions") or [])


async def wait_jobs(harness: Harness, check: Callable[[dict[str, dict[str, Any]]], bool], what: str,
                    timeout: float = 30) -> dict[str, dict[str, Any]]:
    """Poll the Jobs (by name, those not being deleted) until `check` holds; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = await job_list(harness)
        if check(found):
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {sorted(found)}"
        await asyncio.sleep(0.05)


async def test_a_cronjob_every_minute_runs_a_job_each_minute(harness: Harness) -> None:
    clock = FakeClock(time.time())
    async with controllers(harness, clock):
        await harness.client.create(CRONJOBS, cronjob(["python", "-c", "print('tick')"]), "default")
        first = next_minute(clock)
        await wait_jobs(harness, lambda js: complete(js.get(f"tick-{first}")), "the first job to complete")
        second = next_minute(clock)
        found = await wait_jobs(harness, lambda js: complete(js.get(f"tick-{second}")), "the second job")
        assert set(found) == {f"tick-{first}", f"tick-{second}"}
        pods = (await harness.client.list(PODS, "default"))["items"]
        assert sorted(p["status"]["phase"] for p in pods) == ["Succeeded", "Succeeded"]
        cj = await wait_for_async(lambda: (c := harness.api.get(CRONJOBS, "tick", "default"))
                                  and not c["status"].get("active") and c["status"].get("lastSuccessfulTime") and c)
        assert cj["status"]["lastScheduleTime"].endswith("Z")


async def test_forbid_skips_the_next_time_while_the_job_still_runs(harness: Harness) -> None:
    clock = FakeClock(time.time())
    async with controllers(harness, clock):
        await harness.client.create(CRONJOBS, cronjob(["sleep", "3600"], concurrencyPolicy="Forbid"), "default")
        first = next_minute(clock)
        await wait_jobs(harness, lambda js: (js.get(f"tick-{first}") or {}).get("status", {}).get("ready") == 1,
                        "the first job's pod running")
        next_minute(clock)

        async def skipped() -> bool:
            events = (await harness.client.list(EVENTS, "default"))["items"]
            return any(e["reason"] == "JobAlreadyActive" for e in events)
        deadline = time.monotonic() + 10
        while not await skipped():
            assert time.monotonic() < deadline, "no JobAlreadyActive event"
            await asyncio.sleep(0.05)
        assert set(await job_list(harness)) == {f"tick-{first}"}


async def test_history_limits_prune_finished_jobs(harness: Harness) -> None:
    clock = FakeClock(time.time())
    async with controllers(harness, clock):
        await harness.client.create(CRONJOBS, cronjob(["python", "-c", "pass"], successfulJobsHistoryLimit=1),
                                    "default")
        names = []
        for _ in range(3):
            names.append(f"tick-{next_minute(clock)}")
            await wait_jobs(harness, lambda js: complete(js.get(names[-1])), f"{names[-1]} to complete")
        await wait_jobs(harness, lambda js: set(js) == {names[-1]}, "only the newest job kept")
