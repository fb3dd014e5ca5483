"""The TTL-after-finished controller (pkg/controller/ttlafterfinished): a finished Job with
spec.ttlSecondsAfterFinished is deleted (Foreground, so its pods go first, and only the Job it judged, by UID) once
that many seconds passed since its Complete or Failed condition turned True; until then it waits on the clock."""
from __future__ import annotations

import logging

from shim.clients.base import Client
from shim.controllers import podutil
from shim.controllers.clock import Clock
from shim.controllers.informers import Informers
from shim.controllers.job import JOBS
from shim.controllers.podutil import Obj, key_of
from shim.controllers.workqueue import WorkQueue, run_workers
from shim.kubelet.timeutil import parse_time
from shim.machinery.errors import StatusError

COMPONENT = "ttl-after-finished-controller"
log = logging.getLogger(__name__)


def needs_cleanup(job: Obj) -> bool:
    spec, status = job.get("spec") or {}, job.get("status") or {}
    return spec.get("ttlSecondsAfterFinished") is not None and any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True" for c in status.get("conditions") or [])


def expires_at(job: Obj) -> float:
    """When the Job's time to live ends: its finishing condition's transition plus the TTL (ValueError when the
    condition carries no time)."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            if not cond.get("lastTransitionTime"):
                break
            return parse_time(cond["lastTransitionTime"]) + int(job["spec"]["ttlSecondsAfterFinished"])
    meta = job.get("metadata") or {}
    raise ValueError(f"unable to find the time when the Job {meta.get('namespace')}/{meta.get('name')} finished")


class TTLAfterFinishedController:
    def __init__(self, client: Client, informers: Informers, *, clock: Clock | None = None, workers: int = 5) -> None:
        self.client = client
        self.clock = clock or Clock()
        self.workers = workers
        self.jobs = informers.get(JOBS)
        self.queue: WorkQueue[str] = WorkQueue(clock=self.clock)
        self.jobs.add_handler(self._on_job)

    async def run(self) -> None:
        await self.jobs.synced.wait()
        await run_workers(COMPONENT, self.queue, self.sync, self.workers)

    def _on_job(self, old: Obj | None, new: Obj | None) -> None:
        if new is not None and not (new.get("metadata") or {}).get("deletionTimestamp") and needs_cleanup(new):
            self.queue.add(key_of(new))

    def _expired(self, job: Obj) -> bool:
        """Whether the Job's time is up; if it is not yet, look again when it will be."""
        if (job.get("metadata") or {}).get("deletionTimestamp") or not needs_cleanup(job):
            return False
        left = expires_at(job) - self.clock()
        if left <= 0:
            return True
        self.queue.add_after(key_of(job), left)
        return False

    async def sync(self, key: str) -> None:
        namespace, name = podutil.split_key(key)
        cached = self.jobs.get(namespace, name)
        if cached is None or not self._expired(cached):
            return
        try:
            fresh = await self.client.get(JOBS, name, namespace)
        except StatusError as err:
            if err.code == 404:
                return
            raise
        if not self._expired(fresh):
            return
        log.debug("cleaning up job %s", key)
        try:
            await self.client.delete(JOBS, name, namespace, propagation_policy="Foreground",
                                     uid=(fresh.get("metadata") or {}).get("uid"))
        except StatusError as err:
            if err.code != 404:
                raise
