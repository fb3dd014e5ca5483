"""The Job controller's policies on kubeshim's own registry (in-process; a stand-in kubelet ends each pod with the
status the test chooses): podFailurePolicy rules on exit codes and pod conditions, backoffLimitPerIndex and
maxFailedIndexes, successPolicy, and adoption of orphan pods."""
from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from localapi import LocalApi
from shim.clients.base import PODS
from shim.controllers.job import JOBS, INDEX_KEY
from shim.controllers.jobpolicy import INDEX_FAILURE_COUNT, match_pod_failure_policy
from workloadhelpers import eventually, workloads

Status = dict[str, Any] | None


def job(name: str = "work", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "default"},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "c", "image": "python:3.11"}]}}, **spec}}


def exited(code: int, *conditions: str) -> dict[str, Any]:
    """The status a kubelet writes for a pod whose container `c` exited with `code`."""
    return {"phase": "Succeeded" if code == 0 else "Failed",
            "conditions": [{"type": c, "status": "True"} for c in conditions],
            "containerStatuses": [{"name": "c", "image": "python:3.11", "imageID": "", "ready": False,
                                   "restartCount": 0, "state": {"terminated": {"exitCode": code,
                                                                               "reason": "Error" if code else
                                                                               "Completed"}}}]}


def index(pod: dict[str, Any]) -> int:
    return int(pod["metadata"]["annotations"][INDEX_KEY])


@contextlib.asynccontextmanager
async def ending(api: LocalApi, outcome: Callable[[dict[str, Any], int], Status]) -> AsyncIterator[None]:
    """End each new pod with `outcome(pod, n)` (n counts the pods seen so far; None leaves it running)."""
    async def run() -> None:
        seen = 0
        async for event in api.client.watch(PODS, "default", resource_version=str(api.store.revision)):
            if event.type != "ADDED":
                continue
            seen += 1
            status = outcome(event.object, seen)
            if status is not None:
                await api.client.patch(PODS, event.object["metadata"]["name"], {"status": status},
                                       namespace="default", subresource="status")

    task = asyncio.create_task(run())
    try:
        yield
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


def final(j: dict[str, Any]) -> tuple[str, str, str]:
    c = j["status"]["conditions"][-1]
    return c["type"], c["reason"], c["message"]


def test_the_first_matching_rule_decides_and_ignore_does_not_count() -> None:
    policy = {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
                        {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}},
                        {"action": "Count", "onExitCodes": {"containerName": "c", "operator": "NotIn",
                                                            "values": [42]}}]}
    j = job(podFailurePolicy=policy)
    pod = {"metadata": {"name": "p", "namespace": "default"}, "status": exited(42)}
    assert match_pod_failure_policy(j, pod) == (
        "Container c for pod default/p failed with exit code 42 matching FailJob rule at index 1", True, "FailJob")
    assert match_pod_failure_policy(j, {**pod, "status": exited(42, "DisruptionTarget")}) == (None, False, "Ignore")
    assert match_pod_failure_policy(j, {**pod, "status": exited(3)}) == (None, True, "Count")


async def test_a_fail_job_rule_on_an_exit_code_fails_the_job_at_once(tmp_path: Path) -> None:
    policy = {"rules": [{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}]}
    async with workloads(tmp_path, ["job-controller"]) as api, ending(api, lambda pod, n: exited(42)):
        await api.client.create(JOBS, job(completions=3, backoffLimit=6, podFailurePolicy=policy), "default")
        j = await finished_job(api)
        kind, reason, message = final(j)
        assert (kind, reason) == ("Failed", "PodFailurePolicy")
        assert message.startswith("Container c for pod default/work-") and \
            message.endswith("failed with exit code 42 matching FailJob rule at index 0")
        assert j["status"]["failed"] == 1


async def test_a_failure_an_ignore_rule_matches_is_replaced_and_not_counted(tmp_path: Path) -> None:
    policy = {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}
    outcome = lambda pod, n: exited(137, "DisruptionTarget") if n == 1 else exited(0)  # noqa: E731
    async with workloads(tmp_path, ["job-controller"]) as api, ending(api, outcome):
        await api.client.create(JOBS, job(completions=1, backoffLimit=0, podFailurePolicy=policy), "default")
        j = await finished_job(api)
        assert final(j)[:2] == ("Complete", "CompletionsReached")
        assert j["status"]["succeeded"] == 1 and not j["status"].get("failed")


async def test_an_index_past_its_backoff_limit_per_index_fails_and_the_others_finish(tmp_path: Path) -> None:
    async with workloads(tmp_path, ["job-controller"]) as api, \
            ending(api, lambda pod, n: exited(1 if index(pod) == 1 else 0)):
        await api.client.create(JOBS, job(completions=3, parallelism=3, completionMode="Indexed",
                                          backoffLimitPerIndex=1), "default")
        j = await finished_job(api)
        assert final(j) == ("Failed", "FailedIndexes", "Job has failed indexes")
        assert j["status"]["failedIndexes"] == "1" and j["status"]["completedIndexes"] == "0,2"
        assert j["status"]["failed"] == 2
        pods = (await api.client.list(PODS, "default"))["items"]
        assert sorted(p["metadata"]["annotations"][INDEX_FAILURE_COUNT] for p in pods if index(p) == 1) == ["0", "1"]


async def test_a_fail_index_rule_fails_the_index_on_its_first_failure(tmp_path: Path) -> None:
    policy = {"rules": [{"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [3]}}]}
    async with workloads(tmp_path, ["job-controller"]) as api, \
            ending(api, lambda pod, n: exited(3 if index(pod) == 0 else 0)):
        await api.client.create(JOBS, job(completions=2, parallelism=2, completionMode="Indexed",
                                          backoffLimitPerIndex=5, podFailurePolicy=policy), "default")
        j = await finished_job(api)
        assert final(j)[:2] == ("Failed", "FailedIndexes")
        assert j["status"]["failedIndexes"] == "0" and j["status"]["failed"] == 1


async def test_more_failed_indexes_than_max_failed_indexes_fail_the_job(tmp_path: Path) -> None:
    async with workloads(tmp_path, ["job-controller"]) as api, \
            ending(api, lambda pod, n: exited(1) if index(pod) == 0 else None):
        await api.client.create(JOBS, job(completions=3, parallelism=3, completionMode="Indexed",
                                          backoffLimitPerIndex=0, maxFailedIndexes=0), "default")
        j = await finished_job(api)
        assert final(j) == ("Failed", "MaxFailedIndexesExceeded",
                            "Job has exceeded the specified maximal number of failed indexes")


async def test_a_success_policy_completes_the_job_when_its_indexes_succeed(tmp_path: Path) -> None:
    policy = {"rules": [{"succeededIndexes": "0"}]}
    async with workloads(tmp_path, ["job-controller"]) as api, \
            ending(api, lambda pod, n: exited(0) if index(pod) == 0 else None):
        await api.client.create(JOBS, job(completions=3, parallelism=3, completionMode="Indexed",
                                          successPolicy=policy), "default")
        j = await finished_job(api)
        assert final(j) == ("Complete", "SuccessPolicy", "Matched rules at index 0")
        assert j["status"]["completedIndexes"] == "0"


async def test_an_orphan_pod_matching_the_selector_is_adopted_with_the_tracking_finalizer(tmp_path: Path) -> None:
    labels = {"app": "batch"}
    orphan = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "orphan", "namespace": "default",
                                                              "labels": labels},
              "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "python:3.11"}]}}
    async with workloads(tmp_path, ["job-controller"]) as api:
        await api.client.create(PODS, orphan, "default")
        body = job(completions=1, manualSelector=True, selector={"matchLabels": labels})
        body["spec"]["template"]["metadata"] = {"labels": labels}
        created = await api.client.create(JOBS, body, "default")

        async def adopted() -> dict[str, Any] | None:
            pod = await api.client.get(PODS, "orphan", "default")
            return pod if pod["metadata"].get("ownerReferences") else None
        pod = await eventually(adopted, what="the orphan adopted")
        assert pod["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]
        assert "batch.kubernetes.io/job-tracking" in pod["metadata"]["finalizers"]

        async def counted() -> bool:
            return (await api.client.get(JOBS, "work", "default")).get("status", {}).get("active") == 1
        await eventually(counted, what="the adopted pod counted active")
        assert [p["metadata"]["name"] for p in (await api.client.list(PODS, "default"))["items"]] == ["orphan"]
