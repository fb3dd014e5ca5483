"""What a Job's policies decide about its pods (pkg/controller/job/pod_failure_policy.go, success_policy.go and
indexed_job_utils.go): which rule of spec.podFailurePolicy a failed pod matches (FailJob, Ignore, Count,
FailIndex, on exit codes or pod conditions such as DisruptionTarget), whether spec.successPolicy is met by the
succeeded indexes, and with backoffLimitPerIndex which indexes have failed and how often an index failed before."""
from __future__ import annotations

from typing import NamedTuple

from shim.controllers.podutil import Obj

INDEX_FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"
INDEX_IGNORED_FAILURE_COUNT = "batch.kubernetes.io/job-index-ignored-failure-count"
_INT32_MAX = 2**31 - 1


class Match(NamedTuple):
    """matchPodFailurePolicy's answer: the Job's failure message (FailJob), whether the failure counts against
    the backoff limits, and the action of the rule that matched (None when none did)."""

    message: str | None
    counts: bool
    action: str | None


def _spec(job: Obj) -> Obj:
    return job.get("spec") or {}


def only_replace_failed(job: Obj) -> bool:
    """A pod being deleted is replaced only once it failed (podReplacementPolicy Failed, implied by a
    podFailurePolicy)."""
    return _spec(job).get("podReplacementPolicy") == "Failed" or _spec(job).get("podFailurePolicy") is not None


def is_pod_failed(pod: Obj, job: Obj) -> bool:
    """Failed, or (unless only failed pods are replaced) being deleted without having succeeded."""
    status, meta = pod.get("status") or {}, pod.get("metadata") or {}
    if status.get("phase") == "Failed":
        return True
    if only_replace_failed(job):
        return False
    return bool(meta.get("deletionTimestamp")) and status.get("phase") != "Succeeded"


def _exit_code_matches(code: int, requirement: Obj) -> bool:
    values = requirement.get("values") or []
    if requirement.get("operator") == "In":
        return code in values
    if requirement.get("operator") == "NotIn":
        return code not in values
    return False


def _failed_container(pod: Obj, requirement: Obj) -> Obj | None:
    """The first container (then init container) that terminated non-zero with a matching exit code."""
    status = pod.get("status") or {}
    for statuses in (status.get("containerStatuses") or [], status.get("initContainerStatuses") or []):
        for container in statuses:
            terminated = (container.get("state") or {}).get("terminated")
            if terminated is None:
                continue
            if requirement.get("containerName") not in (None, container.get("name")):
                continue
            code = int(terminated.get("exitCode") or 0)
            if code != 0 and _exit_code_matches(code, requirement):
                return dict(container)
    return None


def _matching_condition(pod: Obj, patterns: list[Obj]) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        for pattern in patterns:
            if cond.get("type") == pattern.get("type") and cond.get("status", "True") == pattern.get("status", "True"):
                return dict(cond)
    return None


def match_pod_failure_policy(job: Obj, pod: Obj) -> Match:
    """The first rule a failed pod matches decides (matchPodFailurePolicy)."""
    policy = _spec(job).get("podFailurePolicy")
    if policy is None:
        return Match(None, True, None)
    meta = pod.get("metadata") or {}
    where = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
    for index, rule in enumerate(policy.get("rules") or []):
        action = rule.get("action")
        if rule.get("onExitCodes") is not None:
            container = _failed_container(pod, rule["onExitCodes"])
            if container is None:
                continue
            code = container["state"]["terminated"].get("exitCode")
            message = (f"Container {container.get('name')} for pod {where} failed with exit code {code} matching "
                       f"{action} rule at index {index}")
        elif rule.get("onPodConditions") is not None:
            cond = _matching_condition(pod, rule["onPodConditions"])
            if cond is None:
                continue
            message = f"Pod {where} has condition {cond.get('type')} matching {action} rule at index {index}"
        else:
            continue
        if action == "Ignore":
            return Match(None, False, action)
        if action in ("FailIndex", "Count"):
            return Match(None, True, action)
        if action == "FailJob":
            return Match(message, True, action)
    return Match(None, True, None)


def fail_job_message(job: Obj, pods: list[Obj]) -> str | None:
    """The message of the first failed pod that a FailJob rule matches (getFailJobMessage)."""
    if _spec(job).get("podFailurePolicy") is None:
        return None
    for pod in pods:
        if is_pod_failed(pod, job) and (message := match_pod_failure_policy(job, pod).message) is not None:
            return message
    return None


def counts_as_failure(job: Obj, pod: Obj) -> bool:
    return is_pod_failed(pod, job) and match_pod_failure_policy(job, pod).counts


def failure_counts(pod: Obj) -> tuple[int, int]:
    """The pod's index-failure-count and ignored-failure-count annotations (0 when absent or not a valid int32)."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    out = []
    for key in (INDEX_FAILURE_COUNT, INDEX_IGNORED_FAILURE_COUNT):
        value = annotations.get(key, "")
        out.append(int(value) if value.isdigit() and int(value) <= _INT32_MAX else 0)
    return out[0], out[1]


def index_failed(job: Obj, pod: Obj) -> bool:
    """Whether this pod's failure fails its index: a FailIndex rule, or a counted failure past
    backoffLimitPerIndex (isIndexFailed)."""
    if not is_pod_failed(pod, job):
        return False
    match = match_pod_failure_policy(job, pod)
    if match.action == "FailIndex":
        return True
    return match.counts and failure_counts(pod)[0] >= int(_spec(job).get("backoffLimitPerIndex") or 0)


def replacement_failure_counts(job: Obj, replaced: Obj | None) -> tuple[int, int]:
    """The failure counts a pod replacing `replaced` starts with (getNewIndexFailureCounts)."""
    if replaced is None:
        return 0, 0
    counted, ignored = failure_counts(replaced)
    if match_pod_failure_policy(job, replaced).counts:
        return counted + 1, ignored
    return counted, ignored + 1


def success_policy_message(job: Obj, succeeded: set[int], rule_indexes: list[set[int]]) -> str | None:
    """"Matched rules at index N" for the first successPolicy rule the succeeded indexes meet (matchSuccessPolicy):
    all of its succeededIndexes, or succeededCount of them, or succeededCount indexes in all. `rule_indexes` are
    the rules' succeededIndexes parsed (empty where a rule has none)."""
    policy = _spec(job).get("successPolicy")
    if policy is None or not succeeded:
        return None
    for index, (rule, required) in enumerate(zip(policy.get("rules") or [], rule_indexes, strict=True)):
        count = rule.get("succeededCount")
        if rule.get("succeededIndexes") is not None:
            if not required:
                continue
            contained = len(required & succeeded)
            if contained == len(required) or (count is not None and contained >= int(count)):
                return f"Matched rules at index {index}"
        elif count is not None and len(succeeded) >= int(count):
            return f"Matched rules at index {index}"
    return None
