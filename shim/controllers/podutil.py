"""What controllers read from pods (pkg/api/v1/pod and pkg/controller/controller_utils.go): active, ready,
available after minReadySeconds, the pod made from a template, and upstream's ranking of which pods to delete
first when scaling down."""
from __future__ import annotations

import copy
import functools
import math
from typing import Any

from shim.kubelet.timeutil import parse_time
from shim.machinery.names import dns1123_subdomain

Obj = dict[str, Any]
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


def key_of(obj: Obj) -> str:
    """`namespace/name`, the key controllers queue and index by (cache.MetaNamespaceKeyFunc)."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace", "")
    return f"{namespace}/{meta.get('name', '')}" if namespace else str(meta.get("name", ""))


def split_key(key: str) -> tuple[str, str]:
    namespace, _, name = key.rpartition("/")
    return namespace, name


def phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase", ""))


def is_active(pod: Obj) -> bool:
    """Not finished and not being deleted (IsPodActive)."""
    return phase(pod) not in ("Succeeded", "Failed") and not (pod.get("metadata") or {}).get("deletionTimestamp")


def is_terminal(pod: Obj) -> bool:
    return phase(pod) in ("Succeeded", "Failed")


def ready_condition(pod: Obj) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return dict(cond)
    return None


def is_ready(pod: Obj) -> bool:
    cond = ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def is_available(pod: Obj, min_ready_seconds: int, now: float) -> bool:
    """Ready for at least minReadySeconds (IsPodAvailable)."""
    cond = ready_condition(pod)
    if cond is None or cond.get("status") != "True":
        return False
    if min_ready_seconds == 0:
        return True
    since = cond.get("lastTransitionTime")
    return isinstance(since, str) and parse_time(since) + min_ready_seconds < now


def next_availability_check(pods: list[Obj], min_ready_seconds: int, now: float) -> float | None:
    """Seconds until the first ready pod becomes available (FindMinNextPodAvailabilityCheck), or None."""
    waits = []
    for pod in pods:
        cond = ready_condition(pod)
        if cond is None or cond.get("status") != "True" or not cond.get("lastTransitionTime"):
            continue
        left = parse_time(cond["lastTransitionTime"]) + min_ready_seconds - now
        if left >= 0:
            waits.append(left)
    return min(waits) + 0.001 if waits else None


def deletion_cost(pod: Obj) -> int:
    """The pod-deletion-cost annotation (0 when absent or not an int32)."""
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(DELETION_COST)
    try:
        cost = int(value) if value is not None else 0
    except ValueError:
        return 0
    return cost if -(2 ** 31) <= cost < 2 ** 31 else 0


def _time(text: str | None) -> float | None:
    return parse_time(text) if text else None


def _max_restarts(pod: Obj) -> tuple[int, int]:
    status = pod.get("status") or {}
    regular = max((int(c.get("restartCount", 0)) for c in status.get("containerStatuses") or []), default=0)
    sidecars = {c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or []
                if c.get("restartPolicy") == "Always"}
    sidecar = max((int(c.get("restartCount", 0)) for c in status.get("initContainerStatuses") or []
                   if c.get("name") in sidecars), default=0)
    return regular, sidecar


def _log_rank(t: float, now: float) -> int:
    """floor(log2) of the age in nanoseconds, -1 for none (logarithmicRankDiff)."""
    age = (now - t) * 1e9
    return int(math.log2(age)) if age > 0 else -1


def _compare_times(t1: float | None, t2: float | None, now: float, uid1: str, uid2: str) -> int:
    """LogarithmicScaleDown's order of two timestamps: zero first, then younger by power-of-two buckets, then by
    UID. Negative when the first pod is deleted first."""
    if t1 == t2:
        return 0
    if t1 is None or t2 is None:
        return -1 if t1 is None else 1
    diff = _log_rank(t1, now) - _log_rank(t2, now)
    if diff == 0:
        return -1 if uid1 < uid2 else (1 if uid1 > uid2 else 0)
    return -1 if diff < 0 else 1


def rank_for_deletion(pods: list[Obj], related: list[Obj], now: float) -> list[Obj]:
    """`pods` ordered the way ActivePodsWithRanks sorts them: the first are deleted first. The rank is how many
    active related pods share the pod's node (doubled-up pods go first)."""
    on_node: dict[str, int] = {}
    for pod in related:
        if is_active(pod):
            node = (pod.get("spec") or {}).get("nodeName", "")
            on_node[node] = on_node.get(node, 0) + 1
    rank = {id(p): on_node.get((p.get("spec") or {}).get("nodeName", ""), 0) for p in pods}

    def less(a: Obj, b: Obj) -> int:
        node_a, node_b = (a.get("spec") or {}).get("nodeName", ""), (b.get("spec") or {}).get("nodeName", "")
        if node_a != node_b and (not node_a or not node_b):
            return -1 if not node_a else 1
        pa, pb = _PHASE_ORDINAL.get(phase(a), 0), _PHASE_ORDINAL.get(phase(b), 0)
        if pa != pb:
            return -1 if pa < pb else 1
        ra, rb = is_ready(a), is_ready(b)
        if ra != rb:
            return -1 if not ra else 1
        ca, cb = deletion_cost(a), deletion_cost(b)
        if ca != cb:
            return -1 if ca < cb else 1
        if rank[id(a)] != rank[id(b)]:
            return -1 if rank[id(a)] > rank[id(b)] else 1
        uid_a, uid_b = (a.get("metadata") or {}).get("uid", ""), (b.get("metadata") or {}).get("uid", "")
        if ra and rb:
            ta = _time((ready_condition(a) or {}).get("lastTransitionTime"))
            tb = _time((ready_condition(b) or {}).get("lastTransitionTime"))
            if ta != tb:
                return _compare_times(ta, tb, now, uid_a, uid_b)
        restarts_a, restarts_b = _max_restarts(a), _max_restarts(b)
        if restarts_a != restarts_b:
            return -1 if restarts_a > restarts_b else 1
        created_a = _time((a.get("metadata") or {}).get("creationTimestamp"))
        created_b = _time((b.get("metadata") or {}).get("creationTimestamp"))
        return _compare_times(created_a, created_b, now, uid_a, uid_b)

    return sorted(pods, key=functools.cmp_to_key(less))


def pods_prefix(controller_name: str) -> str:
    """generateName of the pods of a controller: `<name>-` unless that is no valid prefix (validated with the
    trailing dash masked, as ValidatePodName with prefix=true)."""
    return f"{controller_name}-" if not dns1123_subdomain(f"{controller_name}a") else controller_name


def controller_ref(owner: Obj, api_version: str, kind: str) -> Obj:
    """The ownerReference a controller sets on what it creates (metav1.NewControllerRef)."""
    meta = owner.get("metadata") or {}
    return {"apiVersion": api_version, "kind": kind, "name": meta.get("name", ""), "uid": meta.get("uid", ""),
            "controller": True, "blockOwnerDeletion": True}


def controller_of(obj: Obj) -> Obj | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def pod_from_template(template: Obj, owner: Obj, ref: Obj | None) -> Obj:
    """The pod a controller creates from its template (GetPodFromTemplate): the template's labels, annotations
    and finalizers, generateName `<owner>-`, the controller reference and a copy of the spec."""
    meta = template.get("metadata") or {}
    pod_meta: Obj = {"generateName": pods_prefix((owner.get("metadata") or {}).get("name", ""))}
    for field in ("labels", "annotations"):
        if meta.get(field):
            pod_meta[field] = dict(meta[field])
    if meta.get("finalizers"):
        pod_meta["finalizers"] = list(meta["finalizers"])
    if ref is not None:
        pod_meta["ownerReferences"] = [ref]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta,
            "spec": copy.deepcopy(template.get("spec") or {})}
