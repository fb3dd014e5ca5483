"""pods/{name}/eviction (pkg/registry/core/pod/storage/eviction.go): delete the pod with the Eviction's
DeleteOptions unless that would break its PodDisruptionBudget. A pod that is pending, finished or already being
deleted goes at once; otherwise the one budget selecting it must allow a disruption (its status up to date with
its generation), which the eviction spends and records in status.disruptedPods. An evicted pod first gets the
DisruptionTarget condition, which a Job's podFailurePolicy can match."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from shim.kubelet.timeutil import rfc3339
from shim.machinery import errors
from shim.machinery.labels import selector_from_match
from shim.registry.options import DeleteOptions, ListOptions, WriteOptions, Written
from shim.registry.strategy import Obj
from shim.registry.subresource import Kind, Subresource, success

if TYPE_CHECKING:
    from shim.registry.resource import ResourceInfo
    from shim.registry.rest import Verbs

VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."
#: evictions not yet confirmed by the disruption controller that a budget may hold (MaxDisruptedPodSize)
MAX_DISRUPTED_PODS = 2000


def can_ignore_budgets(pod: Obj) -> bool:
    """canIgnorePDB: a pod that does not count towards any budget."""
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed", "Pending") or bool(
        (pod.get("metadata") or {}).get("deletionTimestamp"))


def _ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _budget_error(name: str, message: str) -> errors.StatusError:
    return errors.StatusError(429, "TooManyRequests", VIOLATION,
                              causes=[{"type": "DisruptionBudget", "message": message}])


def spend_disruption(pdb: Obj, pod_name: str, now: float) -> Obj:
    """The budget's status after one more eviction (checkAndDecrement), or the refusal."""
    meta, status = pdb.get("metadata") or {}, dict(pdb.get("status") or {})
    name = meta.get("name", "")
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        error = _budget_error(name, f"The disruption budget {name} is still being processed by the server.")
        error.retry_after = 10
        raise error
    allowed = int(status.get("disruptionsAllowed") or 0)
    if allowed < 0:
        raise errors.forbidden("poddisruptionbudgets", name, "pdb disruptions allowed is negative", group="policy")
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_PODS:
        raise errors.forbidden("poddisruptionbudgets", name, "DisruptedPods map too big - too many evictions not "
                               "confirmed by PDB controller", group="policy")
    if allowed == 0:
        raise _budget_error(name, f"The disruption budget {name} needs {int(status.get('desiredHealthy') or 0)} "
                                  f"healthy pods and has {int(status.get('currentHealthy') or 0)} currently")
    status["disruptionsAllowed"] = allowed - 1
    if allowed - 1 == 0:
        status["conditions"] = [*(c for c in status.get("conditions") or [] if c.get("type") != "DisruptionAllowed"),
                                {"type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods",
                                 "message": "", "observedGeneration": status.get("observedGeneration", 0),
                                 "lastTransitionTime": rfc3339(now)}]
    status["disruptedPods"] = {**(status.get("disruptedPods") or {}), pod_name: rfc3339(now)}
    return {**pdb, "status": status}


class Eviction(Subresource):
    name = "eviction"
    verbs = ("create",)
    kind = Kind("policy", "v1", "Eviction")

    async def create(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str, body: Obj,
                     opts: WriteOptions) -> Written:
        options = body.get("deleteOptions") or {}
        if not isinstance(options, dict):
            raise errors.bad_request("deleteOptions must be an object")
        delete = DeleteOptions.from_body(options, user=opts.user)
        delete.validate()
        dry_run = opts.dry_run or delete.dry_run
        pod = verbs.get(info, namespace, name)
        if not can_ignore_budgets(pod):
            await self._spend_budget(verbs, namespace, pod, dry_run)
        if not dry_run:
            await verbs.update(info, namespace, name, _with_disruption_target(verbs.get(info, namespace, name)), opts,
                               subresource="status")
        deleted = await verbs.delete(info, namespace, name, delete)
        return Written(success(), deleted.warnings)

    async def _spend_budget(self, verbs: Verbs, namespace: str, pod: Obj, dry_run: bool) -> None:
        pdb_info = verbs.resource("policy", "v1", "poddisruptionbudgets")
        labels = (pod.get("metadata") or {}).get("labels") or {}
        listed = await verbs.list(pdb_info, namespace, ListOptions())
        budgets = [b for b in (verbs.decode(pdb_info, e) for e in listed.entries) if _selects(b, labels)]
        if len(budgets) > 1:
            raise errors.StatusError(500, "", "This pod has more than one PodDisruptionBudget, which the eviction "
                                              "subresource does not support.")
        if not budgets:
            return
        pdb = budgets[0]
        spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
        if not _ready(pod) and (spec.get("unhealthyPodEvictionPolicy") == "AlwaysAllow" or (
                int(status.get("currentHealthy") or 0) >= int(status.get("desiredHealthy") or 0) > 0)):
            return
        updated = spend_disruption(pdb, (pod.get("metadata") or {}).get("name", ""), time.time())
        if not dry_run:
            await verbs.update(pdb_info, namespace, pdb["metadata"]["name"], updated, WriteOptions(),
                               subresource="status")


def _selects(pdb: Obj, labels: dict[str, Any]) -> bool:
    selector = (pdb.get("spec") or {}).get("selector")
    if selector is None:
        return False
    try:
        return selector_from_match(selector.get("matchLabels"), selector.get("matchExpressions")).matches(labels)
    except ValueError:
        return False


def _with_disruption_target(pod: Obj) -> Obj:
    status = dict(pod.get("status") or {})
    condition = {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
                 "message": "Eviction API: evicting", "lastTransitionTime": rfc3339(time.time())}
    status["conditions"] = [*(c for c in status.get("conditions") or [] if c.get("type") != "DisruptionTarget"),
                            condition]
    return {**pod, "status": status}
