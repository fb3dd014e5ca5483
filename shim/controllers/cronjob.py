"""The CronJob controller (pkg/controller/cronjob/cronjob_controllerv2.go): at each scheduled time it creates the
Job `<cronjob>-<scheduled minutes since the epoch>` (so a time is never run twice), within
startingDeadlineSeconds, as concurrencyPolicy allows (Allow, Forbid: skip while one runs, Replace: delete the
running ones first); it keeps status.active, lastScheduleTime and lastSuccessfulTime, deletes the oldest finished
Jobs past the history limits, and sleeps until just after the next scheduled time. Its time is an injected clock
(a fake one in tests)."""
from __future__ import annotations

import asyncio
import copy
import datetime as _dt
import functools
import zoneinfo
from dataclasses import dataclass
from typing import Any

from shim.clients.base import Client, Resource
from shim.controllers import cronschedule, podutil
from shim.controllers.clock import Clock
from shim.controllers.cronschedule import Missed, Schedule, ScheduleError
from shim.controllers.events import NORMAL, WARNING, Recorder
from shim.controllers.informers import Informers
from shim.controllers.job import JOBS, condition
from shim.controllers.podutil import Obj, controller_of, key_of
from shim.controllers.workqueue import WorkQueue, run_workers
from shim.kubelet.timeutil import parse_time, rfc3339
from shim.machinery.cron import CronError
from shim.machinery.errors import StatusError

CRONJOBS = Resource("batch", "v1", "cronjobs")
COMPONENT = "cronjob-controller"
SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def _status(obj: Obj) -> Obj:
    return obj.get("status") or {}


def job_name(cronjob: Obj, scheduled: float) -> str:
    """`<cronjob>-<minutes since the epoch>`: one name per scheduled time (getJobName)."""
    return f"{_meta(cronjob).get('name', '')}-{int(scheduled) // 60}"


def finished_type(job: Obj) -> str | None:
    """Complete or Failed, whichever condition is True (getFinishedStatus)."""
    for kind in ("Complete", "Failed"):
        if condition(job, kind) is not None:
            return kind
    return None


def _zone(name: str | None) -> _dt.tzinfo:
    return zoneinfo.ZoneInfo(name) if name not in (None, "", "UTC") else _dt.timezone.utc


def scheduled_timestamp(scheduled: float, time_zone: str | None) -> str:
    """The scheduled time in the CronJob's zone (UTC without one), as Go's RFC3339 layout writes it."""
    text = _dt.datetime.fromtimestamp(int(scheduled), _zone(time_zone)).isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def job_from_template(cronjob: Obj, scheduled: float) -> Obj:
    """The Job for one scheduled time (getJobFromTemplate2)."""
    template = _spec(cronjob).get("jobTemplate") or {}
    meta = template.get("metadata") or {}
    annotations = {**(meta.get("annotations") or {}),
                   SCHEDULED_TIMESTAMP: scheduled_timestamp(scheduled, _spec(cronjob).get("timeZone"))}
    job_meta: Obj = {"name": job_name(cronjob, scheduled), "annotations": annotations,
                     "ownerReferences": [podutil.controller_ref(cronjob, "batch/v1", "CronJob")]}
    if meta.get("labels"):
        job_meta["labels"] = dict(meta["labels"])
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": job_meta,
            "spec": copy.deepcopy(template.get("spec") or {})}


def job_ref(job: Obj) -> Obj:
    """The ObjectReference status.active lists (ref.GetReference)."""
    meta = _meta(job)
    return {"kind": "Job", "namespace": meta.get("namespace", ""), "name": meta.get("name", ""),
            "uid": meta.get("uid", ""), "apiVersion": "batch/v1", "resourceVersion": meta.get("resourceVersion", "")}


def _start_order(a: Obj, b: Obj) -> int:
    """Jobs by status.startTime, those without one last, names breaking ties (byJobStartTime)."""
    sa, sb = _status(a).get("startTime"), _status(b).get("startTime")
    if sa is None or sb is None:
        return (sa is None) - (sb is None) or _cmp(_meta(a).get("name", ""), _meta(b).get("name", ""))
    ta, tb = parse_time(sa), parse_time(sb)
    return _cmp(ta, tb) or _cmp(_meta(a).get("name", ""), _meta(b).get("name", ""))


def _cmp(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


def oldest_past_limit(jobs: list[Obj], limit: int) -> list[Obj]:
    """The jobs to delete so that at most `limit` remain: the earliest started first."""
    surplus = len(jobs) - limit
    return sorted(jobs, key=functools.cmp_to_key(_start_order))[:surplus] if surplus > 0 else []


def rfc1123z(ts: float) -> str:
    return _dt.datetime.fromtimestamp(int(ts), _dt.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")


@dataclass
class _State:
    """The CronJob being synced (replaced by a fresh read when the cache is behind) and whether its status must
    be written."""

    cronjob: Obj
    changed: bool = False

    @property
    def active(self) -> list[Obj]:
        return list(_status(self.cronjob).get("active") or [])

    def set_active(self, refs: list[Obj]) -> None:
        status = self.cronjob.setdefault("status", {})
        if refs:
            status["active"] = refs
        else:
            status.pop("active", None)

    def drop_active(self, uid: str) -> None:
        self.set_active([r for r in self.active if r.get("uid") != uid])


class CronJobController:
    def __init__(self, client: Client, informers: Informers, *, clock: Clock | None = None, workers: int = 5) -> None:
        self.client = client
        self.clock = clock or Clock()
        self.workers = workers
        self.cronjobs = informers.get(CRONJOBS)
        self.jobs = informers.get(JOBS)
        self.queue: WorkQueue[str] = WorkQueue(clock=self.clock)
        self.recorder = Recorder(client, COMPONENT)
        self.cronjobs.add_handler(self._on_cronjob)
        self.jobs.add_handler(self._on_job)

    async def run(self) -> None:
        recorder = asyncio.create_task(self.recorder.run())
        try:
            await self.cronjobs.synced.wait()
            await self.jobs.synced.wait()
            await run_workers(COMPONENT, self.queue, self.sync, self.workers)
        finally:
            recorder.cancel()

    def _event(self, cronjob: Obj, type_: str, reason: str, message: str) -> None:
        self.recorder.event(cronjob, "batch/v1", "CronJob", type_, reason, message)

    def _on_cronjob(self, old: Obj | None, new: Obj | None) -> None:
        """A changed schedule or zone waits for its next time (updateCronJob); anything else syncs now."""
        if old is None or new is None or (
                _spec(old).get("schedule") == _spec(new).get("schedule")
                and _spec(old).get("timeZone") == _spec(new).get("timeZone")):
            self.queue.add(key_of(new if new is not None else old or {}))
            return
        try:
            schedule = cronschedule.parse(cronschedule.format_schedule(_spec(new).get("schedule", ""),
                                                                       _spec(new).get("timeZone")))
        except CronError:
            self._event(new, WARNING, "UnParseableCronJobSchedule",
                        f"unparseable schedule for cronjob: {_spec(new).get('schedule', '')}")
            return
        self.queue.add_after(key_of(new), self._next_delay(new, schedule))

    def _on_job(self, old: Obj | None, new: Obj | None) -> None:
        """Queue the CronJob that controls a Job (and the one that did, when the reference changed)."""
        if old is not None and new is not None and _meta(old).get("resourceVersion") == \
                _meta(new).get("resourceVersion"):
            return
        refs = [controller_of(o) for o in (old, new) if o is not None]
        for ref in {(r.get("name"), r.get("uid")): r for r in refs if r is not None}.values():
            owner = self._resolve(_meta(new if new is not None else old or {}).get("namespace", ""), ref)
            if owner is not None:
                self.queue.add(key_of(owner))

    def _resolve(self, namespace: str, ref: Obj) -> Obj | None:
        if ref.get("kind") != "CronJob":
            return None
        owner = self.cronjobs.get(namespace, ref.get("name", ""))
        return owner if owner is not None and _meta(owner).get("uid") == ref.get("uid") else None

    def _next_delay(self, cronjob: Obj, schedule: Schedule) -> float:
        last = _status(cronjob).get("lastScheduleTime")
        return cronschedule.next_schedule_delay(
            parse_time(_meta(cronjob)["creationTimestamp"]), parse_time(last) if last else None,
            _spec(cronjob).get("startingDeadlineSeconds"), self.clock(), schedule)

    async def sync(self, key: str) -> None:
        namespace, name = podutil.split_key(key)
        cached = self.cronjobs.get(namespace, name)
        if cached is None:
            return
        jobs = [j for j in self.jobs.list(namespace) if (controller_of(j) or {}).get("name") == name]
        state = _State(copy.deepcopy(cached))
        await self._cleanup_finished(state, jobs)
        requeue: float | None = None
        error: Exception | None = None
        try:
            requeue = await self._sync_cronjob(state, jobs)
        except Exception as err:  # noqa: BLE001 - the status is written first, then the sync is retried
            error = err
        if state.changed:
            await self.client.update(CRONJOBS, state.cronjob, subresource="status")
        if requeue is not None:
            self.queue.add_after(key, requeue)
        elif error is not None:
            raise error

    async def _sync_cronjob(self, state: _State, jobs: list[Obj]) -> float | None:
        """Account for the CronJob's Jobs, then start the one due now if any; seconds until the next look."""
        now = self.clock()
        children = {_meta(j).get("uid") for j in jobs}
        for job in jobs:
            uid = _meta(job).get("uid", "")
            listed = any(r.get("uid") == uid for r in state.active)
            done = finished_type(job)
            if not listed and done is None:
                fresh = await self.client.get(CRONJOBS, _meta(state.cronjob)["name"],
                                              _meta(state.cronjob).get("namespace", ""))
                if any(r.get("uid") == uid for r in _status(fresh).get("active") or []):
                    state.cronjob = fresh
                    continue
                self._event(state.cronjob, WARNING, "UnexpectedJob",
                            f"Saw a job that the controller did not create or forgot: {_meta(job).get('name')}")
            elif done is not None:
                if listed:
                    state.drop_active(uid)
                    self._event(state.cronjob, NORMAL, "SawCompletedJob",
                                f"Saw completed job: {_meta(job).get('name')}, condition: {done}")
                    state.changed = True
                completion = _status(job).get("completionTime")
                last = _status(state.cronjob).get("lastSuccessfulTime")
                if done == "Complete" and completion and (last is None or parse_time(completion) > parse_time(last)):
                    state.cronjob.setdefault("status", {})["lastSuccessfulTime"] = completion
                    state.changed = True
        for ref in state.active:
            if ref.get("uid") in children:
                continue
            try:
                await self.client.get(JOBS, ref.get("name", ""), ref.get("namespace", ""))
            except StatusError as err:
                if err.code != 404:
                    raise
                self._event(state.cronjob, NORMAL, "MissingJob", f"Active job went missing: {ref.get('name')}")
                state.drop_active(ref.get("uid", ""))
                state.changed = True
        return await self._start_due(state, now)

    async def _start_due(self, state: _State, now: float) -> float | None:
        cronjob = state.cronjob
        spec = _spec(cronjob)
        if _meta(cronjob).get("deletionTimestamp"):
            return None
        if spec.get("timeZone") is not None:
            try:
                _zone(spec["timeZone"])
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                self._event(cronjob, WARNING, "UnknownTimeZone",
                            f'invalid timeZone: "{spec["timeZone"]}": unknown time zone {spec["timeZone"]}')
                return None
        if spec.get("suspend"):
            return None
        text = spec.get("schedule", "")
        if "TZ" in text:
            self._event(cronjob, WARNING, "UnsupportedSchedule",
                        f'CRON_TZ or TZ used in schedule "{text}" is not officially supported, see '
                        "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details")
        try:
            schedule = cronschedule.parse(cronschedule.format_schedule(text, spec.get("timeZone")))
        except CronError as err:
            self._event(cronjob, WARNING, "UnparseableSchedule", f'unparseable schedule: "{text}" : {err}')
            return None
        last = _status(cronjob).get("lastScheduleTime")
        deadline = spec.get("startingDeadlineSeconds")
        try:
            due = cronschedule.most_recent_schedule_time(parse_time(_meta(cronjob)["creationTimestamp"]),
                                                         parse_time(last) if last else None, deadline, now,
                                                         schedule, True)
        except ScheduleError as err:
            self._event(cronjob, WARNING, "InvalidSchedule", f"invalid schedule: {text} : {err}")
            return None
        scheduled = due.most_recent
        if scheduled is None or scheduled > now:
            return self._next_delay(cronjob, schedule)
        if due.missed is Missed.MANY:
            self._event(cronjob, WARNING, "TooManyMissedTimes", "too many missed start times. Set or decrease "
                        ".spec.startingDeadlineSeconds or check clock skew")
        if deadline is not None and scheduled + int(deadline) < now:
            self._event(cronjob, WARNING, "MissSchedule",
                        f"Missed scheduled time to start a job: {rfc1123z(scheduled)}")
            return self._next_delay(cronjob, schedule)
        name = job_name(cronjob, scheduled)
        if any(r.get("name") == name for r in state.active) or (last and int(parse_time(last)) == int(scheduled)):
            return self._next_delay(cronjob, schedule)
        policy = spec.get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and state.active:
            self._event(cronjob, NORMAL, "JobAlreadyActive",
                        "Not starting job because prior execution is running and concurrency policy is Forbid")
            return self._next_delay(cronjob, schedule)
        if policy == "Replace":
            for ref in state.active:
                try:
                    job = await self.client.get(JOBS, ref.get("name", ""), ref.get("namespace", ""))
                except StatusError as err:
                    self._event(cronjob, WARNING, "FailedGet", f"Get job: {err.message}")
                    raise
                if not await self._delete_job(state, job):
                    raise RuntimeError(f"could not replace job {ref.get('namespace')}/{ref.get('name')}")
                state.changed = True
        created = await self._create_job(state, scheduled)
        if created is None:
            return None
        state.set_active([*state.active, job_ref(created)])
        state.cronjob.setdefault("status", {})["lastScheduleTime"] = rfc3339(scheduled)
        state.changed = True
        return self._next_delay(state.cronjob, schedule)

    async def _create_job(self, state: _State, scheduled: float) -> Obj | None:
        """Create the Job for `scheduled`; the existing one when another sync made it first; None when it
        exists and is not ours to list, or is listed already."""
        cronjob = state.cronjob
        namespace = _meta(cronjob).get("namespace", "")
        body = job_from_template(cronjob, scheduled)
        try:
            job = await self.client.create(JOBS, body, namespace)
        except StatusError as err:
            if err.code != 409 or err.reason != "AlreadyExists":
                if not _namespace_terminating(err):
                    self._event(cronjob, WARNING, "FailedCreate", f"Error creating job: {err.message}")
                raise
            job = await self.client.get(JOBS, body["metadata"]["name"], namespace)
            owner = controller_of(job)
            if owner is None or owner.get("uid") != _meta(cronjob).get("uid"):
                return None
            if any(r.get("uid") == _meta(job).get("uid") for r in state.active):
                return None
            return job
        self._event(cronjob, NORMAL, "SuccessfulCreate", f"Created job {_meta(job).get('name')}")
        return job

    async def _cleanup_finished(self, state: _State, jobs: list[Obj]) -> None:
        """Delete the oldest finished Jobs beyond successfulJobsHistoryLimit and failedJobsHistoryLimit."""
        spec = _spec(state.cronjob)
        for kind, limit in (("Complete", spec.get("successfulJobsHistoryLimit")),
                            ("Failed", spec.get("failedJobsHistoryLimit"))):
            if limit is None:
                continue
            for job in oldest_past_limit([j for j in jobs if finished_type(j) == kind], int(limit)):
                if await self._delete_job(state, job):
                    state.changed = True

    async def _delete_job(self, state: _State, job: Obj) -> bool:
        try:
            await self.client.delete(JOBS, _meta(job)["name"], _meta(job).get("namespace", ""),
                                     propagation_policy="Background")
        except StatusError as err:
            self._event(state.cronjob, WARNING, "FailedDelete", f"Deleted job: {err.message}")
            return False
        state.drop_active(_meta(job).get("uid", ""))
        self._event(state.cronjob, NORMAL, "SuccessfulDelete", f"Deleted job {_meta(job).get('name')}")
        return True


def _namespace_terminating(err: StatusError) -> bool:
    return any(c.get("type") == "NamespaceTerminating" for c in err.causes or [])
