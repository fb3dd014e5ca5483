"""The Job controller (pkg/controller/job), its core: completions and parallelism in NonIndexed and Indexed mode,
backoffLimit with upstream's back-off between failures (10s doubling to 10 minutes), activeDeadlineSeconds,
suspend, pods tracked with the `batch.kubernetes.io/job-tracking` finalizer and counted through
status.uncountedTerminatedPods (so a restart never counts a pod twice), and the conditions clients wait on:
SuccessCriteriaMet then Complete, FailureTarget then Failed, Suspended. Its policies (shim.controllers.jobpolicy):
podFailurePolicy (FailJob, Ignore, Count, FailIndex), successPolicy, backoffLimitPerIndex with maxFailedIndexes,
podReplacementPolicy Failed; orphan pods matching the selector are adopted.
"""
from __future__ import annotations

import asyncio
import copy
import time
from dataclasses import dataclass, field
from typing import Callable

from shim.clients.base import PODS, Client, Resource
from shim.controllers import jobpolicy, podutil
from shim.controllers.controllerref import OwnerKind, claim
from shim.controllers.events import NORMAL, WARNING, Recorder
from shim.controllers.expectations import Expectations
from shim.controllers.informers import Informers
from shim.controllers.podutil import Obj, controller_of, key_of
from shim.controllers.workqueue import WorkQueue, run_workers
from shim.kubelet.timeutil import parse_time, rfc3339
from shim.machinery.errors import StatusError
from shim.machinery.labels import LabelSelector, selector_from_match

JOBS = Resource("batch", "v1", "jobs")
JOB = OwnerKind(JOBS, "Job")
COMPONENT = "job-controller"
TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
INDEX_KEY = "batch.kubernetes.io/job-completion-index"
BACKOFF_BASE, BACKOFF_MAX = 10.0, 600.0


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def is_indexed(job: Obj) -> bool:
    return _spec(job).get("completionMode") == "Indexed"


def pod_index(pod: Obj) -> int | None:
    value = (_meta(pod).get("annotations") or {}).get(INDEX_KEY)
    return int(value) if value is not None and value.isdigit() else None


def parse_indexes(text: str | None) -> set[int]:
    """status.completedIndexes ("1,3-5") as a set."""
    out: set[int] = set()
    for part in (text or "").split(","):
        if "-" in part:
            first, last = part.split("-", 1)
            out.update(range(int(first), int(last) + 1))
        elif part:
            out.add(int(part))
    return out


def format_indexes(indexes: set[int]) -> str:
    """A set of indexes as upstream writes completedIndexes: ascending, consecutive ones as `first-last`."""
    runs: list[str] = []
    ordered = sorted(indexes)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        runs.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(runs)


def condition(job: Obj, kind: str) -> Obj | None:
    return next((c for c in (job.get("status") or {}).get("conditions") or []
                 if c.get("type") == kind and c.get("status") == "True"), None)


def finished(job: Obj) -> bool:
    return condition(job, "Complete") is not None or condition(job, "Failed") is not None


def new_condition(kind: str, reason: str, message: str, now: float, state: str = "True") -> Obj:
    stamp = rfc3339(now)
    return {"type": kind, "status": state, "lastProbeTime": stamp, "lastTransitionTime": stamp, "reason": reason,
            "message": message}


def finish_time(pod: Obj) -> float:
    """When a pod finished: its containers' last termination, else its Ready condition's change, else now-ish."""
    ends = [parse_time(s["state"]["terminated"]["finishedAt"])
            for s in (pod.get("status") or {}).get("containerStatuses") or []
            if ((s.get("state") or {}).get("terminated") or {}).get("finishedAt")]
    if ends:
        return max(ends)
    ready = podutil.ready_condition(pod)
    if ready and ready.get("lastTransitionTime"):
        return parse_time(ready["lastTransitionTime"])
    created = _meta(pod).get("creationTimestamp")
    return parse_time(created) if created else 0.0


def backoff_remaining(failed_pods: list[Obj], succeeded_pods: list[Obj], now: float) -> float:
    """Seconds to wait before creating pods again: 10s doubling per failure since the last success, at most 10
    minutes, counted from the last failure (backoffRecord.getRemainingTime)."""
    last_success = max((finish_time(p) for p in succeeded_pods), default=0.0)
    failures = sorted(finish_time(p) for p in failed_pods if finish_time(p) >= last_success)
    if not failures:
        return 0.0
    delay = min(BACKOFF_BASE * 2 ** (len(failures) - 1), BACKOFF_MAX)
    return float(max(delay - (now - failures[-1]), 0.0))


@dataclass
class Counts:
    """Finished pods: counted in status already, in uncountedTerminatedPods, or new."""

    succeeded: list[Obj] = field(default_factory=list)
    failed: list[Obj] = field(default_factory=list)
    #: failed pods a podFailurePolicy Ignore rule matched: their finalizer goes, they are never counted
    ignored: list[Obj] = field(default_factory=list)


def new_finished(job: Obj, pods: list[Obj]) -> Counts:
    """Finished pods still holding our finalizer and not yet listed as uncounted (getNewFinishedPods)."""
    uncounted = (job.get("status") or {}).get("uncountedTerminatedPods") or {}
    known = set(uncounted.get("succeeded") or []) | set(uncounted.get("failed") or [])
    out = Counts()
    for pod in pods:
        if TRACKING_FINALIZER not in (_meta(pod).get("finalizers") or []) or _meta(pod).get("uid") in known:
            continue
        if podutil.phase(pod) == "Succeeded":
            out.succeeded.append(pod)
        elif jobpolicy.is_pod_failed(pod, job):
            (out.failed if jobpolicy.match_pod_failure_policy(job, pod).counts else out.ignored).append(pod)
    return out


def pod_for_index(job: Obj, index: int | None, replaced: Obj | None = None) -> Obj:
    """The pod the Job creates (for an Indexed Job, for one completion index; with backoffLimitPerIndex, counting
    the failures of the index so far from the pod it replaces)."""
    template = copy.deepcopy(_spec(job).get("template") or {})
    ref = podutil.controller_ref(job, "batch/v1", "Job")
    pod = podutil.pod_from_template(template, job, ref)
    pod["metadata"]["finalizers"] = [*pod["metadata"].get("finalizers", []), TRACKING_FINALIZER]
    if index is not None and _spec(job).get("backoffLimitPerIndex") is not None:
        counted, ignored = jobpolicy.replacement_failure_counts(job, replaced)
        annotations = pod["metadata"].setdefault("annotations", {})
        annotations[jobpolicy.INDEX_FAILURE_COUNT] = str(counted)
        if ignored:
            annotations[jobpolicy.INDEX_IGNORED_FAILURE_COUNT] = str(ignored)
    if index is not None:
        name = _meta(job).get("name", "")
        pod["metadata"].setdefault("annotations", {})[INDEX_KEY] = str(index)
        pod["metadata"].setdefault("labels", {})[INDEX_KEY] = str(index)
        pod["metadata"]["generateName"] = f"{name}-{index}-"
        pod["spec"]["hostname"] = f"{name}-{index}"
        env = {"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
            "fieldPath": f"metadata.annotations['{INDEX_KEY}']"}}}
        for container in [*pod["spec"].get("initContainers", []), *pod["spec"].get("containers", [])]:
            if not any(e.get("name") == "JOB_COMPLETION_INDEX" for e in container.get("env") or []):
                container["env"] = [*(container.get("env") or []), env]
    return pod


def indexes_to_create(job: Obj, active: list[Obj], succeeded_indexes: set[int],
                      failed_indexes: set[int] | None = None) -> list[int]:
    """Indexes neither succeeded, failed nor running, as many as parallelism leaves room for."""
    completions = int(_spec(job).get("completions") or 0)
    parallelism = int(_spec(job).get("parallelism", 1))
    running = {pod_index(p) for p in active}
    done = succeeded_indexes | (failed_indexes or set())
    missing = [i for i in range(completions) if i not in done and i not in running]
    return missing[:max(parallelism - len(active), 0)]


def replaced_pod(pods: list[Obj], index: int) -> Obj | None:
    """The last finished pod of an index: the one a new pod for it replaces."""
    finished_pods = [p for p in pods if pod_index(p) == index and podutil.is_terminal(p)]
    return max(finished_pods, key=finish_time) if finished_pods else None


def job_selector(job: Obj) -> LabelSelector:
    selector = _spec(job).get("selector") or {}
    return selector_from_match(selector.get("matchLabels"), selector.get("matchExpressions"))


def wanted_active(job: Obj, succeeded: int, active: int) -> int:
    """How many pods should run now (NonIndexed)."""
    parallelism = int(_spec(job).get("parallelism", 1))
    completions = _spec(job).get("completions")
    if completions is None:
        return active if succeeded > 0 else parallelism
    return max(min(parallelism, int(completions) - succeeded), 0)


class JobController:
    def __init__(self, client: Client, informers: Informers, *, clock: Callable[[], float] = time.time,
                 workers: int = 5) -> None:
        self.client = client
        self.clock = clock
        self.workers = workers
        self.jobs = informers.get(JOBS)
        self.pods = informers.get(PODS)
        self.queue: WorkQueue[str] = WorkQueue()
        self.expectations = Expectations()
        self.recorder = Recorder(client, COMPONENT)
        self.jobs.add_handler(lambda old, new: self.queue.add(key_of(new if new is not None else old or {})))
        self.pods.add_handler(self._on_pod)

    async def run(self) -> None:
        recorder = asyncio.create_task(self.recorder.run())
        try:
            await self.jobs.synced.wait()
            await self.pods.synced.wait()
            await run_workers(COMPONENT, self.queue, self.sync, self.workers)
        finally:
            recorder.cancel()

    def _on_pod(self, old: Obj | None, new: Obj | None) -> None:
        pod = new if new is not None else old or {}
        ref = controller_of(pod)
        if ref is None and new is not None and not _meta(new).get("deletionTimestamp"):
            labels = _meta(new).get("labels") or {}
            for job in self.jobs.list(_meta(new).get("namespace", "")):
                if job_selector(job).matches(labels):  # an orphan: the Jobs that may adopt it
                    self.queue.add(key_of(job))
            return
        if ref is None or ref.get("kind") != "Job":
            return
        key = f"{_meta(pod).get('namespace', '')}/{ref.get('name', '')}"
        if old is None:
            self.expectations.creation_observed(key)
        if new is None or (_meta(new).get("deletionTimestamp") and not _meta(old or {}).get("deletionTimestamp")):
            self.expectations.deletion_observed(key, key_of(pod))
        self.queue.add(key)

    def _event(self, job: Obj, type_: str, reason: str, message: str) -> None:
        self.recorder.event(job, "batch/v1", "Job", type_, reason, message)

    async def sync(self, key: str) -> None:
        namespace, name = podutil.split_key(key)
        cached = self.jobs.get(namespace, name)
        if cached is None:
            self.expectations.delete(key)
            return
        job = copy.deepcopy(cached)
        uid = _meta(job).get("uid")
        pods = [p for p in self.pods.list(namespace) if (controller_of(p) or {}).get("uid") in (uid, None)]
        pods = await claim(self.client, job, JOB, job_selector(job), pods, PODS,
                           adopted_metadata={"finalizers": [TRACKING_FINALIZER]}) if not finished(job) else [
            p for p in pods if (controller_of(p) or {}).get("uid") == uid]
        if finished(job):
            await self._remove_finalizers([p for p in pods if TRACKING_FINALIZER in (_meta(p).get("finalizers") or [])])
            return
        now = self.clock()
        status = job.setdefault("status", {})
        satisfied = self.expectations.satisfied(key)
        suspended = bool(_spec(job).get("suspend"))
        if not status.get("startTime") and not suspended:
            status["startTime"] = rfc3339(now)
        await self._count(job, pods)
        active = [p for p in pods if podutil.is_active(p)]
        done = [p for p in pods if podutil.phase(p) == "Succeeded"]
        failed_pods = [p for p in pods if podutil.phase(p) == "Failed" and jobpolicy.counts_as_failure(job, p)]
        completions = _spec(job).get("completions")
        succeeded, failures = int(status.get("succeeded") or 0), int(status.get("failed") or 0)
        completed = parse_indexes(status.get("completedIndexes"))
        target = self._finished_condition(job, pods, succeeded, failures, completed, active, now)
        if target is not None:
            for pod in active:
                await self._delete_pod(job, key, pod)
            active = []
            if not any(c.get("type") == target["type"] for c in status.get("conditions") or []):
                status["conditions"] = [*(status.get("conditions") or []), target]
            terminating = [p for p in pods if _meta(p).get("deletionTimestamp") and not podutil.is_terminal(p)]
            if not terminating:
                final = "Complete" if target["type"] == "SuccessCriteriaMet" else "Failed"
                status["conditions"].append(new_condition(final, target["reason"], target["message"], now))
                if final == "Complete":
                    status["completionTime"] = rfc3339(now)
                    self._event(job, NORMAL, "Completed", "Job completed")
                else:
                    self._event(job, WARNING, target["reason"], target["message"])
        elif suspended:
            for pod in active:
                await self._delete_pod(job, key, pod)
            active = []
            self._suspend_condition(job, True, now)
        else:
            self._suspend_condition(job, False, now)
            if satisfied and not _meta(job).get("deletionTimestamp"):
                wait = backoff_remaining(failed_pods, done, now)
                if wait > 0:
                    self.queue.add_after(key, wait)
                else:
                    occupying = active + ([p for p in pods if _meta(p).get("deletionTimestamp") and not
                                           podutil.is_terminal(p)] if jobpolicy.only_replace_failed(job) else [])
                    active = active + await self._create(job, key, occupying, pods, succeeded, completed)
            deadline = _spec(job).get("activeDeadlineSeconds")
            if deadline is not None and status.get("startTime"):
                self.queue.add_after(key, parse_time(status["startTime"]) + int(deadline) - now)
        status["active"] = len([p for p in active if podutil.is_active(p)])
        status["ready"] = sum(1 for p in active if podutil.is_ready(p))
        status["terminating"] = sum(1 for p in pods if _meta(p).get("deletionTimestamp")
                                    and not podutil.is_terminal(p))
        if completions is not None and is_indexed(job):
            status["completedIndexes"] = format_indexes(completed)
        if _pruned(status) != _pruned(cached.get("status") or {}):
            await self._update_status(job)

    async def _count(self, job: Obj, pods: list[Obj]) -> None:
        """Move finished pods into the counters crash-safely: list them as uncounted, drop their finalizers,
        then count them (what is uncounted without a finalizer any more is counted after a restart too)."""
        status = job["status"]
        new = new_finished(job, pods)
        if is_indexed(job) and _spec(job).get("backoffLimitPerIndex") is not None:
            limit = int(_spec(job).get("completions") or 0)
            failed_indexes = parse_indexes(status.get("failedIndexes")) | {
                i for p in pods if (i := pod_index(p)) is not None and i < limit
                and TRACKING_FINALIZER in (_meta(p).get("finalizers") or []) and jobpolicy.index_failed(job, p)}
            status["failedIndexes"] = format_indexes(failed_indexes)
        await self._remove_finalizers(new.ignored)
        uncounted = status.setdefault("uncountedTerminatedPods", {})
        if new.succeeded or new.failed:
            uncounted["succeeded"] = [*(uncounted.get("succeeded") or []),
                                      *(_meta(p)["uid"] for p in new.succeeded)]
            uncounted["failed"] = [*(uncounted.get("failed") or []), *(_meta(p)["uid"] for p in new.failed)]
            await self._update_status(job)
        by_uid = {_meta(p).get("uid"): p for p in pods}
        holding = [p for p in pods if _meta(p).get("uid") in set(uncounted.get("succeeded") or [])
                   | set(uncounted.get("failed") or []) and TRACKING_FINALIZER in (_meta(p).get("finalizers") or [])]
        await self._remove_finalizers(holding)
        completed = parse_indexes(status.get("completedIndexes"))
        for kind in ("succeeded", "failed"):
            uids = uncounted.get(kind) or []
            status[kind] = int(status.get(kind) or 0) + len(uids)
            if kind == "succeeded" and is_indexed(job):
                completed |= {i for u in uids if (i := pod_index(by_uid.get(u, {}))) is not None
                              and i < int(_spec(job).get("completions") or 0)}
            uncounted[kind] = []
        if is_indexed(job):
            status["completedIndexes"] = format_indexes(completed)
            status["succeeded"] = len(completed)
        for kind in ("succeeded", "failed"):
            if not status[kind]:
                status.pop(kind)
        status["uncountedTerminatedPods"] = {}

    def _finished_condition(self, job: Obj, pods: list[Obj], succeeded: int, failures: int, completed: set[int],
                            active: list[Obj], now: float) -> Obj | None:
        for kind in ("SuccessCriteriaMet", "FailureTarget"):
            if (found := condition(job, kind)) is not None:
                return found
        if (message := jobpolicy.fail_job_message(job, pods)) is not None:
            return new_condition("FailureTarget", "PodFailurePolicy", message, now)
        if failures > int(_spec(job).get("backoffLimit", 6)):
            return new_condition("FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff "
                                 "limit", now)
        start, deadline = (job.get("status") or {}).get("startTime"), _spec(job).get("activeDeadlineSeconds")
        if deadline is not None and start and not _spec(job).get("suspend") and \
                now - parse_time(start) >= int(deadline):
            return new_condition("FailureTarget", "DeadlineExceeded", "Job was active longer than specified deadline",
                                 now)
        completions = _spec(job).get("completions")
        if is_indexed(job):
            failed_indexes = parse_indexes((job.get("status") or {}).get("failedIndexes"))
            most = _spec(job).get("maxFailedIndexes")
            if most is not None and len(failed_indexes) > int(most):
                return new_condition("FailureTarget", "MaxFailedIndexesExceeded",
                                     "Job has exceeded the specified maximal number of failed indexes", now)
            if failed_indexes and len(failed_indexes | completed) >= int(completions or 0):
                return new_condition("FailureTarget", "FailedIndexes", "Job has failed indexes", now)
            rules = [parse_indexes(r.get("succeededIndexes")) for r in
                     (_spec(job).get("successPolicy") or {}).get("rules") or []]
            if (message := jobpolicy.success_policy_message(job, completed, rules)) is not None:
                return new_condition("SuccessCriteriaMet", "SuccessPolicy", message, now)
        reached = (len(completed) >= int(completions or 0) if is_indexed(job)
                   else (succeeded >= int(completions) if completions is not None
                         else succeeded > 0 and not active))
        if reached:
            return new_condition("SuccessCriteriaMet", "CompletionsReached",
                                 "Reached expected number of succeeded pods", now)
        return None

    def _suspend_condition(self, job: Obj, suspended: bool, now: float) -> None:
        current = next((c for c in job["status"].get("conditions") or [] if c.get("type") == "Suspended"), None)
        if suspended and (current is None or current.get("status") != "True"):
            cond = new_condition("Suspended", "JobSuspended", "Job suspended", now)
            self._event(job, NORMAL, "Suspended", "Job suspended")
        elif not suspended and current is not None and current.get("status") == "True":
            cond = new_condition("Suspended", "JobResumed", "Job resumed", now, "False")
            self._event(job, NORMAL, "Resumed", "Job resumed")
            job["status"]["startTime"] = rfc3339(now)
        else:
            return
        job["status"]["conditions"] = [*(c for c in job["status"].get("conditions") or []
                                         if c.get("type") != "Suspended"), cond]

    async def _create(self, job: Obj, key: str, active: list[Obj], pods: list[Obj], succeeded: int,
                      completed: set[int]) -> list[Obj]:
        if is_indexed(job):
            failed_indexes = parse_indexes((job.get("status") or {}).get("failedIndexes"))
            indexes: list[int | None] = list(indexes_to_create(job, active, completed, failed_indexes))
        else:
            indexes = [None] * max(wanted_active(job, succeeded, len(active)) - len(active), 0)
        if not indexes:
            return []
        self.expectations.expect_creations(key, len(indexes))
        namespace = _meta(job).get("namespace", "")
        made: list[Obj] = []
        for index in indexes:
            try:
                replaced = replaced_pod(pods, index) if index is not None else None
                made.append(await self.client.create(PODS, pod_for_index(job, index, replaced), namespace))
            except StatusError as err:
                self.expectations.creation_observed(key)
                self._event(job, WARNING, "FailedCreate", f"Error creating: {err.message}")
                continue
            self._event(job, NORMAL, "SuccessfulCreate", f"Created pod: {made[-1]['metadata']['name']}")
        return made

    async def _delete_pod(self, job: Obj, key: str, pod: Obj) -> None:
        try:
            await self.client.delete(PODS, _meta(pod)["name"], _meta(pod).get("namespace", ""))
        except StatusError as err:
            if err.code != 404:
                raise
            return
        self._event(job, NORMAL, "SuccessfulDelete", f"Deleted pod: {_meta(pod)['name']}")

    async def _remove_finalizers(self, pods: list[Obj]) -> None:
        for pod in pods:
            kept = [f for f in _meta(pod).get("finalizers") or [] if f != TRACKING_FINALIZER]
            try:
                await self.client.patch(PODS, _meta(pod)["name"], {"metadata": {
                    "finalizers": kept or None, "resourceVersion": _meta(pod).get("resourceVersion")}},
                    namespace=_meta(pod).get("namespace", ""))
            except StatusError as err:
                if err.code != 404:
                    raise

    async def _update_status(self, job: Obj) -> None:
        updated = await self.client.update(JOBS, job, subresource="status")
        job["metadata"]["resourceVersion"] = _meta(updated).get("resourceVersion")


def _pruned(value: object) -> object:
    """A status with zero counts and empty values dropped: what differs only there needs no write."""
    if isinstance(value, dict):
        out = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (0, None, {}, [], "")}
    return value
