"""What the Deployment controller computes without side effects (pkg/controller/deployment/util): revisions and
their annotations, the pod-template hash, maxSurge/maxUnavailable, which ReplicaSet is new, proportional scaling,
conditions and the status. Objects are the API's dicts; ReplicaSets in lists are the informer's (never mutated)."""
from __future__ import annotations

import copy
import functools
import math
import struct
from typing import Any, Sequence

from shim.kubelet.timeutil import parse_time, rfc3339
from shim.machinery import gospew

Obj = dict[str, Any]

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
HASH_LABEL = "pod-template-hash"
MAX_INT32 = 2 ** 31 - 1
MAX_REVISION_HISTORY_CHARS = 2000

# condition reasons (deployment_util.go)
REPLICASET_UPDATED = "ReplicaSetUpdated"
FAILED_RS_CREATE = "ReplicaSetCreateError"
NEW_REPLICASET = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MINIMUM_AVAILABLE = "MinimumReplicasAvailable"
MINIMUM_UNAVAILABLE = "MinimumReplicasUnavailable"
ROLLBACK_NOT_FOUND = "DeploymentRollbackRevisionNotFound"
ROLLBACK_UNCHANGED = "DeploymentRollbackTemplateUnchanged"
ROLLBACK_DONE = "DeploymentRollback"

_SKIPPED_ANNOTATIONS = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS,
                                  ROLLBACK_TO})
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


# -- small accessors --

def spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def status(obj: Obj) -> Obj:
    return obj.get("status") or {}


def meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def replicas(obj: Obj) -> int:
    value = spec(obj).get("replicas")
    return 1 if value is None else int(value)


def annotations_of(obj: Obj) -> dict[str, str]:
    return dict(meta(obj).get("annotations") or {})


def created(obj: Obj) -> float:
    stamp = meta(obj).get("creationTimestamp")
    return parse_time(stamp) if stamp else 0.0


def _by_creation(a: Obj, b: Obj) -> int:
    ta, tb = created(a), created(b)
    if ta == tb:
        na, nb = meta(a).get("name", ""), meta(b).get("name", "")
        return -1 if na < nb else (1 if na > nb else 0)
    return -1 if ta < tb else 1


def by_creation(rss: list[Obj]) -> list[Obj]:
    """Oldest first, names breaking ties (ReplicaSetsByCreationTimestamp)."""
    return sorted(rss, key=functools.cmp_to_key(_by_creation))


def _by_size(a: Obj, b: Obj, newer_first: bool) -> int:
    if replicas(a) != replicas(b):
        return replicas(b) - replicas(a)
    return _by_creation(b, a) if newer_first else _by_creation(a, b)


def by_size_older(rss: list[Obj]) -> list[Obj]:
    """Largest first, then oldest (ReplicaSetsBySizeOlder)."""
    return sorted(rss, key=functools.cmp_to_key(functools.partial(_by_size, newer_first=False)))


def by_size_newer(rss: list[Obj]) -> list[Obj]:
    """Largest first, then newest (ReplicaSetsBySizeNewer)."""
    return sorted(rss, key=functools.cmp_to_key(functools.partial(_by_size, newer_first=True)))


# -- the pod-template hash --

def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """rand.SafeEncodeString: every character mapped into an alphabet without vowels."""
    return "".join(_ALPHANUMS[ord(ch) % len(_ALPHANUMS)] for ch in text)


def compute_hash(template: Obj, collision_count: int | None) -> str:
    """controller.ComputeHash, equal to the kube-controller-manager's: fnv32a over the template as go-spew prints
    its Go value, then the collision count as 8 little-endian bytes when set, the decimal sum safe-encoded."""
    hasher = gospew.pod_template(template).encode()
    if collision_count is not None:
        hasher += struct.pack("<I", collision_count & 0xFFFFFFFF) + b"\0\0\0\0"
    return safe_encode(str(fnv32a(hasher)))


def replica_set_name(deployment_name: str, pod_template_hash: str) -> str:
    """`<deployment>-<hash>`, the deployment's name cut to fit 253 characters."""
    limit = 253 - 1 - len(pod_template_hash)
    return f"{deployment_name[:limit]}-{pod_template_hash}"


def _pruned(value: Any) -> Any:
    """A value with empty maps, lists and nulls dropped: Semantic.DeepEqual holds nil and empty equal."""
    if isinstance(value, dict):
        out = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def without_hash(template: Obj) -> Obj:
    copied = copy.deepcopy(template)
    labels = (copied.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return copied


def equal_ignore_hash(a: Obj, b: Obj) -> bool:
    """Whether two pod templates are the same but for the pod-template-hash label (EqualIgnoreHash)."""
    return bool(_pruned(without_hash(a)) == _pruned(without_hash(b)))


# -- revisions --

def revision(obj: Obj) -> int | None:
    """The revision annotation (0 when absent, None when it is no integer)."""
    value = annotations_of(obj).get(REVISION)
    if value is None:
        return 0
    try:
        return int(value)
    except ValueError:
        return None


def max_revision(rss: list[Obj]) -> int:
    return max((r for r in (revision(rs) for rs in rss) if r is not None), default=0)


def last_revision(rss: list[Obj]) -> int:
    """The second highest revision: the one `rollout undo` without --to-revision goes back to."""
    top, second = 0, 0
    for rs in rss:
        v = revision(rs)
        if v is None:
            continue
        if v >= top:
            top, second = v, top
        elif v > second:
            second = v
    return second


def by_revision(rss: list[Obj]) -> list[Obj]:
    def cmp(a: Obj, b: Obj) -> int:
        ra, rb = revision(a), revision(b)
        if ra is None or rb is None or ra == rb:
            return _by_creation(a, b)
        return -1 if ra < rb else 1
    return sorted(rss, key=functools.cmp_to_key(cmp))


def copy_deployment_annotations(deployment: Obj, rs: Obj) -> bool:
    """Copy the deployment's annotations (all but the controller's own) onto the ReplicaSet."""
    rs_meta = rs.setdefault("metadata", {})
    rs_annotations = rs_meta.setdefault("annotations", {})
    changed = False
    for key, value in annotations_of(deployment).items():
        if key in _SKIPPED_ANNOTATIONS or rs_annotations.get(key) == value:
            continue
        rs_annotations[key] = value
        changed = True
    return changed


def set_replicas_annotations(rs: Obj, desired: int, maximum: int) -> bool:
    rs_annotations = rs.setdefault("metadata", {}).setdefault("annotations", {})
    changed = False
    for key, value in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(maximum))):
        if rs_annotations.get(key) != value:
            rs_annotations[key] = value
            changed = True
    return changed


def replicas_annotations_need_update(rs: Obj, desired: int, maximum: int) -> bool:
    current = annotations_of(rs)
    return current.get(DESIRED_REPLICAS) != str(desired) or current.get(MAX_REPLICAS) != str(maximum)


def set_new_replica_set_annotations(deployment: Obj, rs: Obj, new_revision: str, exists: bool) -> bool:
    """SetNewReplicaSetAnnotations: copy annotations, raise the revision (keeping earlier ones in
    revision-history, up to 2000 characters) and, for a new ReplicaSet, the replicas annotations."""
    changed = copy_deployment_annotations(deployment, rs)
    rs_annotations = rs.setdefault("metadata", {}).setdefault("annotations", {})
    old = rs_annotations.get(REVISION)
    had = old is not None
    try:
        old_int = int(old) if old else 0
    except ValueError:
        return False
    new_int = int(new_revision)
    if old_int < new_int:
        rs_annotations[REVISION] = new_revision
        changed = True
    if had and old_int < new_int:
        history = rs_annotations.get(REVISION_HISTORY, "")
        previous = history.split(",")
        if not previous[0]:
            rs_annotations[REVISION_HISTORY] = str(old)
        else:
            total, start = len(history) + len(str(old)) + 1, 0
            while total > MAX_REVISION_HISTORY_CHARS and start < len(previous):
                total -= len(previous[start]) + 1
                start += 1
            if total <= MAX_REVISION_HISTORY_CHARS:
                rs_annotations[REVISION_HISTORY] = ",".join(previous[start:] + [str(old)])
    if not exists and set_replicas_annotations(rs, replicas(deployment), replicas(deployment) + max_surge(deployment)):
        changed = True
    return changed


def annotations_for_rollback(deployment: Obj, rs: Obj) -> dict[str, str]:
    """SetDeploymentAnnotationsTo: the deployment keeps its own controller annotations and takes the rest from
    the ReplicaSet it rolls back to."""
    kept = {k: v for k, v in annotations_of(deployment).items() if k in _SKIPPED_ANNOTATIONS}
    kept.update({k: v for k, v in annotations_of(rs).items() if k not in _SKIPPED_ANNOTATIONS})
    return kept


# -- surge and unavailability --

def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """GetScaledValueFromIntOrPercent: an int as is, "N%" of total rounded up or down."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].lstrip("-").isdigit():
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    raise ValueError(f"invalid value for IntOrString: invalid value {value!r}")


def is_rolling(deployment: Obj) -> bool:
    return bool((spec(deployment).get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate")


def resolve_fenceposts(deployment: Obj) -> tuple[int, int]:
    rolling = (spec(deployment).get("strategy") or {}).get("rollingUpdate") or {}
    desired = replicas(deployment)
    surge = scaled_value(rolling.get("maxSurge", 0) if rolling.get("maxSurge") is not None else 0, desired, True)
    unavailable = scaled_value(rolling.get("maxUnavailable", 0) if rolling.get("maxUnavailable") is not None else 0,
                               desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(deployment: Obj) -> int:
    return resolve_fenceposts(deployment)[0] if is_rolling(deployment) else 0


def max_unavailable(deployment: Obj) -> int:
    if not is_rolling(deployment) or replicas(deployment) == 0:
        return 0
    return min(resolve_fenceposts(deployment)[1], replicas(deployment))


# -- ReplicaSet sets --

def find_new(deployment: Obj, rss: list[Obj]) -> Obj | None:
    """The oldest ReplicaSet whose template is the deployment's (FindNewReplicaSet)."""
    template = spec(deployment).get("template") or {}
    return next((rs for rs in by_creation(rss) if equal_ignore_hash(spec(rs).get("template") or {}, template)), None)


def find_old(deployment: Obj, rss: list[Obj], new: Obj | None) -> list[Obj]:
    uid = meta(new).get("uid") if new is not None else None
    return [rs for rs in rss if meta(rs).get("uid") != uid or uid is None]


def active(rss: Sequence[Obj | None]) -> list[Obj]:
    return [rs for rs in rss if rs is not None and replicas(rs) > 0]


def total(rss: Sequence[Obj | None], field: str) -> int:
    """The sum of a status field (or of spec.replicas for "spec") over ReplicaSets."""
    if field == "spec":
        return sum(replicas(rs) for rs in rss if rs is not None)
    return sum(int(status(rs).get(field) or 0) for rs in rss if rs is not None)


def find_active_or_latest(new: Obj | None, olds: list[Obj]) -> Obj | None:
    """The one ReplicaSet with replicas, or the newest when none has any; None when several have."""
    if new is None and not olds:
        return None
    newest_first = list(reversed(by_creation(olds)))
    actives = active([*newest_first, new])
    if not actives:
        return new if new is not None else newest_first[0]
    return actives[0] if len(actives) == 1 else None


def new_rs_new_replicas(deployment: Obj, all_rss: list[Obj], new: Obj) -> int:
    """How far the new ReplicaSet may grow now (NewRSNewReplicas)."""
    if not is_rolling(deployment):
        return replicas(deployment)
    rolling = (spec(deployment).get("strategy") or {}).get("rollingUpdate") or {}
    surge = scaled_value(rolling.get("maxSurge") if rolling.get("maxSurge") is not None else 0,
                         replicas(deployment), True)
    current = total(all_rss, "spec")
    most = replicas(deployment) + surge
    if current >= most:
        return replicas(new)
    return replicas(new) + min(most - current, replicas(deployment) - replicas(new))


def is_saturated(deployment: Obj, rs: Obj | None) -> bool:
    if rs is None:
        return False
    try:
        desired = int(annotations_of(rs).get(DESIRED_REPLICAS, ""))
    except ValueError:
        return False
    want = replicas(deployment)
    return replicas(rs) == want and desired == want and int(status(rs).get("availableReplicas") or 0) == want


def _annotation_int(rs: Obj, key: str) -> int | None:
    value = annotations_of(rs).get(key)
    if value is None or not value.isdigit() or int(value) > MAX_INT32:
        return None
    return int(value)


def desired_replicas_annotation(rs: Obj) -> int | None:
    return _annotation_int(rs, DESIRED_REPLICAS)


def proportion(rs: Obj, deployment: Obj, to_add: int, added: int) -> int:
    """GetReplicaSetProportion: this ReplicaSet's share of a scale of the whole deployment."""
    if replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _fraction(rs, deployment)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _fraction(rs: Obj, deployment: Obj) -> int:
    if replicas(deployment) == 0:
        return -replicas(rs)
    most = replicas(deployment) + max_surge(deployment)
    before = _annotation_int(rs, MAX_REPLICAS)
    if not before:
        before = int(status(deployment).get("replicas") or 0)
        if before == 0:
            return 0
    size = replicas(rs) * most / before
    return int(math.floor(size + 0.5)) - replicas(rs)


# -- conditions and status --

def condition(obj_status: Obj, kind: str) -> Obj | None:
    return next((dict(c) for c in obj_status.get("conditions") or [] if c.get("type") == kind), None)


def new_condition(kind: str, state: str, reason: str, message: str, now: float) -> Obj:
    stamp = rfc3339(now)
    return {"type": kind, "status": state, "lastUpdateTime": stamp, "lastTransitionTime": stamp, "reason": reason,
            "message": message}


def set_condition(obj_status: Obj, cond: Obj) -> None:
    """SetDeploymentCondition: unchanged when status and reason are the same; keeps the transition time when
    only the reason changes."""
    current = condition(obj_status, cond["type"])
    if current is not None and current.get("status") == cond["status"] and current.get("reason") == cond["reason"]:
        return
    if current is not None and current.get("status") == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    obj_status["conditions"] = [c for c in obj_status.get("conditions") or [] if c.get("type") != cond["type"]]
    obj_status["conditions"].append(cond)


def remove_condition(obj_status: Obj, kind: str) -> None:
    kept = [c for c in obj_status.get("conditions") or [] if c.get("type") != kind]
    if kept:
        obj_status["conditions"] = kept
    else:
        obj_status.pop("conditions", None)


def has_progress_deadline(deployment: Obj) -> bool:
    value = spec(deployment).get("progressDeadlineSeconds")
    return value is not None and value != MAX_INT32


def has_revision_history_limit(deployment: Obj) -> bool:
    value = spec(deployment).get("revisionHistoryLimit")
    return value is not None and value != MAX_INT32


def calculate_status(all_rss: Sequence[Obj | None], new: Obj | None, deployment: Obj, now: float) -> Obj:
    """The deployment's status from its ReplicaSets, with the Available condition (calculateStatus)."""
    available = total(all_rss, "availableReplicas")
    out: Obj = {"observedGeneration": int(meta(deployment).get("generation") or 0),
                "replicas": total(all_rss, "replicas"), "updatedReplicas": total([new], "replicas"),
                "readyReplicas": total(all_rss, "readyReplicas"), "availableReplicas": available,
                "unavailableReplicas": max(total(all_rss, "spec") - available, 0)}
    collisions = status(deployment).get("collisionCount")
    if collisions is not None:
        out["collisionCount"] = collisions
    if status(deployment).get("conditions"):
        out["conditions"] = copy.deepcopy(status(deployment)["conditions"])
    if available >= replicas(deployment) - max_unavailable(deployment):
        set_condition(out, new_condition("Available", "True", MINIMUM_AVAILABLE,
                                         "Deployment has minimum availability.", now))
    else:
        set_condition(out, new_condition("Available", "False", MINIMUM_UNAVAILABLE,
                                         "Deployment does not have minimum availability.", now))
    return out


def complete(deployment: Obj, new_status: Obj) -> bool:
    want = replicas(deployment)
    return (int(new_status.get("updatedReplicas") or 0) == want and int(new_status.get("replicas") or 0) == want
            and int(new_status.get("availableReplicas") or 0) == want
            and int(new_status.get("observedGeneration") or 0) >= int(meta(deployment).get("generation") or 0))


def progressing(deployment: Obj, new_status: Obj) -> bool:
    old = status(deployment)

    def get(s: Obj, f: str) -> int:
        return int(s.get(f) or 0)
    return (get(new_status, "updatedReplicas") > get(old, "updatedReplicas")
            or get(new_status, "replicas") - get(new_status, "updatedReplicas")
            < get(old, "replicas") - get(old, "updatedReplicas")
            or get(new_status, "readyReplicas") > get(old, "readyReplicas")
            or get(new_status, "availableReplicas") > get(old, "availableReplicas"))


def timed_out(deployment: Obj, new_status: Obj, now: float) -> bool:
    if not has_progress_deadline(deployment):
        return False
    cond = condition(new_status, "Progressing")
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = cond.get("lastUpdateTime")
    return isinstance(since, str) and parse_time(since) + int(spec(deployment)["progressDeadlineSeconds"]) < now
