"""batch/v1 Jobs and CronJobs: upstream's defaults (pkg/apis/batch/v1/defaults.go), validation
(pkg/apis/batch/validation) and strategies (pkg/registry/batch/*/strategy.go), a Job's generated selector and
labels included. Their controllers act on them elsewhere."""
from __future__ import annotations

import re
from typing import Any

from shim.machinery import cron, errors, tables, timeutil, validation
from shim.registry.kinds import jobstatus, templates
from shim.registry.kinds.apps import WIDE_COLUMNS, dns_label_warning, render, selector_json
from shim.registry.strategy import Causes, Obj, Strategy, semantic

JOB_NAME = "batch.kubernetes.io/job-name"
CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
LEGACY_JOB_NAME = "job-name"
LEGACY_CONTROLLER_UID = "controller-uid"
_MAX_INDEXED_PARALLELISM = 100_000
_ACTIONS = ["Count", "FailIndex", "FailJob", "Ignore"]
_CONDITION_STATUSES = ["False", "True", "Unknown"]
_CONCURRENCY = ["Allow", "Forbid", "Replace"]
_TZ_PART = r"^[A-Za-z\.\-_0-9+]{1,14}$"


def default_job_template_spec(spec: Obj) -> None:
    """The defaults a job spec gets wherever it is (a CronJob's job template too): its pod template's and its
    pod failure policy patterns' status."""
    for rule in (spec.get("podFailurePolicy") or {}).get("rules") or []:
        for pattern in rule.get("onPodConditions") or [] if isinstance(rule, dict) else []:
            if isinstance(pattern, dict):
                pattern.setdefault("status", "True")
    templates.default_template(spec.setdefault("template", {}))


def default_job_spec(spec: Obj) -> None:
    """SetDefaults_Job's spec part: what a Job (not a CronJob's template) gets."""
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") is not None
                    else "TerminatingOrFailed")
    spec.setdefault("manualSelector", False)
    default_job_template_spec(spec)


def _template_labels(spec: Obj) -> dict[str, str] | None:
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
    return labels if isinstance(labels, dict) else None


def _failure_policy(spec: Obj, path: str) -> Causes:
    """validatePodFailurePolicy: its rules' actions, exit codes and pod conditions."""
    causes: Causes = []
    rules = (spec.get("podFailurePolicy") or {}).get("rules") or []
    pod_spec = (spec.get("template") or {}).get("spec") or {}
    containers = {c.get("name") for field in ("containers", "initContainers") for c in pod_spec.get(field) or []
                  if isinstance(c, dict)}
    if len(rules) > 20:
        causes.append({"reason": "FieldValueTooMany", "field": f"{path}.rules",
                       "message": f"Too many: {len(rules)}: must have at most 20 items"})
    for i, rule in enumerate(rules):
        rule_path = f"{path}.rules[{i}]"
        action = rule.get("action", "")
        if not action:
            causes.append(errors.field_required(f"{rule_path}.action",
                                                "valid values: " + render(_ACTIONS).replace(",", " ")))
        elif action == "FailIndex":
            if spec.get("backoffLimitPerIndex") is None:
                causes.append(errors.field_invalid(f"{rule_path}.action", action,
                                                   "requires the backoffLimitPerIndex to be set"))
        elif action not in _ACTIONS:
            causes.append(errors.field_not_supported(f"{rule_path}.action", action, _ACTIONS))
        codes, conditions = rule.get("onExitCodes"), rule.get("onPodConditions") or []
        if codes is not None:
            causes += _exit_codes(codes, f"{rule_path}.onExitCodes", containers)
        for j, pattern in enumerate(conditions):
            status = pattern.get("status", "")
            if status not in _CONDITION_STATUSES:
                causes.append(errors.field_not_supported(f"{rule_path}.onPodConditions[{j}].status", status,
                                                         _CONDITION_STATUSES))
        if codes is not None and conditions:
            causes.append({"reason": "FieldValueInvalid", "field": rule_path,
                           "message": "Invalid value: specifying both OnExitCodes and OnPodConditions is not "
                                      "supported"})
        if codes is None and not conditions:
            causes.append({"reason": "FieldValueInvalid", "field": rule_path,
                           "message": "Invalid value: specifying one of OnExitCodes and OnPodConditions is "
                                      "required"})
    return causes


def _exit_codes(codes: Obj, path: str, containers: set[Any]) -> Causes:
    causes: Causes = []
    operator = codes.get("operator", "")
    if not operator:
        causes.append(errors.field_required(f"{path}.operator", 'valid values: ["In" "NotIn"]'))
    elif operator not in ("In", "NotIn"):
        causes.append(errors.field_not_supported(f"{path}.operator", operator, ["In", "NotIn"]))
    name = codes.get("containerName")
    if name is not None and name not in containers:
        causes.append(errors.field_invalid(f"{path}.containerName", name,
                                           "must be one of the container or initContainer names in the pod "
                                           "template"))
    values = codes.get("values") or []
    if not values:
        causes.append(validation.invalid_rendered(f"{path}.values", render(codes.get("values")),
                                                  "at least one value is required"))
    seen: set[int] = set()
    for j, value in enumerate(values):
        if operator == "In" and value == 0:
            causes.append(errors.field_invalid(f"{path}.values[{j}]", value, "must not be 0 for the In operator"))
        if value in seen:
            causes.append(validation.duplicate(f"{path}.values[{j}]", value))
        seen.add(value)
    if any(a > b for a, b in zip(values, values[1:], strict=False)):
        causes.append(validation.invalid_rendered(f"{path}.values", render(values), "must be ordered"))
    return causes


def validate_job_spec(spec: Obj, path: str) -> Causes:
    """validateJobSpec: counts, completion mode, policies, the pod template and its restart policy."""
    causes: Causes = []
    for field in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished",
                  "backoffLimitPerIndex", "maxFailedIndexes"):
        if spec.get(field) is not None:
            causes += validation.nonnegative(f"{path}.{field}", spec[field])
    if spec.get("maxFailedIndexes") is not None and spec.get("backoffLimitPerIndex") is None:
        causes.append(errors.field_required(f"{path}.backoffLimitPerIndex", "when maxFailedIndexes is specified"))
    managed_by = spec.get("managedBy")
    if managed_by is not None:
        causes += validation.domain_prefixed_path(f"{path}.managedBy", managed_by)
        if len(managed_by) > 63:
            causes.append(errors.field_too_long(f"{path}.managedBy", "", 63))
    mode = spec.get("completionMode")
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        causes.append(errors.field_not_supported(f"{path}.completionMode", mode, ["NonIndexed", "Indexed"]))
    if mode == "Indexed":
        if spec.get("completions") is None:
            causes.append(errors.field_required(f"{path}.completions", "when completion mode is Indexed"))
        parallelism = spec.get("parallelism")
        if isinstance(parallelism, int) and parallelism > _MAX_INDEXED_PARALLELISM:
            causes.append(errors.field_invalid(f"{path}.parallelism", parallelism,
                                               "must be less than or equal to 100000 when completion mode is "
                                               "Indexed"))
        completions, max_failed = spec.get("completions"), spec.get("maxFailedIndexes")
        if completions is not None and max_failed is not None and max_failed > completions:
            causes.append(errors.field_invalid(f"{path}.maxFailedIndexes", max_failed,
                                               "must be less than or equal to completions"))
    elif mode is None or mode == "NonIndexed":
        for field in ("backoffLimitPerIndex", "maxFailedIndexes"):
            if spec.get(field) is not None:
                causes.append(errors.field_invalid(f"{path}.{field}", spec[field], "requires indexed completion mode"))
    if spec.get("podFailurePolicy") is not None:
        causes += _failure_policy(spec, f"{path}.podFailurePolicy")
    replacement = spec.get("podReplacementPolicy")
    if replacement is not None:
        allowed = ["Failed"] if spec.get("podFailurePolicy") is not None else ["Failed", "TerminatingOrFailed"]
        if replacement not in allowed:
            causes.append(errors.field_not_supported(f"{path}.podReplacementPolicy", replacement, allowed))
    template = spec.get("template")
    causes += templates.validate_template(template, f"{path}.template")
    restart = ((template if isinstance(template, dict) else {}).get("spec") or {}).get("restartPolicy", "")
    restart_path = f"{path}.template.spec.restartPolicy"
    if restart in ("Always", ""):
        causes.append(errors.field_required(restart_path, 'valid values: "OnFailure", "Never"'))
    elif restart not in ("OnFailure", "Never"):
        causes.append(errors.field_not_supported(restart_path, restart, ["OnFailure", "Never"]))
    elif spec.get("podFailurePolicy") is not None and restart != "Never":
        causes.append(errors.field_invalid(restart_path, restart,
                                           'only "Never" is supported when podFailurePolicy is specified'))
    return causes


def _generate_selector(obj: Obj) -> None:
    """generateSelector: the job-name and controller-uid labels on the template, the selector on the uid."""
    meta, spec = obj["metadata"], templates.spec_of(obj)
    template = spec.setdefault("template", {})
    template_meta = template.setdefault("metadata", {})
    labels = template_meta.get("labels") or {}
    for key in (LEGACY_JOB_NAME, JOB_NAME):
        labels.setdefault(key, meta.get("name", ""))
    for key in (LEGACY_CONTROLLER_UID, CONTROLLER_UID):
        labels.setdefault(key, meta.get("uid", ""))
    template_meta["labels"] = labels
    selector = spec.get("selector") or {}
    selector["matchLabels"] = {**(selector.get("matchLabels") or {})}
    selector["matchLabels"].setdefault(CONTROLLER_UID, meta.get("uid", ""))
    spec["selector"] = selector


def _has_label(labels: dict[str, str], key: str, value: str) -> Causes:
    """ValidateHasLabel at spec.template.metadata."""
    path = f"spec.template.metadata.labels[{key}]"
    if key not in labels:
        return [errors.field_required(path, f"must be '{value}'")]
    if labels[key] != value:
        return [validation.invalid_rendered(path, render(labels), f"must be '{value}'")]
    return []


class JobStrategy(Strategy):
    has_status_subresource = True
    field_labels = frozenset({"metadata.name", "metadata.namespace", "status.successful"})

    def default(self, obj: Obj) -> None:
        spec = templates.spec_of(obj)
        default_job_spec(spec)
        labels = _template_labels(spec)
        meta = obj.setdefault("metadata", {})
        if labels is not None and not meta.get("labels"):
            meta["labels"] = dict(labels)

    def prepare_for_create(self, obj: Obj) -> None:
        """The generated selector, then what decoding the stored object does again: a job without labels gets its
        template's (now with the generated ones)."""
        spec = templates.spec_of(obj)
        if not spec.get("manualSelector"):
            _generate_selector(obj)
        obj["status"] = {}
        labels = _template_labels(spec)
        if labels is not None and not obj["metadata"].get("labels"):
            obj["metadata"]["labels"] = dict(labels)

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return bool(semantic(new.get("spec")) != semantic(old.get("spec")))

    def validate(self, obj: Obj) -> Causes:
        return self._validate(obj, prefixed=True)

    def _validate(self, obj: Obj, prefixed: bool) -> Causes:
        """ValidateJob: the generated selector's labels, the spec, the selector against the template."""
        meta, spec = obj["metadata"], obj.get("spec") or {}
        causes: Causes = []
        selector = spec.get("selector")
        labels = _template_labels(spec) or {}
        if not spec.get("manualSelector") and selector is not None:
            uid, name = meta.get("uid", ""), meta.get("name", "")
            expected = {LEGACY_CONTROLLER_UID: uid, LEGACY_JOB_NAME: name}
            checks = [(LEGACY_CONTROLLER_UID, uid), (LEGACY_JOB_NAME, name)]
            if prefixed:
                checks += [(CONTROLLER_UID, uid), (JOB_NAME, name)]
                expected.update({CONTROLLER_UID: uid, JOB_NAME: name})
            for key, value in checks:
                causes += _has_label(labels, key, value)
            if not validation.label_selector("spec.selector", selector) and not templates.selects_template(
                    selector, {"metadata": {"labels": expected}}):
                causes.append(validation.invalid_rendered("spec.selector", selector_json(selector),
                                                          "`selector` not auto-generated"))
        causes += validate_job_spec(spec, "spec")
        if selector is None:
            causes.append(errors.field_required("spec.selector"))
        else:
            causes += validation.label_selector("spec.selector", selector)
        if selector is None or (not validation.label_selector("spec.selector", selector)
                                and not templates.selects_template(selector, spec.get("template"))):
            causes.append(validation.invalid_rendered("spec.template.metadata.labels",
                                                      render(_template_labels(spec)), templates.MISMATCH))
        completions = spec.get("completions")
        if spec.get("completionMode") == "Indexed" and isinstance(completions, int) and completions > 0:
            hostname = f"{meta.get('name', '')}-{completions - 1}"
            if validation.dns1123_label(hostname):
                causes.append(errors.field_invalid("metadata.name", meta.get("name", ""), "will not able to create "
                                                   f"pod with invalid DNS label: {hostname}"))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        """The spec again, then what may not change: selector, template (but for a suspended job that never
        started), completions of a non-indexed job, completion mode and policies."""
        old_labels = _template_labels(old.get("spec") or {}) or {}
        causes = self._validate(new, prefixed=JOB_NAME in old_labels and CONTROLLER_UID in old_labels)
        spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
        if spec.get("completionMode") != "Indexed":
            causes += self._immutable(spec, old_spec, "completions")
        elif spec.get("completions") != old_spec.get("completions") and spec.get("completions") is not None \
                and spec.get("completions") != spec.get("parallelism"):
            causes.append(errors.field_invalid("spec.completions", spec["completions"],
                                               "can only be modified in tandem with spec.parallelism"))
        causes += self._immutable(spec, old_spec, "selector")
        template, old_template = spec.get("template") or {}, old_spec.get("template") or {}
        if old_spec.get("suspend") and not (old.get("status") or {}).get("startTime"):
            template, old_template = self._scheduling_mutable(template, old_template)
        if semantic(template) != semantic(old_template):
            causes.append(validation.invalid_rendered("spec.template", render(spec.get("template")),
                                                      validation.IMMUTABLE))
        for field in ("completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy", "successPolicy"):
            causes += self._immutable(spec, old_spec, field)
        return causes

    @staticmethod
    def _immutable(spec: Obj, old_spec: Obj, field: str) -> Causes:
        new, old = spec.get(field), old_spec.get(field)
        if semantic(new) == semantic(old):
            return []
        if isinstance(new, (dict, list)) or new is None:
            rendered = selector_json(new) if field == "selector" and isinstance(new, dict) else render(new)
            return [validation.invalid_rendered(f"spec.{field}", rendered, validation.IMMUTABLE)]
        return [errors.field_invalid(f"spec.{field}", new, validation.IMMUTABLE)]

    @staticmethod
    def _scheduling_mutable(template: Obj, old_template: Obj) -> tuple[Obj, Obj]:
        """A suspended job that never started may change its pods' scheduling directives, labels and
        annotations."""
        def without(t: Obj) -> Obj:
            spec = {k: v for k, v in (t.get("spec") or {}).items()
                    if k not in ("nodeSelector", "tolerations", "schedulingGates")}
            affinity = {k: v for k, v in (spec.get("affinity") or {}).items() if k != "nodeAffinity"}
            spec.pop("affinity", None)
            if affinity:
                spec["affinity"] = affinity
            meta = {k: v for k, v in (t.get("metadata") or {}).items() if k not in ("labels", "annotations")}
            return {**t, "metadata": meta, "spec": spec}
        return without(template), without(old_template)

    def validate_status_update(self, new: Obj, old: Obj) -> Causes:
        return jobstatus.validate_status_update(new, old)

    def warnings(self, obj: Obj, old: Obj | None) -> list[str]:
        return dns_label_warning(obj) if old is None else []

    def fields(self, obj: Obj) -> dict[str, str]:
        return {**super().fields(obj), "status.successful": str((obj.get("status") or {}).get("succeeded", 0))}

    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("Status", description="Status of the job."),
                tables.column("Completions",
                              description=templates.doc("io.k8s.api.batch.v1.JobStatus", "succeeded")),
                tables.column("Duration", description="Time required to complete the job."),
                tables.AGE_COLUMN, *WIDE_COLUMNS,
                tables.column("Selector", priority=1,
                              description=templates.doc("io.k8s.api.batch.v1.JobSpec", "selector"))]

    def table_cells(self, obj: Obj) -> list[Any]:
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        succeeded = status.get("succeeded", 0)
        if spec.get("completions") is not None:
            completions = f"{succeeded}/{spec['completions']}"
        elif (spec.get("parallelism") or 0) > 1:
            completions = f"{succeeded}/1 of {spec['parallelism']}"
        else:
            completions = f"{succeeded}/1"
        start, end = status.get("startTime"), status.get("completionTime")
        duration = ""
        if start and not end:
            duration = tables.since(start)
        elif start and end:
            duration = tables.human_duration((timeutil.parse_time(end) - timeutil.parse_time(start)).total_seconds())
        return [_job_status(obj), completions, duration, tables.age(obj),
                *templates.container_cells(spec.get("template")),
                validation.format_label_selector(spec.get("selector"))]


def _condition_true(status: Obj, kind: str) -> bool:
    """The first condition of the type decides, as upstream's hasJobCondition."""
    for condition in status.get("conditions") or []:
        if condition.get("type") == kind:
            return bool(condition.get("status") == "True")
    return False


def _job_status(obj: Obj) -> str:
    status = obj.get("status") or {}
    if _condition_true(status, "Complete"):
        return "Complete"
    if _condition_true(status, "Failed"):
        return "Failed"
    if obj["metadata"].get("deletionTimestamp"):
        return "Terminating"
    for kind in ("Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if _condition_true(status, kind):
            return kind
    return "Running"


def _validate_time_zone(zone: Any) -> Causes:
    path = "spec.timeZone"
    if zone == "":
        return [errors.field_invalid(path, zone, "timeZone must be nil or non-empty string")]
    for part in str(zone).split("/"):
        if part in (".", "..") or part.startswith("-") or not re.fullmatch(_TZ_PART, part):
            return [errors.field_invalid(path, zone, f"unknown time zone {zone}")]
    causes: Causes = []
    if str(zone).lower() == "local":
        causes.append(errors.field_invalid(path, zone, "timeZone must be an explicit time zone as defined in "
                                                       "https://www.iana.org/time-zones"))
    problem = cron.location_problem(str(zone))
    if problem is not None:
        causes.append(errors.field_invalid(path, zone, problem))
    return causes


class CronJobStrategy(Strategy):
    has_status_subresource = True

    def default(self, obj: Obj) -> None:
        spec = templates.spec_of(obj)
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        job_template = spec.setdefault("jobTemplate", {})
        if isinstance(job_template, dict):
            job_spec = job_template.setdefault("spec", {})
            if isinstance(job_spec, dict):
                default_job_template_spec(job_spec)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {}

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return bool(semantic(new.get("spec")) != semantic(old.get("spec")))

    def validate(self, obj: Obj) -> Causes:
        causes = self._validate_spec(obj.get("spec") or {}, None)
        name = obj["metadata"].get("name", "")
        if len(name) > 52:
            causes.append(errors.field_invalid("metadata.name", name, "must be no more than 52 characters"))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        return self._validate_spec(new.get("spec") or {}, old.get("spec") or {})

    @staticmethod
    def _validate_spec(spec: Obj, old_spec: Obj | None) -> Causes:
        """validateCronJobSpec: schedule, deadline, time zone, concurrency, job template, history limits."""
        causes: Causes = []
        schedule = spec.get("schedule") or ""
        if not schedule:
            causes.append(errors.field_required("spec.schedule"))
        else:
            try:
                cron.parse_standard(schedule)
            except cron.CronError as problem:
                causes.append(errors.field_invalid("spec.schedule", schedule, str(problem)))
            tz_allowed = old_spec is not None and "TZ" in (old_spec.get("schedule") or "")
            if tz_allowed and "TZ" in schedule and spec.get("timeZone") is not None:
                causes.append(errors.field_invalid("spec.schedule", schedule,
                                                   "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
            elif not tz_allowed and "TZ" in schedule:
                causes.append(errors.field_invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in "
                                                                              "schedule, use timeZone field instead"))
        if spec.get("startingDeadlineSeconds") is not None:
            causes += validation.nonnegative("spec.startingDeadlineSeconds", spec["startingDeadlineSeconds"])
        zone = spec.get("timeZone")
        if zone is not None and (old_spec is None or old_spec.get("timeZone") != zone):
            causes += _validate_time_zone(zone)
        policy = spec.get("concurrencyPolicy", "")
        if not policy:
            causes.append(errors.field_required("spec.concurrencyPolicy"))
        elif policy not in _CONCURRENCY:
            causes.append(errors.field_not_supported("spec.concurrencyPolicy", policy, _CONCURRENCY))
        job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
        causes += validate_job_spec(job_spec, "spec.jobTemplate.spec")
        if job_spec.get("selector") is not None:
            causes.append(validation.invalid_rendered("spec.jobTemplate.spec.selector",
                                                      selector_json(job_spec["selector"]),
                                                      "`selector` will be auto-generated"))
        if job_spec.get("manualSelector"):
            causes.append(errors.field_not_supported("spec.jobTemplate.spec.manualSelector", True,
                                                     ["nil", "false"]))
        for field in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
            if spec.get(field) is not None:
                causes += validation.nonnegative(f"spec.{field}", spec[field])
        return causes

    def warnings(self, obj: Obj, old: Obj | None) -> list[str]:
        return dns_label_warning(obj) if old is None else []

    def table_columns(self) -> list[dict[str, Any]]:
        spec, status = "io.k8s.api.batch.v1.CronJobSpec", "io.k8s.api.batch.v1.CronJobStatus"
        return [tables.column("Schedule", description=templates.doc(spec, "schedule")),
                tables.column("Timezone", description=templates.doc(spec, "timeZone")),
                tables.column("Suspend", "boolean", description=templates.doc(spec, "suspend")),
                tables.column("Active", "integer", description=templates.doc(status, "active")),
                tables.column("Last Schedule", description=templates.doc(status, "lastScheduleTime")),
                tables.AGE_COLUMN, *WIDE_COLUMNS,
                tables.column("Selector", priority=1,
                              description=templates.doc("io.k8s.api.batch.v1.JobSpec", "selector"))]

    def table_cells(self, obj: Obj) -> list[Any]:
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
        last = status.get("lastScheduleTime")
        suspend = spec.get("suspend")
        return [spec.get("schedule", ""), spec.get("timeZone") or "<none>",
                "<unset>" if suspend is None else ("True" if suspend else "False"), len(status.get("active") or []),
                tables.since(last) if last else "<none>", tables.age(obj),
                *templates.container_cells(job_spec.get("template")),
                validation.format_label_selector(job_spec.get("selector"))]
