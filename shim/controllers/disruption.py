"""The disruption controller (pkg/controller/disruption): keeps each PodDisruptionBudget's status, which the
eviction subresource spends.

From the pods the budget selects it computes expectedPods and desiredHealthy (minAvailable as an integer counts the
selected pods; a percentage, or maxUnavailable, takes the scale of the pods' controllers: a Deployment through its
ReplicaSet, a ReplicaSet, a StatefulSet, a ReplicationController), currentHealthy (ready pods neither being deleted
nor recently evicted), disruptionsAllowed, the DisruptionAllowed condition (SufficientPods / InsufficientPods, or
SyncFailed with no disruption allowed when the status cannot be computed) and it drops evictions from
disruptedPods once the pod is gone or the eviction is older than two minutes. A pod whose DisruptionTarget
condition stayed True for two minutes without the pod being deleted has it reset to False.

The decisions are pure functions (`expected_pod_count`, `count_healthy`, `disrupted_pod_map`, `budget_status`);
`DisruptionController` applies them through the client.
"""
from __future__ import annotations

import asyncio
import copy
import logging
from dataclasses import dataclass
from typing import Callable

from shim.clients.base import PODS, Client, Resource
from shim.controllers import podutil
from shim.controllers.clock import Clock
from shim.controllers.deployment import DEPLOYMENTS
from shim.controllers.deploymentutil import scaled_value
from shim.controllers.events import NORMAL, WARNING, Recorder
from shim.controllers.informers import Informer, Informers
from shim.controllers.podutil import Obj, controller_of, key_of
from shim.controllers.replicaset import REPLICASETS, REPLICATIONCONTROLLERS
from shim.controllers.workqueue import WorkQueue, run_workers
from shim.kubelet.timeutil import parse_time, rfc3339
from shim.machinery.errors import StatusError
from shim.machinery.labels import selector_from_match

log = logging.getLogger(__name__)
COMPONENT = "controllermanager"
PDBS = Resource("policy", "v1", "poddisruptionbudgets")
STATEFULSETS = Resource("apps", "v1", "statefulsets")
DISRUPTION_ALLOWED = "DisruptionAllowed"
#: how long an eviction recorded in disruptedPods keeps its pod from counting as healthy (DeletionTimeout)
DELETION_TIMEOUT = 120.0
#: how long a DisruptionTarget condition may stay True on a pod nobody deletes (stalePodDisruptionTimeout)
STALE_POD_DISRUPTION_TIMEOUT = 120.0

#: (controller reference, namespace) -> (controller uid, scale), None when the reference is not that finder's
Finder = Callable[[Obj, str], "tuple[str, int] | None"]


class SyncFailed(Exception):
    """The budget's status cannot be computed (failSafe then allows no disruption)."""


def pods_for_budget(pdb: Obj, pods: list[Obj]) -> list[Obj]:
    """The pods of the budget's namespace its selector matches; a budget without a selector matches none."""
    selector = (pdb.get("spec") or {}).get("selector")
    if selector is None:
        return []
    try:
        match = selector_from_match(selector.get("matchLabels"), selector.get("matchExpressions"))
    except (KeyError, ValueError) as err:
        raise SyncFailed(f"invalid selector: {err}") from err
    return [p for p in pods if match.matches((p.get("metadata") or {}).get("labels") or {})]


def expected_scale(pods: list[Obj], finders: list[Finder]) -> tuple[int, list[str]]:
    """getExpectedScale: the summed scale of the pods' controllers, and the pods without a controller."""
    scales: dict[str, int] = {}
    unmanaged: list[str] = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        ref = controller_of(pod)
        if ref is None:
            unmanaged.append(str(meta.get("name", "")))
            continue
        if ref.get("uid") in scales:
            continue
        found = next((f for f in (finder(ref, str(meta.get("namespace", ""))) for finder in finders) if f), None)
        if found is None:
            raise SyncFailed(f"found no controllers for pod {meta.get('name', '')!r}")
        scales[found[0]] = found[1]
    return sum(scales.values()), unmanaged


def expected_pod_count(pdb: Obj, pods: list[Obj], finders: list[Finder]) -> tuple[int, int, list[str]]:
    """getExpectedPodCount: (expectedPods, desiredHealthy, unmanaged pods)."""
    spec = pdb.get("spec") or {}
    try:
        if spec.get("maxUnavailable") is not None:
            expected, unmanaged = expected_scale(pods, finders)
            return expected, max(0, expected - scaled_value(spec["maxUnavailable"], expected, True)), unmanaged
        min_available = spec.get("minAvailable")
        if isinstance(min_available, int):
            return len(pods), min_available, []
        if min_available is not None:
            expected, unmanaged = expected_scale(pods, finders)
            return expected, scaled_value(min_available, expected, True), unmanaged
    except ValueError as err:
        raise SyncFailed(str(err)) from err
    return 0, 0, []


def disrupted_pod_map(pdb: Obj, pods: list[Obj], now: float) -> tuple[dict[str, str], float | None]:
    """buildDisruptedPodMap: the evictions still awaited (pod present, not being deleted, evicted less than
    DELETION_TIMEOUT ago) and when the earliest of them runs out."""
    recorded = (pdb.get("status") or {}).get("disruptedPods") or {}
    kept: dict[str, str] = {}
    recheck: float | None = None
    for pod in pods:
        meta = pod.get("metadata") or {}
        name = str(meta.get("name", ""))
        if meta.get("deletionTimestamp") or name not in recorded:
            continue
        expires = parse_time(recorded[name]) + DELETION_TIMEOUT
        if expires >= now:
            kept[name] = recorded[name]
            recheck = expires if recheck is None else min(recheck, expires)
    return kept, recheck


def count_healthy(pods: list[Obj], disrupted: dict[str, str], now: float) -> int:
    """countHealthyPods: ready pods neither being deleted nor evicted within DELETION_TIMEOUT."""
    healthy = 0
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        when = disrupted.get(str(meta.get("name", "")))
        if when is not None and parse_time(when) + DELETION_TIMEOUT > now:
            continue
        healthy += podutil.is_ready(pod)
    return healthy


def set_condition(conditions: list[Obj], condition: Obj, now: float) -> list[Obj]:
    """meta.SetStatusCondition: replace the condition of that type, its transition time kept unless its status
    changed."""
    old = next((c for c in conditions if c.get("type") == condition["type"]), None)
    if old is None:
        return [*conditions, {**condition, "lastTransitionTime": rfc3339(now)}]
    changed = old.get("status") != condition["status"]
    merged = {**condition, "lastTransitionTime": rfc3339(now) if changed else old.get("lastTransitionTime")}
    return [merged if c is old else c for c in conditions]


def allowed_condition(disruptions_allowed: int, observed_generation: int) -> Obj:
    """UpdateDisruptionAllowedCondition's condition for that many allowed disruptions."""
    if disruptions_allowed > 0:
        return {"type": DISRUPTION_ALLOWED, "status": "True", "reason": "SufficientPods", "message": "",
                "observedGeneration": observed_generation}
    return {"type": DISRUPTION_ALLOWED, "status": "False", "reason": "InsufficientPods", "message": "",
            "observedGeneration": observed_generation}


def _conditions_up_to_date(pdb: Obj) -> bool:
    status = pdb.get("status") or {}
    cond = next((c for c in status.get("conditions") or [] if c.get("type") == DISRUPTION_ALLOWED), None)
    if cond is None or int(status.get("observedGeneration") or 0) != int(pdb["metadata"].get("generation") or 0):
        return False
    if int(status.get("disruptionsAllowed") or 0) > 0:
        return (cond.get("status"), cond.get("reason")) == ("True", "SufficientPods")
    return (cond.get("status"), cond.get("reason")) == ("False", "InsufficientPods")


@dataclass(frozen=True)
class Counts:
    current_healthy: int
    desired_healthy: int
    expected_pods: int


def budget_status(pdb: Obj, counts: Counts, disrupted: dict[str, str], now: float) -> Obj | None:
    """updatePdbStatus: the new status, or None when the one stored is up to date. No disruption is allowed while
    the budget expects no pods, so pods appearing before the next sync are safe."""
    allowed = counts.current_healthy - counts.desired_healthy
    if counts.expected_pods <= 0 or allowed <= 0:
        allowed = 0
    status = pdb.get("status") or {}
    generation = int(pdb["metadata"].get("generation") or 0)
    if (int(status.get("currentHealthy") or 0) == counts.current_healthy
            and int(status.get("desiredHealthy") or 0) == counts.desired_healthy
            and int(status.get("expectedPods") or 0) == counts.expected_pods
            and int(status.get("disruptionsAllowed") or 0) == allowed
            and (status.get("disruptedPods") or {}) == disrupted
            and _conditions_up_to_date(pdb)):
        return None
    new: Obj = {"observedGeneration": generation, "disruptionsAllowed": allowed,
                "currentHealthy": counts.current_healthy, "desiredHealthy": counts.desired_healthy,
                "expectedPods": counts.expected_pods}
    if disrupted:
        new["disruptedPods"] = disrupted
    new["conditions"] = set_condition(list(status.get("conditions") or []), allowed_condition(allowed, generation),
                                      now)
    return new


def fail_safe_status(pdb: Obj, message: str, now: float) -> Obj:
    """failSafe: the stored status with no disruption allowed and DisruptionAllowed False for SyncFailed."""
    status = copy.deepcopy(pdb.get("status") or {})
    status["disruptionsAllowed"] = 0
    status["conditions"] = set_condition(list(status.get("conditions") or []), {
        "type": DISRUPTION_ALLOWED, "status": "False", "reason": "SyncFailed", "message": message,
        "observedGeneration": int(status.get("observedGeneration") or 0)}, now)
    return status


def stale_disruption_wait(pod: Obj, now: float) -> float | None:
    """nonTerminatingPodHasStaleDisruptionCondition: None when the pod has no DisruptionTarget condition to
    clear, else the seconds until it is stale (0: now)."""
    if (pod.get("metadata") or {}).get("deletionTimestamp") or podutil.is_terminal(pod):
        return None
    cond = next((c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") == "DisruptionTarget"),
                None)
    if cond is None or cond.get("status") != "True" or cond.get("reason") == "TerminationByKubelet":
        return None
    since = parse_time(cond["lastTransitionTime"]) if cond.get("lastTransitionTime") else now
    return max(0.0, STALE_POD_DISRUPTION_TIMEOUT - (now - since))


class DisruptionController:
    def __init__(self, client: Client, informers: Informers, *, clock: Clock | None = None, workers: int = 5) -> None:
        self.client = client
        self.clock = clock or Clock()
        self.workers = workers
        self.pdbs = informers.get(PDBS)
        self.pods = informers.get(PODS)
        self.rss = informers.get(REPLICASETS)
        self.deployments = informers.get(DEPLOYMENTS)
        self.statefulsets = informers.get(STATEFULSETS)
        self.rcs = informers.get(REPLICATIONCONTROLLERS)
        self.queue: WorkQueue[str] = WorkQueue(clock=self.clock)
        self.stale_queue: WorkQueue[str] = WorkQueue(clock=self.clock)
        self.recorder = Recorder(client, COMPONENT)
        self.pdbs.add_handler(self._on_pdb)
        self.pods.add_handler(self._on_pod)

    async def run(self) -> None:
        recorder = asyncio.create_task(self.recorder.run())
        try:
            for informer in (self.pdbs, self.pods, self.rss, self.deployments, self.statefulsets, self.rcs):
                await informer.synced.wait()
            await asyncio.gather(run_workers("disruption", self.queue, self.sync, self.workers),
                                 run_workers("disruption-stale", self.stale_queue, self.clear_stale, self.workers))
        finally:
            recorder.cancel()

    # -- event handlers --

    def _on_pdb(self, old: Obj | None, new: Obj | None) -> None:
        self.queue.add(key_of(new if new is not None else old or {}))

    def _on_pod(self, old: Obj | None, new: Obj | None) -> None:
        pod = new if new is not None else old or {}
        namespace = str((pod.get("metadata") or {}).get("namespace", ""))
        for pdb in self.pdbs.list(namespace):
            try:
                if pods_for_budget(pdb, [pod]):
                    self.queue.add(key_of(pdb))
            except SyncFailed:
                continue
        if new is not None:
            wait = stale_disruption_wait(new, self.clock())
            if wait is not None:
                self.stale_queue.add_after(key_of(new), wait)

    # -- controller scale (the finders) --

    def _owned(self, informer: Informer, ref: Obj, namespace: str, kind: str, groups: tuple[str, ...]) -> Obj | None:
        """The object the reference names when it is of that kind and group and still has that uid."""
        group = str(ref.get("apiVersion", "")).rpartition("/")[0]
        if ref.get("kind") != kind or group not in groups:
            return None
        obj = informer.get(namespace, str(ref.get("name", "")))
        if obj is None or (obj.get("metadata") or {}).get("uid") != ref.get("uid"):
            return None
        return obj

    @staticmethod
    def _scale(obj: Obj) -> tuple[str, int]:
        replicas = (obj.get("spec") or {}).get("replicas")
        return str(obj["metadata"]["uid"]), 1 if replicas is None else int(replicas)

    def _replication_controller(self, ref: Obj, namespace: str) -> tuple[str, int] | None:
        rc = self._owned(self.rcs, ref, namespace, "ReplicationController", ("",))
        return None if rc is None else self._scale(rc)

    def _deployment(self, ref: Obj, namespace: str) -> tuple[str, int] | None:
        rs = self._owned(self.rss, ref, namespace, "ReplicaSet", ("apps", "extensions"))
        owner = None if rs is None else controller_of(rs)
        if owner is None:
            return None
        deployment = self._owned(self.deployments, owner, namespace, "Deployment", ("apps", "extensions"))
        return None if deployment is None else self._scale(deployment)

    def _replica_set(self, ref: Obj, namespace: str) -> tuple[str, int] | None:
        rs = self._owned(self.rss, ref, namespace, "ReplicaSet", ("apps", "extensions"))
        if rs is None or (controller_of(rs) or {}).get("kind") == "Deployment":
            return None
        return self._scale(rs)

    def _stateful_set(self, ref: Obj, namespace: str) -> tuple[str, int] | None:
        sts = self._owned(self.statefulsets, ref, namespace, "StatefulSet", ("apps",))
        return None if sts is None else self._scale(sts)

    def finders(self) -> list[Finder]:
        return [self._replication_controller, self._deployment, self._replica_set, self._stateful_set]

    # -- sync --

    async def sync(self, key: str) -> None:
        namespace, name = podutil.split_key(key)
        pdb = self.pdbs.get(namespace, name)
        if pdb is None:
            return
        try:
            await self._try_sync(pdb)
        except StatusError as err:
            if err.code == 409:
                raise
            await self._fail_safe(pdb, err.message)
        except SyncFailed as err:
            await self._fail_safe(pdb, str(err))

    async def _try_sync(self, pdb: Obj) -> None:
        pods = pods_for_budget(pdb, self.pods.list(str(pdb["metadata"].get("namespace", ""))))
        if not pods:
            self._event(pdb, NORMAL, "NoPods", "No matching pods found")
        try:
            expected, desired, unmanaged = expected_pod_count(pdb, pods, self.finders())
        except SyncFailed as err:
            self._event(pdb, WARNING, "CalculateExpectedPodCountFailed",
                        f"Failed to calculate the number of expected pods: {err}")
            raise
        if unmanaged:
            selector = (pdb.get("spec") or {}).get("selector")
            self._event(pdb, WARNING, "UnmanagedPods", f"Pods selected by this PodDisruptionBudget (selector: "
                        f"{selector}) were found to be unmanaged. As a result, the status of the PDB cannot be "
                        "calculated correctly, which may result in undefined behavior. To account for these pods "
                        "please set \".spec.minAvailable\" field of the PDB to an integer value.")
        now = self.clock()
        disrupted, recheck = disrupted_pod_map(pdb, pods, now)
        status = budget_status(pdb, Counts(count_healthy(pods, disrupted, now), desired, expected), disrupted, now)
        if status is not None:
            await self.client.update(PDBS, {**pdb, "status": status}, subresource="status")
        if recheck is not None:
            self.queue.add_after(key_of(pdb), recheck - now)

    async def _fail_safe(self, pdb: Obj, message: str) -> None:
        log.warning("failed to sync PodDisruptionBudget %s: %s", key_of(pdb), message)
        await self.client.update(PDBS, {**pdb, "status": fail_safe_status(pdb, message, self.clock())},
                                 subresource="status")

    async def clear_stale(self, key: str) -> None:
        """syncStalePodDisruption: reset a stale DisruptionTarget condition to False."""
        namespace, name = podutil.split_key(key)
        pod = self.pods.get(namespace, name)
        if pod is None:
            return
        wait = stale_disruption_wait(pod, self.clock())
        if wait is None:
            return
        if wait > 0:
            self.stale_queue.add_after(key, wait)
            return
        status = copy.deepcopy(pod.get("status") or {})
        status["conditions"] = set_condition(list(status.get("conditions") or []), {
            "type": "DisruptionTarget", "status": "False"}, self.clock())
        await self.client.update(PODS, {**pod, "status": status}, subresource="status")

    def _event(self, pdb: Obj, type_: str, reason: str, message: str) -> None:
        self.recorder.event(pdb, "policy/v1", "PodDisruptionBudget", type_, reason, message)
