"""The CronJob controller on kubeshim's own registry (in-process), its time a fake clock stepped by the test; the
test finishes Jobs itself, as the Job controller would."""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from localapi import LocalApi
from shim.clients.base import EVENTS
from shim.controllers.clock import FakeClock
from shim.controllers.cronjob import CRONJOBS
from shim.controllers.job import JOBS
from shim.kubelet.timeutil import rfc3339
from workloadhelpers import eventually, workloads

ONLY = ["cronjob-controller"]


def cronjob(name: str = "tick", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name, "namespace": "default"},
            "spec": {"schedule": "* * * * *", "timeZone": "UTC", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "c", "image": "python:3.11"}]}}}}, **spec}}


def next_minute(clock: FakeClock) -> float:
    """Step the clock a second past the next whole minute; that minute's epoch seconds."""
    minute = math.floor(clock() / 60 + 1) * 60
    clock.set(minute + 1)
    return float(minute)


async def jobs(api: LocalApi) -> list[dict[str, Any]]:
    return list((await api.client.list(JOBS, "default"))["items"])


async def job_count(api: LocalApi, n: int) -> list[dict[str, Any]]:
    async def check() -> tuple[list[dict[str, Any]]] | None:
        found = await jobs(api)
        return (found,) if len(found) == n else None
    return (await eventually(check, what=f"{n} jobs"))[0]


async def finish(api: LocalApi, job: dict[str, Any], kind: str, at: float) -> None:
    """Write the status the Job controller writes when a job ends: the interim condition upstream requires
    (SuccessCriteriaMet before Complete, FailureTarget before Failed), then the final one."""
    interim = "SuccessCriteriaMet" if kind == "Complete" else "FailureTarget"
    status = {"startTime": rfc3339(at),
              "conditions": [{"type": interim, "status": "True"}, {"type": kind, "status": "True"}]}
    if kind == "Complete":
        status["completionTime"] = rfc3339(at)
    await api.client.patch(JOBS, job["metadata"]["name"], {"status": status}, namespace="default",
                           subresource="status")


async def reasons(api: LocalApi) -> list[str]:
    return [e["reason"] for e in (await api.client.list(EVENTS, "default"))["items"]
            if e["involvedObject"]["kind"] == "CronJob"]


async def test_every_minute_a_job_named_by_its_minute_is_created(tmp_path: Path) -> None:
    clock = FakeClock(time.time())
    async with workloads(tmp_path, ONLY, clock=clock) as api:
        await api.client.create(CRONJOBS, cronjob(), "default")
        first = next_minute(clock)
        [job] = await job_count(api, 1)
        assert job["metadata"]["name"] == f"tick-{int(first) // 60}"
        assert job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] == rfc3339(first)
        second = next_minute(clock)
        assert {j["metadata"]["name"] for j in await job_count(api, 2)} == {f"tick-{int(first) // 60}",
                                                                             f"tick-{int(second) // 60}"}

        async def status() -> dict[str, Any] | None:
            cj = await api.client.get(CRONJOBS, "tick", "default")
            st: dict[str, Any] = cj.get("status") or {}
            return st if len(st.get("active") or []) == 2 else None
        st = await eventually(status)
        assert st["lastScheduleTime"] == rfc3339(second)
        assert {r["kind"] for r in st["active"]} == {"Job"}


async def test_forbid_skips_a_time_while_a_job_runs(tmp_path: Path) -> None:
    clock = FakeClock(time.time())
    async with workloads(tmp_path, ONLY, clock=clock) as api:
        await api.client.create(CRONJOBS, cronjob(concurrencyPolicy="Forbid"), "default")
        next_minute(clock)
        await job_count(api, 1)
        next_minute(clock)
        await eventually(lambda: _has(api, "JobAlreadyActive"), what="JobAlreadyActive event")
        assert len(await jobs(api)) == 1


async def test_replace_deletes_the_running_job_for_the_next(tmp_path: Path) -> None:
    clock = FakeClock(time.time())
    async with workloads(tmp_path, ONLY, clock=clock) as api:
        await api.client.create(CRONJOBS, cronjob(concurrencyPolicy="Replace"), "default")
        next_minute(clock)
        [old] = await job_count(api, 1)
        second = next_minute(clock)
        [new] = await eventually(lambda: _named(api, f"tick-{int(second) // 60}"), what="the replacing job")
        assert new["metadata"]["uid"] != old["metadata"]["uid"]
        assert "SuccessfulDelete" in await reasons(api)


async def test_a_completed_job_leaves_active_and_sets_last_successful_time(tmp_path: Path) -> None:
    clock = FakeClock(time.time())
    async with workloads(tmp_path, ONLY, clock=clock) as api:
        await api.client.create(CRONJOBS, cronjob(), "default")
        at = next_minute(clock)
        [job] = await job_count(api, 1)
        await finish(api, job, "Complete", at + 5)

        async def done() -> dict[str, Any] | None:
            st: dict[str, Any] = (await api.client.get(CRONJOBS, "tick", "default")).get("status") or {}
            return st if st.get("lastSuccessfulTime") and not st.get("active") else None
        assert (await eventually(done))["lastSuccessfulTime"] == rfc3339(at + 5)
        assert "SawCompletedJob" in await reasons(api)


async def test_history_limits_keep_only_the_newest_finished_jobs(tmp_path: Path) -> None:
    clock = FakeClock(time.time())
    async with workloads(tmp_path, ONLY, clock=clock) as api:
        await api.client.create(CRONJOBS, cronjob(successfulJobsHistoryLimit=1, failedJobsHistoryLimit=1),
                                "default")
        names = []
        for outcome in ("Complete", "Complete", "Failed", "Failed"):
            at = next_minute(clock)
            names.append(f"tick-{int(at) // 60}")
            job = await eventually(lambda: _named(api, names[-1]), what=names[-1])
            await finish(api, job[0], outcome, at + 1)
        await eventually(lambda: _names_are(api, {names[1], names[3]}), what="the newest of each outcome")


async def test_a_suspended_cronjob_creates_nothing(tmp_path: Path) -> None:
    clock = FakeClock(time.time())
    async with workloads(tmp_path, ONLY, clock=clock) as api:
        await api.client.create(CRONJOBS, cronjob(suspend=True), "default")
        next_minute(clock)
        await api.client.create(CRONJOBS, cronjob("probe"), "default")  # a sync that does run, to wait for
        next_minute(clock)
        await eventually(lambda: _named(api, f"probe-{int(clock()) // 60}"), what="the unsuspended job")
        assert [j["metadata"]["name"] for j in await jobs(api)] == [f"probe-{int(clock()) // 60}"]


async def test_too_many_missed_times_are_an_event_and_only_the_latest_runs(tmp_path: Path) -> None:
    clock = FakeClock(time.time())
    async with workloads(tmp_path, ONLY, clock=clock) as api:
        await api.client.create(CRONJOBS, cronjob(suspend=True), "default")
        clock.step(200 * 60)
        latest = next_minute(clock)
        await api.client.patch(CRONJOBS, "tick", {"spec": {"suspend": False}}, namespace="default")
        [job] = await job_count(api, 1)
        assert job["metadata"]["name"] == f"tick-{int(latest) // 60}"
        assert "TooManyMissedTimes" in await reasons(api)


async def _has(api: LocalApi, reason: str) -> bool:
    return reason in await reasons(api)


async def _named(api: LocalApi, name: str) -> list[dict[str, Any]]:
    return [j for j in await jobs(api) if j["metadata"]["name"] == name]


async def _names_are(api: LocalApi, names: set[str]) -> bool:
    return {j["metadata"]["name"] for j in await jobs(api) if not j["metadata"].get("deletionTimestamp")} == names
