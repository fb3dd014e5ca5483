"""What a write to jobs/status may do (pkg/apis/batch/validation's validateJobStatus and ValidateJobStatusUpdate
with the options pkg/registry/batch/job's status strategy sets in v1.34, JobManagedBy on): counters that do not
go down, terminal conditions that stay, and the consistency of conditions, times and indexes a finished Job must
show. A rule about a field is checked only when that field changed, as upstream does, so that a status written
before a spec change is not refused after it."""
from __future__ import annotations

from shim.machinery import errors, validation
from shim.registry.strategy import Causes, Obj


def _true(status: Obj, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in status.get("conditions") or [])


def _false(status: Obj, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "False" for c in status.get("conditions") or [])


def _finished(status: Obj) -> bool:
    return _true(status, "Complete") or _true(status, "Failed")


def _omitted(field: str, detail: str) -> dict[str, str]:
    """A FieldValueInvalid cause without its value (field.OmitValueType)."""
    return {"reason": "FieldValueInvalid", "field": field, "message": f"Invalid value: {detail}"}


def _interval(text: str, completions: int) -> tuple[int, int]:
    """parseIndexInterval: `x` or `x-y`, below completions, increasing."""
    limits = text.split("-")
    if len(limits) > 2:
        raise ValueError(f'the fragment "{text}" violates the requirement that an index interval can have at most '
                         "two parts separated by '-'")
    bounds = []
    for limit in limits:
        if not limit.lstrip("+-").isdigit():
            raise ValueError(f'cannot convert string to integer for index: "{limit}"')
        if int(limit) >= completions:
            raise ValueError(f'too large index: "{limit}"')
        bounds.append(int(limit))
    if len(bounds) == 2 and bounds[0] >= bounds[1]:
        raise ValueError(f"non-increasing order, previous: {bounds[0]}, current: {bounds[1]}")
    return bounds[0], bounds[-1]


def _indexes_problem(text: str, completions: int) -> str | None:
    """validateIndexesFormat: increasing intervals separated by commas."""
    if not text:
        return None
    last: int | None = None
    try:
        for part in text.split(","):
            low, high = _interval(part, completions)
            if last is not None and last >= low:
                return f"non-increasing order, previous: {last}, current: {low}"
            last = high
    except ValueError as problem:
        return str(problem)
    return None


def _overlap(completed: str, failed: str, completions: int) -> str | None:
    """validateFailedIndexesNotOverlapCompleted (unparsable intervals are skipped)."""
    def intervals(text: str) -> list[tuple[int, int]]:
        out = []
        for part in text.split(","):
            try:
                out.append(_interval(part, completions))
            except ValueError:
                continue
        return out
    if not completed or not failed:
        return None
    for c_low, c_high in intervals(completed):
        for f_low, f_high in intervals(failed):
            if c_low <= f_high and f_low <= c_high:
                return f"failedIndexes and completedIndexes overlap at index: {max(c_low, f_low)}"
    return None


def _counters(status: Obj) -> Causes:
    causes: Causes = []
    for field in ("active", "succeeded", "failed", "ready", "terminating"):
        if status.get(field) is not None:
            causes += validation.nonnegative(f"status.{field}", status[field])
    uncounted = status.get("uncountedTerminatedPods")
    if isinstance(uncounted, dict):
        seen: set[str] = set()
        for kind in ("succeeded", "failed"):
            for i, uid in enumerate(uncounted.get(kind) or []):
                path = f"status.uncountedTerminatedPods.{kind}[{i}]"
                if uid == "":
                    causes.append(errors.field_invalid(path, uid, "must not be empty"))
                elif uid in seen:
                    causes.append(validation.duplicate(path, uid))
                seen.add(uid)
    return causes


def validate_status_update(new: Obj, old: Obj) -> Causes:
    """ValidateJobStatusUpdate with upstream's v1.34 options."""
    spec, status, before = new.get("spec") or {}, new.get("status") or {}, old.get("status") or {}

    def changed(*fields: str) -> bool:
        return any(status.get(f) != before.get(f) for f in fields)

    def condition_changed(kind: str) -> bool:
        return _true(status, kind) != _true(before, kind)

    finished_changed = _finished(status) != _finished(before)
    complete_changed, failed_changed = condition_changed("Complete"), condition_changed("Failed")
    completions, indexed = spec.get("completions"), spec.get("completionMode") == "Indexed"
    complete, failed, finished = _true(status, "Complete"), _true(status, "Failed"), _finished(status)
    causes = _counters(status)
    if (complete_changed or failed_changed) and complete and failed:
        causes.append(_omitted("status.conditions", "cannot set Complete=True and Failed=true conditions"))
    if (complete_changed or condition_changed("FailureTarget")) and complete and _true(status, "FailureTarget"):
        causes.append(_omitted("status.conditions", "cannot set Complete=True and FailureTarget=true conditions"))
    if complete_changed or changed("completionTime"):
        if status.get("completionTime") is not None and not complete:
            causes.append(errors.field_invalid("status.completionTime", status["completionTime"],
                                               "cannot set completionTime when there is no Complete=True condition"))
        if status.get("completionTime") is None and complete:
            causes.append(errors.field_required("status.completionTime",
                                                "completionTime is required for Complete jobs"))
    if changed("startTime", "completionTime"):
        start, end = status.get("startTime"), status.get("completionTime")
        if start and end and end < start:
            causes.append(errors.field_invalid("status.completionTime", end, "must be equal to or after `startTime`"))
    if (failed_changed or changed("failedIndexes")) and failed and not _true(status, "FailureTarget"):
        causes.append(_omitted("status.conditions",
                               "cannot set Failed=True condition without the FailureTarget=true condition"))
    if (complete_changed or condition_changed("SuccessCriteriaMet")) and complete and \
            not _true(status, "SuccessCriteriaMet"):
        causes.append(_omitted("status.conditions",
                               "cannot set Complete=True condition without the SuccessCriteriaMet=true condition"))
    if (finished_changed or changed("active")) and status.get("active", 0) > 0 and finished:
        causes.append(errors.field_invalid("status.active", status["active"], "active>0 is invalid for finished job"))
    zero_suspended = spec.get("suspend") is True and completions == 0
    if (finished_changed or changed("startTime")) and not zero_suspended and finished and not status.get("startTime"):
        causes.append(errors.field_required("status.startTime", "startTime is required for finished job"))
    uncounted = status.get("uncountedTerminatedPods") or {}
    if (finished_changed or changed("uncountedTerminatedPods")) and finished and \
            (uncounted.get("failed") or uncounted.get("succeeded")):
        causes.append(validation.invalid_rendered("status.uncountedTerminatedPods", validation.go_json(
            {"Succeeded": uncounted.get("succeeded"), "Failed": uncounted.get("failed")}), "must be empty for "
                                                                                           "finished job"))
    causes += _indexes(spec, status, changed("completedIndexes"), changed("failedIndexes"), indexed)
    if (finished_changed or changed("terminating")) and (status.get("terminating") or 0) > 0 and finished:
        causes.append(errors.field_invalid("status.terminating", status["terminating"],
                                           "terminating>0 is invalid for finished job"))
    if changed("ready", "active") and status.get("ready") is not None and status["ready"] > status.get("active", 0):
        causes.append(errors.field_invalid("status.ready", status["ready"], "cannot set more ready pods than active"))
    met = _true(status, "SuccessCriteriaMet")
    if met and failed:
        causes.append(_omitted("status.conditions", "cannot set SuccessCriteriaMet=True and Failed=true conditions"))
    if met and _true(status, "FailureTarget"):
        causes.append(_omitted("status.conditions",
                               "cannot set SuccessCriteriaMet=True and FailureTarget=true conditions"))
    if spec.get("successPolicy") is not None and not met and complete:
        causes.append(_omitted("status.conditions", "cannot set Complete=True for Job with SuccessPolicy unless "
                                                    "SuccessCriteriaMet=True"))
    return causes + _transitions(new, old, indexed)


def _indexes(spec: Obj, status: Obj, completed_changed: bool, failed_changed: bool, indexed: bool) -> Causes:
    causes: Causes = []
    completions, per_index = spec.get("completions"), spec.get("backoffLimitPerIndex")
    completed, failed = status.get("completedIndexes") or "", status.get("failedIndexes")
    if completed_changed and completions is not None:
        problem = _indexes_problem(completed, completions)
        if problem:
            causes.append(errors.field_invalid("status.completedIndexes", completed,
                                               f"error parsing completedIndexes: {problem}"))
    if failed_changed and completions is not None and per_index is not None and failed is not None:
        problem = _indexes_problem(failed, completions)
        if problem:
            causes.append(errors.field_invalid("status.failedIndexes", failed,
                                               f"error parsing failedIndexes: {problem}"))
    if completed_changed and completed and not indexed:
        causes.append(errors.field_invalid("status.completedIndexes", completed,
                                           "cannot set non-empty completedIndexes when non-indexed completion mode"))
    if failed_changed and per_index is None and failed is not None:
        causes.append(errors.field_invalid("status.failedIndexes", failed,
                                           "cannot set non-null failedIndexes when backoffLimitPerIndex is null"))
    if (failed_changed or completed_changed) and completions is not None and failed is not None:
        problem = _overlap(completed, failed, completions)
        if problem:
            causes.append(errors.field_invalid("status.failedIndexes", failed, problem))
    return causes


def _transitions(new: Obj, old: Obj, indexed: bool) -> Causes:
    """ValidateJobStatusUpdate's own rules: what the previous status already settled."""
    spec, status, before = new.get("spec") or {}, new.get("status") or {}, old.get("status") or {}
    causes: Causes = []
    for kind in ("Failed", "Complete", "FailureTarget"):
        if _true(before, kind) and not _true(status, kind):
            causes.append(_omitted("status.conditions", f"cannot disable the terminal {kind}=True condition"))
    if status.get("failed", 0) < before.get("failed", 0):
        causes.append(errors.field_invalid("status.failed", status.get("failed", 0),
                                           "cannot decrease the failed counter"))
    scalable = indexed and spec.get("completions") == spec.get("parallelism")
    if not scalable and status.get("succeeded", 0) < before.get("succeeded", 0):
        causes.append(errors.field_invalid("status.succeeded", status.get("succeeded", 0),
                                           "cannot decrease the succeeded counter"))
    end, old_end = status.get("completionTime"), before.get("completionTime")
    if end is not None and old_end is not None and end != old_end:
        causes.append(errors.field_invalid("status.completionTime", end, validation.IMMUTABLE))
    resuming = _true(before, "Suspended") and _false(status, "Suspended")
    start, old_start = status.get("startTime"), before.get("startTime")
    if start != old_start and not resuming and old_start is not None and not spec.get("suspend"):
        causes.append(errors.field_required("status.startTime", "startTime cannot be removed for unsuspended job"))
    if _true(before, "SuccessCriteriaMet") and not _true(status, "SuccessCriteriaMet"):
        causes.append(_omitted("status.conditions", "cannot disable the SuccessCriteriaMet=True condition"))
    if _true(before, "Complete") and not _true(before, "SuccessCriteriaMet") and _true(status, "SuccessCriteriaMet"):
        causes.append(_omitted("status.conditions",
                               "cannot set SuccessCriteriaMet=True for Job already has Complete=true conditions"))
    return causes

