"""The Job controller on kubeshim's own registry (in-process; a stand-in kubelet finishes the pods): counts,
conditions and indexes as upstream writes them."""
from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from localapi import LocalApi
from shim.clients.base import PODS
from shim.controllers.job import JOBS, format_indexes, parse_indexes
from workloadhelpers import eventually, workloads


def job(name: str = "work", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "default"},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "c", "image": "python:3.11"}]}}, **spec}}


@contextlib.asynccontextmanager
async def finishing(api: LocalApi, outcome: Callable[[dict[str, Any]], str]) -> AsyncIterator[list[int]]:
    """Finish every new pod with the phase `outcome` gives it; yields the peak number of pods running at once."""
    peak = [0]

    async def run() -> None:
        running: set[str] = set()
        async for event in api.client.watch(PODS, "default", resource_version=str(api.store.revision)):
            pod, name = event.object, event.object["metadata"]["name"]
            if event.type != "ADDED":
                continue
            running.add(name)
            peak[0] = max(peak[0], len(running))
            await asyncio.sleep(0.05)
            await api.client.patch(PODS, name, {"status": {"phase": outcome(pod)}}, namespace="default",
                                   subresource="status")
            running.discard(name)

    task = asyncio.create_task(run())
    try:
        yield peak
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def finished_job(api: LocalApi, name: str = "work") -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        j = await api.client.get(JOBS, name, "default")
        conds = {c["type"] for c in j.get("status", {}).get("conditions") or [] if c["status"] == "True"}
        return j if conds & {"Complete", "Failed"} else None
    return await eventually(check, timeout=20, what=f"job {name} finished")


def conditions(j: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(c["type"], c["status"], c["reason"]) for c in j["status"]["conditions"]]


def test_completed_indexes_are_written_as_ranges() -> None:
    assert format_indexes({0, 1, 2, 4, 6, 7}) == "0-2,4,6-7"
    assert parse_indexes("0-2,4,6-7") == {0, 1, 2, 4, 6, 7}


async def test_completions_five_parallelism_two_succeed(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api, finishing(api, lambda pod: "Succeeded") as peak:
        await api.client.create(JOBS, job(completions=5, parallelism=2), "default")
        j = await finished_job(api)
        assert j["status"]["succeeded"] == 5 and not j["status"].get("failed")
        assert conditions(j) == [("SuccessCriteriaMet", "True", "CompletionsReached"),
                                 ("Complete", "True", "CompletionsReached")]
        assert j["status"]["completionTime"] and peak[0] <= 2
        pods = (await api.client.list(PODS, "default"))["items"]
        assert len(pods) == 5 and not any(p["metadata"].get("finalizers") for p in pods)


async def test_an_indexed_job_with_a_failing_index_fails_after_its_backoff_limit(tmp_path: Path) -> None:
    def outcome(pod: dict[str, Any]) -> str:
        return "Failed" if pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] == "3" \
            else "Succeeded"

    async with workloads(tmp_path) as api, finishing(api, outcome):
        await api.client.create(JOBS, job(completions=5, parallelism=2, completionMode="Indexed", backoffLimit=0),
                                "default")
        j = await finished_job(api)
        assert j["status"]["failed"] == 1
        assert conditions(j)[-2:] == [("FailureTarget", "True", "BackoffLimitExceeded"),
                                      ("Failed", "True", "BackoffLimitExceeded")]
        assert "3" not in j["status"].get("completedIndexes", "").split(",")


async def test_indexed_pods_carry_their_index_and_hostname(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api, finishing(api, lambda pod: "Succeeded"):
        await api.client.create(JOBS, job(completions=3, parallelism=3, completionMode="Indexed"), "default")
        j = await finished_job(api)
        assert j["status"]["completedIndexes"] == "0-2" and j["status"]["succeeded"] == 3
        pods = (await api.client.list(PODS, "default"))["items"]
        by_index = {p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]: p for p in pods}
        assert sorted(by_index) == ["0", "1", "2"]
        assert by_index["1"]["spec"]["hostname"] == "work-1"
        assert by_index["1"]["metadata"]["generateName"] == "work-1-"
        assert by_index["1"]["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == "1"


async def test_a_suspended_job_creates_nothing_and_says_so(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api:
        await api.client.create(JOBS, job(completions=1, suspend=True), "default")

        async def suspended() -> bool:
            j = await api.client.get(JOBS, "work", "default")
            return any(c["type"] == "Suspended" and c["reason"] == "JobSuspended"
                       for c in j.get("status", {}).get("conditions") or [])
        await eventually(suspended)
        assert not (await api.client.list(PODS, "default"))["items"]


async def test_a_job_past_its_active_deadline_fails(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api:
        await api.client.create(JOBS, job(activeDeadlineSeconds=1), "default")
        j = await finished_job(api)
        assert conditions(j)[-2:] == [("FailureTarget", "True", "DeadlineExceeded"),
                                      ("Failed", "True", "DeadlineExceeded")]
