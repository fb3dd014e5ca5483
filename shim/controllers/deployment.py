"""The Deployment controller (pkg/controller/deployment): one ReplicaSet per pod template, named
`<deployment>-<pod-template-hash>`, rolled with RollingUpdate (maxSurge/maxUnavailable) or Recreate, scaled
proportionally, paused, rolled back through the deprecated rollback annotation, old ReplicaSets cleaned up past
revisionHistoryLimit, and the Progressing/Available conditions kubectl's `rollout status` reads.

The steps follow upstream's sync (sync.go, rolling.go, recreate.go, progress.go, rollback.go) one for one; the
arithmetic lives in shim.controllers.deploymentutil.
"""
from __future__ import annotations

import asyncio
import copy
import logging
import time
from typing import Callable, Sequence

from shim.clients.base import PODS, Client, Resource
from shim.controllers import deploymentutil as du
from shim.controllers import podutil
from shim.controllers.controllerref import OwnerKind, claim
from shim.controllers.deploymentutil import Obj, meta, replicas, spec, status
from shim.controllers.events import NORMAL, WARNING, Recorder
from shim.controllers.informers import Informers
from shim.controllers.podutil import controller_of, key_of
from shim.controllers.replicaset import REPLICASETS
from shim.controllers.workqueue import WorkQueue, run_workers
from shim.kubelet.timeutil import parse_time
from shim.machinery.errors import StatusError
from shim.machinery.labels import LabelSelector, selector_from_match

log = logging.getLogger(__name__)
DEPLOYMENTS = Resource("apps", "v1", "deployments")
COMPONENT = "deployment-controller"


def selector_of(obj: Obj) -> LabelSelector:
    selector = spec(obj).get("selector") or {}
    return selector_from_match(selector.get("matchLabels"), selector.get("matchExpressions"))


class DeploymentController:
    def __init__(self, client: Client, informers: Informers, *, clock: Callable[[], float] = time.time,
                 workers: int = 5) -> None:
        self.client = client
        self.clock = clock
        self.workers = workers
        self.deployments = informers.get(DEPLOYMENTS)
        self.rss = informers.get(REPLICASETS)
        self.pods = informers.get(PODS)
        self.queue: WorkQueue[str] = WorkQueue()
        self.recorder = Recorder(client, COMPONENT)
        self.deployments.add_handler(lambda old, new: self.queue.add(key_of(new if new is not None else old or {})))
        self.rss.add_handler(self._on_replica_set)
        self.pods.add_handler(self._on_pod)

    async def run(self) -> None:
        recorder = asyncio.create_task(self.recorder.run())
        try:
            for informer in (self.deployments, self.rss, self.pods):
                await informer.synced.wait()
            await run_workers(COMPONENT, self.queue, self.sync, self.workers)
        finally:
            recorder.cancel()

    # -- event handlers --

    def _resolve(self, namespace: str, ref: Obj | None) -> Obj | None:
        if ref is None or ref.get("kind") != "Deployment":
            return None
        d = self.deployments.get(namespace, ref.get("name", ""))
        return d if d is not None and meta(d).get("uid") == ref.get("uid") else None

    def _matching(self, rs: Obj) -> list[Obj]:
        labels = meta(rs).get("labels") or {}
        if not labels:
            return []
        return [d for d in self.deployments.list(meta(rs).get("namespace", ""))
                if not selector_of(d).empty and selector_of(d).matches(labels)]

    def _on_replica_set(self, old: Obj | None, new: Obj | None) -> None:
        current = new if new is not None else old or {}
        namespace = meta(current).get("namespace", "")
        ref = controller_of(current)
        if new is None or old is None or meta(new).get("deletionTimestamp"):
            owner = self._resolve(namespace, ref)
            if owner is not None:
                self.queue.add(key_of(owner))
            elif ref is None and new is not None and old is None:
                for d in self._matching(new):
                    self.queue.add(key_of(d))
            return
        if meta(old).get("resourceVersion") == meta(new).get("resourceVersion"):
            return
        old_ref = controller_of(old)
        if old_ref != ref and old_ref is not None:
            previous = self._resolve(namespace, old_ref)
            if previous is not None:
                self.queue.add(key_of(previous))
        if ref is not None:
            owner = self._resolve(namespace, ref)
            if owner is not None:
                self.queue.add(key_of(owner))
            return
        if meta(old).get("labels") != meta(new).get("labels") or old_ref != ref:
            for d in self._matching(new):
                self.queue.add(key_of(d))

    def _on_pod(self, old: Obj | None, new: Obj | None) -> None:
        """A deleted pod may let a Recreate rollout start its new ReplicaSet."""
        if new is not None or old is None:
            return
        rs = self.rss.get(meta(old).get("namespace", ""), (controller_of(old) or {}).get("name", ""))
        if rs is None or (controller_of(old) or {}).get("kind") != "ReplicaSet":
            return
        d = self._resolve(meta(rs).get("namespace", ""), controller_of(rs))
        if d is not None and (spec(d).get("strategy") or {}).get("type") == "Recreate":
            self.queue.add(key_of(d))

    # -- sync (syncDeployment) --

    async def sync(self, key: str) -> None:
        namespace, name = podutil.split_key(key)
        cached = self.deployments.get(namespace, name)
        if cached is None:
            return
        d = copy.deepcopy(cached)
        selector = spec(d).get("selector") or {}
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            self._event(d, WARNING, "SelectingAll",
                        "This deployment is selecting all pods. A non-empty selector is required.")
            if int(status(d).get("observedGeneration") or 0) < int(meta(d).get("generation") or 0):
                d.setdefault("status", {})["observedGeneration"] = meta(d).get("generation")
                await self._update_status(d)
            return
        rss = await self._claim_replica_sets(d)
        if meta(d).get("deletionTimestamp"):
            await self._sync_status_only(d, rss)
            return
        await self._check_paused_conditions(d)
        if spec(d).get("paused"):
            await self._sync(d, rss)
            return
        if self._rollback_to(d) is not None:
            await self._rollback(d, rss)
            return
        if await self._is_scaling_event(d, rss):
            await self._sync(d, rss)
            return
        if (spec(d).get("strategy") or {}).get("type") == "Recreate":
            await self._rollout_recreate(d, rss)
        else:
            await self._rollout_rolling(d, rss)

    async def _claim_replica_sets(self, d: Obj) -> list[Obj]:
        """getReplicaSetsForDeployment: adopt matching orphans, release ours that stopped matching."""
        uid = meta(d).get("uid")
        candidates = [rs for rs in self.rss.list(meta(d).get("namespace", ""))
                      if (controller_of(rs) or {}).get("uid", uid) == uid]
        return await claim(self.client, d, OwnerKind(DEPLOYMENTS, "Deployment"), selector_of(d), candidates,
                           REPLICASETS)

    def _pods_by_replica_set(self, d: Obj, rss: list[Obj]) -> dict[str, list[Obj]]:
        selector = selector_of(d)
        by_uid: dict[str, list[Obj]] = {meta(rs).get("uid", ""): [] for rs in rss}
        for pod in self.pods.list(meta(d).get("namespace", "")):
            ref = controller_of(pod)
            if ref is not None and ref.get("uid") in by_uid and selector.matches(meta(pod).get("labels") or {}):
                by_uid[ref["uid"]].append(pod)
        return by_uid

    # -- writes --

    async def _update_status(self, d: Obj) -> None:
        updated = await self.client.update(DEPLOYMENTS, d, subresource="status")
        d["metadata"]["resourceVersion"] = meta(updated).get("resourceVersion")

    async def _update(self, d: Obj) -> None:
        updated = await self.client.update(DEPLOYMENTS, d)
        d["metadata"]["resourceVersion"] = meta(updated).get("resourceVersion")

    def _event(self, d: Obj, type_: str, reason: str, message: str) -> None:
        self.recorder.event(d, "apps/v1", "Deployment", type_, reason, message)

    # -- sync.go --

    async def _all_replica_sets(self, d: Obj, rss: list[Obj], create: bool) -> tuple[Obj | None, list[Obj]]:
        new = du.find_new(d, rss)
        olds = du.find_old(d, rss, new)
        return await self._new_replica_set(d, rss, olds, create), olds

    async def _new_replica_set(self, d: Obj, rss: list[Obj], olds: list[Obj], create: bool) -> Obj | None:
        existing = du.find_new(d, rss)
        new_revision = str(du.max_revision(olds) + 1)
        namespace = meta(d).get("namespace", "")
        now = self.clock()
        if existing is not None:
            rs = copy.deepcopy(existing)
            annotations_updated = du.set_new_replica_set_annotations(d, rs, new_revision, True)
            min_ready = spec(d).get("minReadySeconds") or 0
            if annotations_updated or (spec(rs).get("minReadySeconds") or 0) != min_ready:
                rs["spec"]["minReadySeconds"] = min_ready
                return await self.client.update(REPLICASETS, rs)
            needs_update = self._set_revision(d, du.annotations_of(rs).get(du.REVISION, ""))
            if du.has_progress_deadline(d) and du.condition(status(d), "Progressing") is None:
                du.set_condition(d.setdefault("status", {}), du.new_condition(
                    "Progressing", "True", du.FOUND_NEW_RS, f'Found new replica set "{meta(rs)["name"]}"', now))
                needs_update = True
            if needs_update:
                await self._update_status(d)
            return rs
        if not create:
            return None
        template = copy.deepcopy(spec(d).get("template") or {})
        pod_hash = du.compute_hash(template, status(d).get("collisionCount"))
        template.setdefault("metadata", {})
        template["metadata"]["labels"] = {**(template["metadata"].get("labels") or {}), du.HASH_LABEL: pod_hash}
        selector = copy.deepcopy(spec(d).get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), du.HASH_LABEL: pod_hash}
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": du.replica_set_name(meta(d)["name"], pod_hash), "namespace": namespace,
                           "ownerReferences": [podutil.controller_ref(d, "apps/v1", "Deployment")],
                           "labels": dict(template["metadata"]["labels"])},
              "spec": {"replicas": 0, "minReadySeconds": spec(d).get("minReadySeconds") or 0,
                       "selector": selector, "template": template}}
        count = du.new_rs_new_replicas(d, [*olds, rs], rs)
        rs["spec"]["replicas"] = count
        du.set_new_replica_set_annotations(d, rs, new_revision, False)
        already = False
        try:
            created: Obj | None = await self.client.create(REPLICASETS, rs, namespace)
        except StatusError as err:
            if err.code == 409 and err.reason == "AlreadyExists":
                already = True
                found = self.rss.get(namespace, meta(rs)["name"])
                if found is None:
                    raise
                if (controller_of(found) or {}).get("uid") == meta(d).get("uid") and du.equal_ignore_hash(
                        spec(d).get("template") or {}, spec(found).get("template") or {}):
                    created = found
                else:
                    d.setdefault("status", {})["collisionCount"] = int(status(d).get("collisionCount") or 0) + 1
                    await self._update_status(d)
                    raise
            elif any(c.get("type") == "NamespaceTerminating" for c in err.causes or []):
                raise
            else:
                message = f'Failed to create new replica set "{meta(rs)["name"]}": {err.message}'
                if du.has_progress_deadline(d):
                    du.set_condition(d.setdefault("status", {}), du.new_condition(
                        "Progressing", "False", du.FAILED_RS_CREATE, message, now))
                    try:
                        await self._update_status(d)
                    except StatusError:
                        pass
                self._event(d, WARNING, du.FAILED_RS_CREATE, message)
                raise
        assert created is not None
        if not already and count > 0:
            self._event(d, NORMAL, "ScalingReplicaSet",
                        f"Scaled up replica set {meta(created)['name']} from 0 to {count}")
        needs_update = self._set_revision(d, new_revision)
        if not already and du.has_progress_deadline(d):
            du.set_condition(d.setdefault("status", {}), du.new_condition(
                "Progressing", "True", du.NEW_REPLICASET, f'Created new replica set "{meta(created)["name"]}"', now))
            needs_update = True
        if needs_update:
            await self._update_status(d)
        return created

    @staticmethod
    def _set_revision(d: Obj, rev: str) -> bool:
        annotations = d.setdefault("metadata", {}).setdefault("annotations", {})
        if annotations.get(du.REVISION) != rev:
            annotations[du.REVISION] = rev
            return True
        return False

    async def _sync_status_only(self, d: Obj, rss: list[Obj]) -> None:
        new, olds = await self._all_replica_sets(d, rss, False)
        await self._sync_deployment_status([*olds, new], new, d)

    async def _sync(self, d: Obj, rss: list[Obj]) -> None:
        """A scaling event or a paused deployment: scale, no rollout."""
        new, olds = await self._all_replica_sets(d, rss, False)
        await self._scale(d, new, olds)
        if spec(d).get("paused") and self._rollback_to(d) is None:
            await self._cleanup(olds, d)
        await self._sync_deployment_status([*olds, new], new, d)

    async def _check_paused_conditions(self, d: Obj) -> None:
        if not du.has_progress_deadline(d):
            return
        cond = du.condition(status(d), "Progressing")
        if cond is not None and cond.get("reason") == du.TIMED_OUT:
            return
        paused_cond = cond is not None and cond.get("reason") == du.PAUSED
        now = self.clock()
        if spec(d).get("paused") and not paused_cond:
            du.set_condition(d.setdefault("status", {}), du.new_condition(
                "Progressing", "Unknown", du.PAUSED, "Deployment is paused", now))
        elif not spec(d).get("paused") and paused_cond:
            du.set_condition(d.setdefault("status", {}), du.new_condition(
                "Progressing", "Unknown", du.RESUMED, "Deployment is resumed", now))
        else:
            return
        await self._update_status(d)

    async def _is_scaling_event(self, d: Obj, rss: list[Obj]) -> bool:
        new, olds = await self._all_replica_sets(d, rss, False)
        for rs in du.active([*olds, new]):
            desired = du.desired_replicas_annotation(rs)
            if desired is not None and desired != replicas(d):
                return True
        return False

    async def _scale(self, d: Obj, new: Obj | None, olds: list[Obj]) -> None:
        """Scale the active ReplicaSets to the deployment's size, proportionally during a rollout."""
        only = du.find_active_or_latest(new, olds)
        if only is not None:
            if replicas(only) != replicas(d):
                await self._scale_replica_set(only, replicas(d), d)
            return
        if du.is_saturated(d, new):
            for old in du.active(list(olds)):
                await self._scale_replica_set(old, 0, d)
            return
        if not du.is_rolling(d):
            return
        all_rss = du.active([*olds, new])
        allowed = replicas(d) + du.max_surge(d) if replicas(d) > 0 else 0
        to_add = allowed - du.total(all_rss, "spec")
        if to_add > 0:
            all_rss = du.by_size_newer(all_rss)
        elif to_add < 0:
            all_rss = du.by_size_older(all_rss)
        added = 0
        sizes: dict[str, int] = {}
        for rs in all_rss:
            if to_add != 0:
                share = du.proportion(rs, d, to_add, added)
                sizes[meta(rs)["name"]] = replicas(rs) + share
                added += share
            else:
                sizes[meta(rs)["name"]] = replicas(rs)
        for i, rs in enumerate(all_rss):
            name = meta(rs)["name"]
            if i == 0 and to_add != 0:
                sizes[name] = max(sizes[name] + to_add - added, 0)
            await self._scale_replica_set(rs, sizes[name], d, always=True)

    async def _scale_replica_set(self, rs: Obj, size: int, d: Obj, always: bool = False) -> tuple[bool, Obj]:
        """scaleReplicaSet(AndRecordEvent): write the new size and the replicas annotations, record the event."""
        if not always and replicas(rs) == size:
            return False, rs
        desired, most = replicas(d), replicas(d) + du.max_surge(d)
        size_changed = replicas(rs) != size
        if not size_changed and not du.replicas_annotations_need_update(rs, desired, most):
            return False, rs
        old_size = replicas(rs)
        updated = copy.deepcopy(rs)
        updated["spec"]["replicas"] = size
        du.set_replicas_annotations(updated, desired, most)
        result = await self.client.update(REPLICASETS, updated)
        if size_changed:
            direction = "up" if old_size < size else "down"
            self._event(d, NORMAL, "ScalingReplicaSet",
                        f"Scaled {direction} replica set {meta(result)['name']} from {old_size} to {size}")
        return size_changed, result

    async def _cleanup(self, olds: list[Obj], d: Obj) -> None:
        """Delete the oldest ReplicaSets beyond revisionHistoryLimit that have scaled to nothing."""
        if not du.has_revision_history_limit(d):
            return
        alive = [rs for rs in olds if not meta(rs).get("deletionTimestamp")]
        surplus = len(alive) - int(spec(d)["revisionHistoryLimit"])
        for rs in du.by_revision(alive)[:max(surplus, 0)]:
            if (int(status(rs).get("replicas") or 0) != 0 or replicas(rs) != 0
                    or int(meta(rs).get("generation") or 0) > int(status(rs).get("observedGeneration") or 0)):
                continue
            try:
                await self.client.delete(REPLICASETS, meta(rs)["name"], meta(rs).get("namespace", ""))
            except StatusError as err:
                if err.code != 404:
                    raise

    async def _sync_deployment_status(self, all_rss: Sequence[Obj | None], new: Obj | None, d: Obj) -> None:
        new_status = du.calculate_status(all_rss, new, d, self.clock())
        if _same_status(status(d), new_status):
            return
        d["status"] = new_status
        await self._update_status(d)

    # -- rolling.go --

    async def _rollout_rolling(self, d: Obj, rss: list[Obj]) -> None:
        new, olds = await self._all_replica_sets(d, rss, True)
        assert new is not None
        all_rss = [*olds, new]
        if await self._reconcile_new(all_rss, new, d):
            await self._sync_rollout_status(all_rss, new, d)
            return
        if await self._reconcile_olds(all_rss, du.active(list(olds)), new, d):
            await self._sync_rollout_status(all_rss, new, d)
            return
        if du.complete(d, status(d)):
            await self._cleanup(olds, d)
        await self._sync_rollout_status(all_rss, new, d)

    async def _reconcile_new(self, all_rss: list[Obj], new: Obj, d: Obj) -> bool:
        if replicas(new) == replicas(d):
            return False
        if replicas(new) > replicas(d):
            return (await self._scale_replica_set(new, replicas(d), d))[0]
        return (await self._scale_replica_set(new, du.new_rs_new_replicas(d, all_rss, new), d))[0]

    async def _reconcile_olds(self, all_rss: list[Obj], olds: list[Obj], new: Obj, d: Obj) -> bool:
        if du.total(olds, "spec") == 0:
            return False
        min_available = replicas(d) - du.max_unavailable(d)
        new_unavailable = replicas(new) - int(status(new).get("availableReplicas") or 0)
        max_scaled_down = du.total(all_rss, "spec") - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        try:
            olds, cleaned = await self._cleanup_unhealthy(olds, d, max_scaled_down)
            scaled = await self._scale_down_olds([*olds, new], olds, d)
        except StatusError:
            return False
        return cleaned + scaled > 0

    async def _cleanup_unhealthy(self, olds: list[Obj], d: Obj, most: int) -> tuple[list[Obj], int]:
        """Scale down old ReplicaSets' unavailable replicas first: they serve nobody."""
        olds = du.by_creation(olds)
        done = 0
        for i, rs in enumerate(olds):
            if done >= most:
                break
            available = int(status(rs).get("availableReplicas") or 0)
            if replicas(rs) == 0 or replicas(rs) == available:
                continue
            down = min(most - done, replicas(rs) - available)
            _, olds[i] = await self._scale_replica_set(rs, replicas(rs) - down, d)
            done += down
        return olds, done

    async def _scale_down_olds(self, all_rss: list[Obj], olds: list[Obj], d: Obj) -> int:
        min_available = replicas(d) - du.max_unavailable(d)
        available = du.total(all_rss, "availableReplicas")
        if available <= min_available:
            return 0
        target = available - min_available
        done = 0
        for rs in du.by_creation(olds):
            if done >= target:
                break
            if replicas(rs) == 0:
                continue
            down = min(replicas(rs), target - done)
            await self._scale_replica_set(rs, replicas(rs) - down, d)
            done += down
        return done

    # -- recreate.go --

    async def _rollout_recreate(self, d: Obj, rss: list[Obj]) -> None:
        new, olds = await self._all_replica_sets(d, rss, False)
        all_rss: Sequence[Obj | None] = [*olds, new]
        scaled = False
        for rs in du.active(list(olds)):
            changed, _ = await self._scale_replica_set(rs, 0, d)
            scaled = scaled or changed
        if scaled:
            await self._sync_rollout_status(all_rss, new, d)
            return
        if self._old_pods_running(new, olds, d, rss):
            await self._sync_rollout_status(all_rss, new, d)
            return
        if new is None:
            new, olds = await self._all_replica_sets(d, rss, True)
            all_rss = [*olds, new]
        assert new is not None
        await self._scale_replica_set(new, replicas(d), d)
        if du.complete(d, status(d)):
            await self._cleanup(olds, d)
        await self._sync_rollout_status(all_rss, new, d)

    def _old_pods_running(self, new: Obj | None, olds: list[Obj], d: Obj, rss: list[Obj]) -> bool:
        if du.total(olds, "replicas") > 0:
            return True
        new_uid = meta(new).get("uid") if new is not None else None
        for uid, pods in self._pods_by_replica_set(d, rss).items():
            if uid != new_uid and any(podutil.phase(p) not in ("Failed", "Succeeded") for p in pods):
                return True
        return False

    # -- progress.go --

    async def _sync_rollout_status(self, all_rss: Sequence[Obj | None], new: Obj | None, d: Obj) -> None:
        now = self.clock()
        new_status = du.calculate_status(all_rss, new, d, now)
        if not du.has_progress_deadline(d):
            du.remove_condition(new_status, "Progressing")
        current = du.condition(status(d), "Progressing")
        finished = (new_status["replicas"] == new_status["updatedReplicas"] and current is not None
                    and current.get("reason") == du.NEW_RS_AVAILABLE)
        name = meta(d).get("name", "")
        subject = f'ReplicaSet "{meta(new)["name"]}"' if new is not None else f'Deployment "{name}"'
        if du.has_progress_deadline(d) and not finished:
            if du.complete(d, new_status):
                du.set_condition(new_status, du.new_condition(
                    "Progressing", "True", du.NEW_RS_AVAILABLE, f"{subject} has successfully progressed.", now))
            elif du.progressing(d, new_status):
                cond = du.new_condition("Progressing", "True", du.REPLICASET_UPDATED, f"{subject} is progressing.",
                                        now)
                if current is not None:
                    if current.get("status") == "True":
                        cond["lastTransitionTime"] = current.get("lastTransitionTime")
                    du.remove_condition(new_status, "Progressing")
                du.set_condition(new_status, cond)
            elif du.timed_out(d, new_status, now):
                du.set_condition(new_status, du.new_condition(
                    "Progressing", "False", du.TIMED_OUT, f"{subject} has timed out progressing.", now))
        failures = self._replica_failures(all_rss, new)
        if failures:
            du.set_condition(new_status, failures[0])
        else:
            du.remove_condition(new_status, "ReplicaFailure")
        if _same_status(status(d), new_status):
            self._requeue_stuck(d, new_status, now)
            return
        d["status"] = new_status
        await self._update_status(d)

    @staticmethod
    def _replica_failures(all_rss: Sequence[Obj | None], new: Obj | None) -> list[Obj]:
        def of(rs: Obj) -> list[Obj]:
            return [{"type": c["type"], "status": c.get("status"), "lastUpdateTime": c.get("lastTransitionTime"),
                     "lastTransitionTime": c.get("lastTransitionTime"), "reason": c.get("reason"),
                     "message": c.get("message")}
                    for c in status(rs).get("conditions") or [] if c.get("type") == "ReplicaFailure"]
        if new is not None and of(new):
            return of(new)
        return [c for rs in all_rss if rs is not None for c in of(rs)]

    def _requeue_stuck(self, d: Obj, new_status: Obj, now: float) -> None:
        """Check the progress deadline again when it would pass (requeueStuckDeployment)."""
        current = du.condition(status(d), "Progressing")
        if not du.has_progress_deadline(d) or current is None:
            return
        if du.complete(d, new_status) or current.get("reason") == du.TIMED_OUT:
            return
        since = current.get("lastUpdateTime")
        if not since:
            return
        after = parse_time(since) + int(spec(d)["progressDeadlineSeconds"]) - now
        if after < 1:
            self.queue.add_rate_limited(key_of(d))
        else:
            self.queue.add_after(key_of(d), after + 1)

    # -- rollback.go --

    @staticmethod
    def _rollback_to(d: Obj) -> int | None:
        value = du.annotations_of(d).get(du.ROLLBACK_TO, "")
        try:
            return int(value) if value else None
        except ValueError:
            return None

    async def _rollback(self, d: Obj, rss: list[Obj]) -> None:
        new, olds = await self._all_replica_sets(d, rss, True)
        all_rss = [rs for rs in [*olds, new] if rs is not None]
        target = self._rollback_to(d) or du.last_revision(all_rss)
        if target == 0:
            self._event(d, WARNING, du.ROLLBACK_NOT_FOUND, "Unable to find last revision.")
            await self._clear_rollback(d)
            return
        for rs in all_rss:
            if du.revision(rs) == target:
                if not du.equal_ignore_hash(spec(d).get("template") or {}, spec(rs).get("template") or {}):
                    template = du.without_hash(spec(rs).get("template") or {})
                    d["spec"]["template"] = template
                    d["metadata"]["annotations"] = du.annotations_for_rollback(d, rs)
                    await self._clear_rollback(d)
                    self._event(d, NORMAL, du.ROLLBACK_DONE, f'Rolled back deployment "{meta(d)["name"]}" to '
                                                             f"revision {target}")
                else:
                    self._event(d, WARNING, du.ROLLBACK_UNCHANGED, "The rollback revision contains the same "
                                f'template as current deployment "{meta(d)["name"]}"')
                    await self._clear_rollback(d)
                return
        self._event(d, WARNING, du.ROLLBACK_NOT_FOUND, "Unable to find the revision to rollback to.")
        await self._clear_rollback(d)

    async def _clear_rollback(self, d: Obj) -> None:
        d.setdefault("metadata", {}).setdefault("annotations", {}).pop(du.ROLLBACK_TO, None)
        await self._update(d)


def _same_status(old: Obj, new: Obj) -> bool:
    """reflect.DeepEqual of two statuses, absent and zero counts being the same."""
    def norm(s: Obj) -> Obj:
        return {k: v for k, v in s.items() if v not in (0, None, [])}
    return norm(old) == norm(new)
