"""The ReplicaSet controller (pkg/controller/replicaset), also run for ReplicationControllers as upstream does.

It keeps `spec.replicas` active pods: creates missing ones from the template (generateName `<rs>-`, a controller
reference that blocks the owner's foreground deletion) in slow-start batches, deletes surplus ones in upstream's
order (unscheduled, pending, not ready, lower pod-deletion-cost, doubled-up, recently ready, restarting, young
first), adopts matching orphans and releases owned pods that no longer match. Expectations keep a slow watch from
making it act twice. Status counts replicas, fully labeled, ready and available (minReadySeconds) pods and carries
a ReplicaFailure condition while creating or deleting fails.

The decisions are pure functions (`scale_plan`, `calculate_status`; claiming is shim.controllers.controllerref);
`ReplicaSetController` applies them through the client.
"""
from __future__ import annotations

import asyncio
import copy
import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from shim.clients.base import PODS, Client, Resource
from shim.controllers import podutil
from shim.controllers.controllerref import OwnerKind, claim
from shim.controllers.events import NORMAL, WARNING, Recorder
from shim.controllers.expectations import Expectations
from shim.controllers.informers import Informers
from shim.controllers.podutil import Obj, controller_of, key_of
from shim.controllers.workqueue import WorkQueue, run_workers
from shim.kubelet.timeutil import rfc3339
from shim.machinery.errors import StatusError
from shim.machinery.labels import LabelSelector, selector_from_match

log = logging.getLogger(__name__)
REPLICASETS = Resource("apps", "v1", "replicasets")
REPLICATIONCONTROLLERS = Resource("", "v1", "replicationcontrollers")
BURST_REPLICAS = 500
SLOW_START_INITIAL_BATCH = 1
REPLICA_FAILURE = "ReplicaFailure"


@dataclass(frozen=True)
class Kind:
    """What differs between ReplicaSets and ReplicationControllers: the resource, the owner reference's kind and
    the shape of the selector (a LabelSelector, or a plain map)."""

    resource: Resource
    kind: str
    component: str

    def selector(self, owner: Obj) -> LabelSelector:
        selector = (owner.get("spec") or {}).get("selector") or {}
        if self.resource == REPLICATIONCONTROLLERS:
            return selector_from_match(selector)
        return selector_from_match(selector.get("matchLabels"), selector.get("matchExpressions"))

    def template(self, owner: Obj) -> Obj:
        return (owner.get("spec") or {}).get("template") or {}


REPLICASET = Kind(REPLICASETS, "ReplicaSet", "replicaset-controller")
REPLICATIONCONTROLLER = Kind(REPLICATIONCONTROLLERS, "ReplicationController", "replication-controller")


@dataclass(frozen=True)
class ScalePlan:
    create: int
    delete: list[Obj]


def scale_plan(replicas: int, active: list[Obj], related: list[Obj], now: float,
               burst: int = BURST_REPLICAS) -> ScalePlan:
    """How many pods to create, or which to delete (at most `burst` either way)."""
    diff = len(active) - replicas
    if diff < 0:
        return ScalePlan(min(-diff, burst), [])
    if diff > 0:
        diff = min(diff, burst)
        ranked = active if diff >= len(active) else podutil.rank_for_deletion(active, related, now)
        return ScalePlan(0, ranked[:diff])
    return ScalePlan(0, [])


def calculate_status(owner: Obj, template_labels: dict[str, str], active: list[Obj], manage_error: str | None,
                     now: float) -> Obj:
    """The new status (calculateStatus): counts, and ReplicaFailure set while managing replicas fails (reason
    FailedCreate or FailedDelete) and removed when it succeeds."""
    spec, status = owner.get("spec") or {}, copy.deepcopy(owner.get("status") or {})
    min_ready = int(spec.get("minReadySeconds") or 0)
    labeled = sum(1 for p in active if all(((p.get("metadata") or {}).get("labels") or {}).get(k) == v
                                            for k, v in template_labels.items()))
    ready = [p for p in active if podutil.is_ready(p)]
    available = sum(1 for p in ready if podutil.is_available(p, min_ready, now))
    conditions = [c for c in status.get("conditions") or []]
    failure = next((c for c in conditions if c.get("type") == REPLICA_FAILURE), None)
    if manage_error is not None and failure is None:
        diff = len(active) - int(spec.get("replicas", 1))
        reason = "FailedCreate" if diff < 0 else ("FailedDelete" if diff > 0 else "")
        conditions.append({"type": REPLICA_FAILURE, "status": "True", "lastTransitionTime": rfc3339(now),
                           "reason": reason, "message": manage_error})
    elif manage_error is None and failure is not None:
        conditions = [c for c in conditions if c.get("type") != REPLICA_FAILURE]
    status.update(replicas=len(active), fullyLabeledReplicas=labeled, readyReplicas=len(ready),
                  availableReplicas=available)
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)
    return status


def status_unchanged(owner: Obj, new: Obj) -> bool:
    """updateReplicaSetStatus's steady state: same counts and conditions, generation observed."""
    old = owner.get("status") or {}
    fields = ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas")
    return (all(int(old.get(f) or 0) == int(new.get(f) or 0) for f in fields)
            and (old.get("conditions") or []) == (new.get("conditions") or [])
            and int((owner.get("metadata") or {}).get("generation") or 0) == int(old.get("observedGeneration") or 0))


async def slow_start_batch(count: int, initial: int, call: Callable[[], Awaitable[None]]) -> tuple[int, str | None]:
    """Call `call` `count` times in batches doubling from `initial`, stopping after a batch with a failure;
    return the successes and the first error."""
    remaining, successes, batch = count, 0, min(count, initial)
    while batch > 0:
        results = await asyncio.gather(*(call() for _ in range(batch)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        successes += batch - len(errors)
        if errors:
            err = errors[0]
            return successes, err.message if isinstance(err, StatusError) else str(err)
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None


class ReplicaSetController:
    def __init__(self, client: Client, informers: Informers, kind: Kind = REPLICASET, *,
                 clock: Callable[[], float] = time.time, workers: int = 5) -> None:
        self.client = client
        self.kind = kind
        self.clock = clock
        self.workers = workers
        self.owners = informers.get(kind.resource)
        self.pods = informers.get(PODS)
        self.queue: WorkQueue[str] = WorkQueue()
        self.expectations = Expectations()
        self.recorder = Recorder(client, kind.component)
        self.owners.add_handler(self._on_owner)
        self.pods.add_handler(self._on_pod)

    async def run(self) -> None:
        recorder = asyncio.create_task(self.recorder.run())
        try:
            await self.owners.synced.wait()
            await self.pods.synced.wait()
            await run_workers(self.kind.component, self.queue, self.sync, self.workers)
        finally:
            recorder.cancel()

    # -- event handlers (addRS/updateRS/deleteRS, addPod/updatePod/deletePod) --

    def _on_owner(self, old: Obj | None, new: Obj | None) -> None:
        if new is None and old is not None:
            self.expectations.delete(key_of(old))
        self.queue.add(key_of(new if new is not None else old or {}))

    def _resolve(self, namespace: str, ref: Obj | None) -> Obj | None:
        if ref is None or ref.get("kind") != self.kind.kind:
            return None
        owner = self.owners.get(namespace, ref.get("name", ""))
        if owner is None or (owner.get("metadata") or {}).get("uid") != ref.get("uid"):
            return None
        return owner

    def _matching_owners(self, pod: Obj) -> list[Obj]:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if not labels:
            return []
        namespace = (pod.get("metadata") or {}).get("namespace", "")
        return [o for o in self.owners.list(namespace) if self.kind.selector(o).matches(labels)]

    def _on_pod(self, old: Obj | None, new: Obj | None) -> None:
        if new is None:
            self._pod_deleted(old or {})
            return
        namespace = (new.get("metadata") or {}).get("namespace", "")
        ref, old_ref = controller_of(new), controller_of(old) if old is not None else None
        if old is None:
            if (new.get("metadata") or {}).get("deletionTimestamp"):
                self._pod_deleted(new)
                return
            owner = self._resolve(namespace, ref)
            if owner is not None:
                self.expectations.creation_observed(key_of(owner))
                self.queue.add(key_of(owner))
            elif ref is None:
                for candidate in self._matching_owners(new):
                    self.queue.add(key_of(candidate))
            return
        if (old.get("metadata") or {}).get("resourceVersion") == (new.get("metadata") or {}).get("resourceVersion"):
            return
        labels_changed = (old.get("metadata") or {}).get("labels") != (new.get("metadata") or {}).get("labels")
        if (new.get("metadata") or {}).get("deletionTimestamp"):
            self._pod_deleted(new)
            if labels_changed:
                self._pod_deleted(old)
            return
        if old_ref != ref and old_ref is not None:
            previous = self._resolve(namespace, old_ref)
            if previous is not None:
                self.queue.add(key_of(previous))
        owner = self._resolve(namespace, ref)
        if owner is not None:
            self.queue.add(key_of(owner))
            min_ready = int((owner.get("spec") or {}).get("minReadySeconds") or 0)
            if not podutil.is_ready(old) and podutil.is_ready(new) and min_ready > 0:
                self.queue.add_after(key_of(owner), min_ready + 0.001)
            return
        if ref is None and (labels_changed or old_ref != ref):
            for candidate in self._matching_owners(new):
                self.queue.add(key_of(candidate))

    def _pod_deleted(self, pod: Obj) -> None:
        namespace = (pod.get("metadata") or {}).get("namespace", "")
        owner = self._resolve(namespace, controller_of(pod))
        if owner is None:
            return
        self.expectations.deletion_observed(key_of(owner), key_of(pod))
        self.queue.add(key_of(owner))

    # -- sync --

    async def sync(self, key: str) -> None:
        namespace, name = podutil.split_key(key)
        owner = self.owners.get(namespace, name)
        if owner is None:
            self.expectations.delete(key)
            return
        needs_sync = self.expectations.satisfied(key)
        selector = self.kind.selector(owner)
        uid = (owner.get("metadata") or {}).get("uid")
        candidates = [p for p in self.pods.list(namespace)
                      if podutil.is_active(p) and (controller_of(p) or {}).get("uid", uid) == uid]
        active = await claim(self.client, owner, OwnerKind(self.kind.resource, self.kind.kind), selector, candidates,
                             PODS)
        manage_error = None
        if needs_sync and not (owner.get("metadata") or {}).get("deletionTimestamp"):
            manage_error = await self._manage(owner, key, active)
        now = self.clock()
        labels = (self.kind.template(owner).get("metadata") or {}).get("labels") or {}
        status = calculate_status(owner, labels, active, manage_error, now)
        updated = await self._update_status(owner, status)
        if manage_error is not None:
            raise RuntimeError(manage_error)
        spec, new_status = updated.get("spec") or {}, updated.get("status") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        if min_ready > 0 and new_status.get("readyReplicas") != new_status.get("availableReplicas"):
            wait = podutil.next_availability_check(active, min_ready, now)
            self.queue.add_after(key, wait if wait is not None else float(min_ready))

    async def _manage(self, owner: Obj, key: str, active: list[Obj]) -> str | None:
        """manageReplicas: create or delete pods; the first error, worded as upstream's, or None."""
        replicas = int((owner.get("spec") or {}).get("replicas", 1))
        namespace = (owner.get("metadata") or {}).get("namespace", "")
        plan = scale_plan(replicas, active, self._related_pods(owner), self.clock())
        if plan.create:
            self.expectations.expect_creations(key, plan.create)
            ref = podutil.controller_ref(owner, self.kind.resource.api_version, self.kind.kind)
            template = self.kind.template(owner)

            async def create() -> None:
                pod = podutil.pod_from_template(template, owner, ref)
                try:
                    created = await self.client.create(PODS, pod, namespace)
                except StatusError as err:
                    if any(c.get("type") == "NamespaceTerminating" for c in err.causes or []):
                        return
                    self._event(owner, WARNING, "FailedCreate", f"Error creating: {err.message}")
                    raise
                self._event(owner, NORMAL, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")

            created, error = await slow_start_batch(plan.create, SLOW_START_INITIAL_BATCH, create)
            for _ in range(plan.create - created):
                self.expectations.creation_observed(key)
            return error
        if plan.delete:
            self.expectations.expect_deletions(key, [key_of(p) for p in plan.delete])
            results = await asyncio.gather(*(self._delete(owner, key, pod) for pod in plan.delete))
            return next((r for r in results if r is not None), None)
        return None

    async def _delete(self, owner: Obj, key: str, pod: Obj) -> str | None:
        meta = pod["metadata"]
        try:
            await self.client.delete(PODS, meta["name"], meta.get("namespace", ""))
        except StatusError as err:
            self.expectations.deletion_observed(key, key_of(pod))
            if err.code == 404:
                return None
            self._event(owner, WARNING, "FailedDelete", f"Error deleting: {err.message}")
            return err.message
        self._event(owner, NORMAL, "SuccessfulDelete", f"Deleted pod: {meta['name']}")
        return None

    def _related_pods(self, owner: Obj) -> list[Obj]:
        """Pods of every ReplicaSet controlled by this one's controller (getIndirectlyRelatedPods)."""
        namespace = (owner.get("metadata") or {}).get("namespace", "")
        ref = controller_of(owner)
        siblings = [owner] if ref is None else [o for o in self.owners.list(namespace)
                                                if (controller_of(o) or {}).get("uid") == ref.get("uid")]
        seen: dict[str, Obj] = {}
        pods = self.pods.list(namespace)
        for sibling in siblings:
            selector = self.kind.selector(sibling)
            for pod in pods:
                if selector.matches((pod.get("metadata") or {}).get("labels") or {}):
                    seen.setdefault((pod.get("metadata") or {}).get("uid", ""), pod)
        return list(seen.values())

    async def _update_status(self, owner: Obj, status: Obj) -> Obj:
        """Write the status unless it is the steady state; one GET and retry after a conflict."""
        if status_unchanged(owner, status):
            return owner
        status["observedGeneration"] = int((owner.get("metadata") or {}).get("generation") or 0)
        current = copy.deepcopy(owner)
        for attempt in range(2):
            current["status"] = status
            try:
                return await self.client.update(self.kind.resource, current, subresource="status")
            except StatusError as err:
                if err.code != 409 or attempt:
                    raise
                meta = owner["metadata"]
                current = await self.client.get(self.kind.resource, meta["name"], meta.get("namespace", ""))
        return owner

    def _event(self, owner: Obj, type_: str, reason: str, message: str) -> None:
        self.recorder.event(owner, self.kind.resource.api_version, self.kind.kind, type_, reason, message)

