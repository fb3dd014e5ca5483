"""HorizontalPodAutoscalers: stored as autoscaling/v2 and served as v1 too, through upstream's conversion
(pkg/apis/autoscaling/v1/conversion.go): v1 has one CPU target, and keeps what it cannot say (other metrics,
their statuses, conditions, behavior) in `autoscaling.alpha.kubernetes.io/*` annotations. Defaults, validation
(pkg/apis/autoscaling/validation) and the status rules are v2's; the v1 strategy judges the converted object."""
from __future__ import annotations

import copy
import json
from typing import Any

from shim.machinery import errors, names, protobuf, quantity, tables, validation
from shim.registry.kinds import templates
from shim.registry.strategy import Causes, Obj, Strategy, semantic

METRICS = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior"
_ROUND_TRIP = (METRICS, CURRENT_METRICS, CONDITIONS, BEHAVIOR)
DEFAULT_CPU_UTILIZATION = 80
_SOURCE_TYPES = ["ContainerResource", "External", "Object", "Pods", "Resource"]
_SOURCE_FIELDS = {"Object": "object", "Pods": "pods", "Resource": "resource", "External": "external",
                  "ContainerResource": "containerResource"}
_SELECT_POLICIES = ["Disabled", "Max", "Min"]
_MAX_STABILIZATION = 3600
#: a condition's fields in v1's (and v2's) declaration order, as json.Marshal writes them in the annotation
_CONDITION_FIELDS = ("type", "status", "lastTransitionTime", "reason", "message")


def _scale_up_rules() -> Obj:
    return {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]}


def _scale_down_rules() -> Obj:
    return {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


def _cpu_metric(utilization: int) -> Obj:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                      "averageUtilization": utilization}}}


def default_v2(obj: Obj) -> None:
    """SetDefaults_HorizontalPodAutoscaler (v2): minReplicas 1, a CPU target of 80%, complete behavior rules."""
    spec = templates.spec_of(obj)
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [_cpu_metric(DEFAULT_CPU_UTILIZATION)]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        for key, defaults in (("scaleUp", _scale_up_rules()), ("scaleDown", _scale_down_rules())):
            given = behavior.get(key) or {}
            behavior[key] = {**defaults, **{k: v for k, v in given.items() if v is not None}}


# ----- v2 <-> v1 (metric sources and statuses in their v1 shapes) -----

def _metric_to_v1(metric: Obj) -> Obj:
    """Convert_autoscaling_MetricSpec_To_v1_MetricSpec."""
    kind = metric.get("type", "")
    out: Obj = {"type": kind}
    resource = metric.get("resource") or metric.get("containerResource")
    if resource is not None:
        target = resource.get("target") or {}
        source = {"name": resource.get("name", ""), "targetAverageUtilization": target.get("averageUtilization"),
                  "targetAverageValue": target.get("averageValue")}
        if "containerResource" in metric:
            source["container"] = resource.get("container", "")
        out[_SOURCE_FIELDS.get(kind, "resource")] = _present(source)
    if metric.get("pods") is not None:
        pods = metric["pods"]
        out["pods"] = _present({"metricName": (pods.get("metric") or {}).get("name", ""),
                                "targetAverageValue": (pods.get("target") or {}).get("averageValue", "0"),
                                "selector": (pods.get("metric") or {}).get("selector")})
    if metric.get("object") is not None:
        source = metric["object"]
        target = source.get("target") or {}
        out["object"] = _present({"target": source.get("describedObject") or {},
                                  "metricName": (source.get("metric") or {}).get("name", ""),
                                  "targetValue": target.get("value", "0"),
                                  "selector": (source.get("metric") or {}).get("selector"),
                                  "averageValue": target.get("averageValue")})
    if metric.get("external") is not None:
        source = metric["external"]
        target = source.get("target") or {}
        out["external"] = _present({"metricName": (source.get("metric") or {}).get("name", ""),
                                    "metricSelector": (source.get("metric") or {}).get("selector"),
                                    "targetValue": target.get("value"),
                                    "targetAverageValue": target.get("averageValue")})
    return out


def _metric_from_v1(metric: Obj) -> Obj:
    """Convert_v1_MetricSpec_To_autoscaling_MetricSpec."""
    kind = metric.get("type", "")
    out: Obj = {"type": kind}
    for field in ("resource", "containerResource"):
        source = metric.get(field)
        if source is not None:
            utilization = source.get("targetAverageUtilization")
            target = _present({"type": "AverageValue" if utilization is None else "Utilization",
                               "averageUtilization": utilization, "averageValue": source.get("targetAverageValue")})
            out[field] = _present({"name": source.get("name", ""), "container": source.get("container"),
                                   "target": target})
    if metric.get("pods") is not None:
        source = metric["pods"]
        out["pods"] = {"metric": _present({"name": source.get("metricName", ""), "selector": source.get("selector")}),
                       "target": {"type": "AverageValue", "averageValue": source.get("targetAverageValue", "0")}}
    if metric.get("object") is not None:
        source = metric["object"]
        average = source.get("averageValue")
        out["object"] = {"describedObject": source.get("target") or {},
                         "metric": _present({"name": source.get("metricName", ""), "selector": source.get("selector")}),
                         "target": _present({"type": "Value" if average is None else "AverageValue",
                                             "value": source.get("targetValue", "0"), "averageValue": average})}
    if metric.get("external") is not None:
        source = metric["external"]
        value = source.get("targetValue")
        out["external"] = {"metric": _present({"name": source.get("metricName", ""),
                                               "selector": source.get("metricSelector")}),
                           "target": _present({"type": "AverageValue" if value is None else "Value", "value": value,
                                               "averageValue": source.get("targetAverageValue")})}
    return out


def _status_to_v1(status: Obj) -> Obj:
    """Convert_autoscaling_MetricStatus_To_v1_MetricStatus."""
    out: Obj = {"type": status.get("type", "")}
    for field in ("resource", "containerResource"):
        source = status.get(field)
        if source is not None:
            current = source.get("current") or {}
            out[field] = _present({"name": source.get("name", ""), "container": source.get("container"),
                                   "currentAverageUtilization": current.get("averageUtilization"),
                                   "currentAverageValue": current.get("averageValue", "0")})
    if status.get("pods") is not None:
        source = status["pods"]
        out["pods"] = _present({"metricName": (source.get("metric") or {}).get("name", ""),
                                "selector": (source.get("metric") or {}).get("selector"),
                                "currentAverageValue": (source.get("current") or {}).get("averageValue", "0")})
    if status.get("object") is not None:
        source = status["object"]
        current = source.get("current") or {}
        out["object"] = _present({"target": source.get("describedObject") or {},
                                  "metricName": (source.get("metric") or {}).get("name", ""),
                                  "selector": (source.get("metric") or {}).get("selector"),
                                  "currentValue": current.get("value", "0"),
                                  "averageValue": current.get("averageValue")})
    if status.get("external") is not None:
        source = status["external"]
        current = source.get("current") or {}
        out["external"] = _present({"metricName": (source.get("metric") or {}).get("name", ""),
                                    "metricSelector": (source.get("metric") or {}).get("selector"),
                                    "currentValue": current.get("value", "0"),
                                    "currentAverageValue": current.get("averageValue")})
    return out


def _status_from_v1(status: Obj) -> Obj:
    """Convert_v1_MetricStatus_To_autoscaling_MetricStatus."""
    out: Obj = {"type": status.get("type", "")}
    for field in ("resource", "containerResource"):
        source = status.get(field)
        if source is not None:
            out[field] = _present({"name": source.get("name", ""), "container": source.get("container"),
                                   "current": _present({"averageUtilization": source.get("currentAverageUtilization"),
                                                        "averageValue": source.get("currentAverageValue")})})
    if status.get("pods") is not None:
        source = status["pods"]
        out["pods"] = {"metric": _present({"name": source.get("metricName", ""), "selector": source.get("selector")}),
                       "current": {"averageValue": source.get("currentAverageValue", "0")}}
    if status.get("object") is not None:
        source = status["object"]
        out["object"] = {"describedObject": source.get("target") or {},
                         "metric": _present({"name": source.get("metricName", ""), "selector": source.get("selector")}),
                         "current": _present({"value": source.get("currentValue", "0"),
                                              "averageValue": source.get("averageValue")})}
    if status.get("external") is not None:
        source = status["external"]
        out["external"] = {"metric": _present({"name": source.get("metricName", ""),
                                               "selector": source.get("metricSelector")}),
                           "current": _present({"value": source.get("currentValue", "0"),
                                                "averageValue": source.get("currentAverageValue")})}
    return out


def _present(values: Obj) -> Obj:
    """A converted struct without its absent (nil) fields."""
    return {k: v for k, v in values.items() if v is not None}


def _go_behavior(behavior: Obj) -> Obj:
    """The internal HorizontalPodAutoscalerBehavior as json.Marshal writes it (no json tags: Go's names), which
    is what upstream keeps in the behavior annotation."""
    def rules(r: Obj | None) -> Obj | None:
        if r is None:
            return None
        return {"StabilizationWindowSeconds": r.get("stabilizationWindowSeconds"),
                "SelectPolicy": r.get("selectPolicy"),
                "Policies": [{"Type": p.get("type", ""), "Value": p.get("value", 0),
                              "PeriodSeconds": p.get("periodSeconds", 0)} for p in r.get("policies") or []]
                if r.get("policies") is not None else None,
                "Tolerance": r.get("tolerance")}
    return {"ScaleUp": rules(behavior.get("scaleUp")), "ScaleDown": rules(behavior.get("scaleDown"))}


def _behavior_from_go(encoded: Obj) -> Obj:
    def rules(r: Obj | None) -> Obj | None:
        if not isinstance(r, dict):
            return None
        return _present({"stabilizationWindowSeconds": r.get("StabilizationWindowSeconds"),
                         "selectPolicy": r.get("SelectPolicy"),
                         "policies": None if r.get("Policies") is None else [
                             {"type": p.get("Type", ""), "value": p.get("Value", 0),
                              "periodSeconds": p.get("PeriodSeconds", 0)} for p in r["Policies"]],
                         "tolerance": r.get("Tolerance")})
    return _present({"scaleUp": rules(encoded.get("ScaleUp")), "scaleDown": rules(encoded.get("ScaleDown"))})


def _is_cpu_utilization(metric: Obj) -> bool:
    resource = metric.get("resource") or {}
    return bool(metric.get("type") == "Resource" and resource.get("name") == "cpu"
                and (resource.get("target") or {}).get("averageUtilization") is not None)


def _encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def to_v1(obj: Obj) -> Obj:
    """A stored (v2) HorizontalPodAutoscaler as autoscaling/v1 serves it."""
    out = copy.deepcopy(obj)
    out["apiVersion"] = "autoscaling/v1"
    meta = out.setdefault("metadata", {})
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in _ROUND_TRIP}
    spec, status = out.get("spec") or {}, out.get("status") or {}
    metrics = spec.pop("metrics", None) or []
    behavior = spec.pop("behavior", None)
    cpu = next((m for m in metrics if _is_cpu_utilization(m)), None)
    if cpu is not None:
        spec["targetCPUUtilizationPercentage"] = cpu["resource"]["target"]["averageUtilization"]
    others = [_metric_to_v1(m) for m in metrics if not _is_cpu_utilization(m)]
    if others:
        annotations[METRICS] = _encode(others)
    current = status.pop("currentMetrics", None) or []
    conditions = status.pop("conditions", None) or []
    for metric in current:
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu" and \
                (resource.get("current") or {}).get("averageUtilization") is not None:
            status["currentCPUUtilizationPercentage"] = resource["current"]["averageUtilization"]
    if current:
        annotations[CURRENT_METRICS] = _encode([_status_to_v1(m) for m in current])
    if behavior is not None:
        annotations[BEHAVIOR] = _encode(_go_behavior(behavior))
    if conditions:
        annotations[CONDITIONS] = _encode([{k: c[k] for k in _CONDITION_FIELDS if k in c} for c in conditions])
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return protobuf.go_view(out, "autoscaling/v1", "HorizontalPodAutoscaler")


def _decoded(annotations: dict[str, str], key: str) -> Any:
    try:
        return json.loads(annotations[key]) if key in annotations else None
    except ValueError:
        return None


def to_v2(obj: Obj) -> Obj:
    """An autoscaling/v1 HorizontalPodAutoscaler as stored (v2): its round-trip annotations read back and
    dropped, an implicit CPU target of 80% made explicit."""
    out = copy.deepcopy(obj)
    out["apiVersion"] = "autoscaling/v2"
    meta = out.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    spec = templates.spec_of(out)
    status = out.get("status") if isinstance(out.get("status"), dict) else None
    cpu = spec.pop("targetCPUUtilizationPercentage", None)
    metrics = [_cpu_metric(cpu)] if cpu is not None else []
    others = _decoded(annotations, METRICS)
    if isinstance(others, list):
        metrics = [_metric_from_v1(m) for m in others if isinstance(m, dict)] + metrics
    spec["metrics"] = metrics or [_cpu_metric(DEFAULT_CPU_UTILIZATION)]
    behavior = _decoded(annotations, BEHAVIOR)
    if isinstance(behavior, dict) and _behavior_from_go(behavior):
        spec["behavior"] = _behavior_from_go(behavior)
    if status is not None:
        current_cpu = status.pop("currentCPUUtilizationPercentage", None)
        if current_cpu is not None:
            status["currentMetrics"] = [{"type": "Resource", "resource": {
                "name": "cpu", "current": {"averageUtilization": current_cpu}}}]
        current = _decoded(annotations, CURRENT_METRICS)
        if isinstance(current, list):
            status["currentMetrics"] = [_status_from_v1(m) for m in current if isinstance(m, dict)]
        conditions = _decoded(annotations, CONDITIONS)
        if isinstance(conditions, list):
            status["conditions"] = conditions
    annotations = {k: v for k, v in annotations.items() if k not in _ROUND_TRIP}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return protobuf.go_view(out, "autoscaling/v2", "HorizontalPodAutoscaler")


# ----- validation (of the v2 form) -----

def _validate_target(target: Obj, path: str) -> Causes:
    causes: Causes = []
    kind = target.get("type", "")
    if not kind:
        causes.append(errors.field_required(f"{path}.type", "must specify a metric target type"))
    if kind not in ("Utilization", "Value", "AverageValue"):
        causes.append(errors.field_invalid(f"{path}.type", kind, "must be either Utilization, Value, or "
                                                                 "AverageValue"))
    for field in ("value", "averageValue"):
        value = target.get(field)
        if value is not None and not quantity.syntax_error(value) and quantity.parse(value) <= 0:
            causes.append(errors.field_invalid(f"{path}.{field}", value, "must be positive"))
    utilization = target.get("averageUtilization")
    if utilization is not None and utilization < 1:
        causes.append(errors.field_invalid(f"{path}.averageUtilization", utilization, "must be greater than 0"))
    return causes


def _validate_resource_source(source: Obj, path: str) -> Causes:
    causes: Causes = []
    if not source.get("name"):
        causes.append(errors.field_required(f"{path}.name", "must specify a resource name"))
    target = source.get("target") or {}
    causes += _validate_target(target, f"{path}.target")
    if target.get("averageUtilization") is None and target.get("averageValue") is None:
        causes.append(errors.field_required(f"{path}.target.averageUtilization",
                                            "must set either a target raw value or a target utilization"))
    if target.get("averageUtilization") is not None and target.get("averageValue") is not None:
        causes.append(errors.field_forbidden(f"{path}.target.averageValue",
                                             "may not set both a target raw value and a target utilization"))
    return causes


def _validate_metric(metric: Obj, path: str) -> Causes:
    """validateMetricSpec: a supported type whose source, and only it, is given (resource sources checked)."""
    causes: Causes = []
    kind = metric.get("type", "")
    if not kind:
        causes.append(errors.field_required(f"{path}.type", "must specify a metric source type"))
    if kind not in _SOURCE_TYPES:
        causes.append(errors.field_not_supported(f"{path}.type", kind, _SOURCE_TYPES))
    present = [field for field in ("object", "external", "pods", "resource", "containerResource")
               if metric.get(field) is not None]
    if present and present[0] in ("resource", "containerResource"):
        causes += _validate_resource_source(metric[present[0]], f"{path}.{present[0]}")
    expected = _SOURCE_FIELDS.get(kind)
    if expected is not None and metric.get(expected) is None:
        causes.append(errors.field_required(f"{path}.{expected}", "must populate information for the given metric "
                                                                  "source"))
    if expected is None and kind:
        causes.append(errors.field_not_supported(f"{path}.type", kind, _SOURCE_TYPES))
    if len(present) != 1:
        causes += [errors.field_forbidden(f"{path}.{field}", "must populate the given metric source only")
                   for field in present if field != expected]
    return causes


def _validate_rules(rules: Obj | None, path: str) -> Causes:
    if rules is None:
        return []
    causes: Causes = []
    window = rules.get("stabilizationWindowSeconds")
    if window is not None and window < 0:
        causes.append(errors.field_invalid(f"{path}.stabilizationWindowSeconds", window,
                                           "must be greater than or equal to zero"))
    if window is not None and window > _MAX_STABILIZATION:
        causes.append(errors.field_invalid(f"{path}.stabilizationWindowSeconds", window,
                                           f"must be less than or equal to {_MAX_STABILIZATION}"))
    select = rules.get("selectPolicy")
    if select is not None and select not in _SELECT_POLICIES:
        causes.append(errors.field_not_supported(f"{path}.selectPolicy", select, _SELECT_POLICIES))
    policies = rules.get("policies") or []
    if not policies:
        causes.append(errors.field_required(f"{path}.policies", "must specify at least one Policy"))
    for i, policy in enumerate(policies):
        policy_path = f"{path}.policies[{i}]"
        if policy.get("type") not in ("Pods", "Percent"):
            causes.append(errors.field_not_supported(f"{policy_path}.type", policy.get("type", ""),
                                                     ["Percent", "Pods"]))
        if policy.get("value", 0) <= 0:
            causes.append(errors.field_invalid(f"{policy_path}.value", policy.get("value", 0),
                                               "must be greater than zero"))
        if policy.get("periodSeconds", 0) <= 0:
            causes.append(errors.field_invalid(f"{policy_path}.periodSeconds", policy.get("periodSeconds", 0),
                                               "must be greater than zero"))
        elif policy.get("periodSeconds", 0) > 1800:
            causes.append(errors.field_invalid(f"{policy_path}.periodSeconds", policy["periodSeconds"],
                                               "must be less than or equal to 1800"))
    return causes


def _api_version_problem(api_version: str, allow_empty_group: bool) -> str | None:
    """ValidateAPIVersion: a parsable group version naming a group."""
    if api_version.count("/") > 1:
        return f"unexpected GroupVersion string: {api_version}"
    if not allow_empty_group and "/" not in api_version:
        return "apiVersion must specify API group"
    return None


def validate_v2(obj: Obj, old: Obj | None = None) -> Causes:
    """validateHorizontalPodAutoscalerSpec; an update tolerates the scale target apiVersion its object had."""
    spec = obj.get("spec") or {}
    causes: Causes = []
    minimum, maximum = spec.get("minReplicas"), spec.get("maxReplicas", 0)
    if minimum is not None and minimum < 1:
        causes.append(errors.field_invalid("spec.minReplicas", minimum, "must be greater than or equal to 1"))
    if maximum < 1:
        causes.append(errors.field_invalid("spec.maxReplicas", maximum, "must be greater than 0"))
    if minimum is not None and maximum < minimum:
        causes.append(errors.field_invalid("spec.maxReplicas", maximum,
                                           "must be greater than or equal to `minReplicas`"))
    ref = spec.get("scaleTargetRef") or {}
    for field in ("kind", "name"):
        value = ref.get(field, "")
        if not value:
            causes.append(errors.field_required(f"spec.scaleTargetRef.{field}"))
        else:
            causes += [errors.field_invalid(f"spec.scaleTargetRef.{field}", value, problem)
                       for problem in names.path_segment(value)]
    old_ref = ((old or {}).get("spec") or {}).get("scaleTargetRef") or {}
    old_problem = _api_version_problem(old_ref.get("apiVersion", ""), False) if old is not None else None
    if old is None or old_problem is None:
        problem = _api_version_problem(ref.get("apiVersion", ""), False)
        if problem is not None:
            causes.append(errors.field_invalid("spec.scaleTargetRef.apiVersion", ref.get("apiVersion", ""), problem))
    metrics = spec.get("metrics") or []
    for i, metric in enumerate(metrics):
        causes += _validate_metric(metric, f"spec.metrics[{i}]")
    if minimum == 0 and not any(m.get("type") in ("Object", "External") for m in metrics):
        causes.append(errors.field_forbidden("spec.metrics", "must specify at least one Object or External metric "
                                                             "to support scaling to zero replicas"))
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        causes += _validate_rules(behavior.get("scaleUp"), "spec.behavior.scaleUp")
        causes += _validate_rules(behavior.get("scaleDown"), "spec.behavior.scaleDown")
    return causes


def validate_v2_status(obj: Obj) -> Causes:
    status = obj.get("status") or {}
    return (validation.nonnegative("status.currentReplicas", status.get("currentReplicas", 0))
            + validation.nonnegative("status.desiredReplicas", status.get("desiredReplicas", 0)))


# ----- the table (upstream prints the internal object: the v2 form) -----

def _metric_cells(spec: Obj, status: Obj) -> str:
    """formatHPAMetrics: `current/target` per metric, at most two then `+ N more...`."""
    metrics, current = spec.get("metrics") or [], status.get("currentMetrics") or []
    if not metrics:
        return "<none>"
    cells = []
    for i, metric in enumerate(metrics):
        now = current[i] if i < len(current) else {}
        kind = metric.get("type")
        if kind in ("Resource", "ContainerResource"):
            field = _SOURCE_FIELDS[kind]
            source, source_now = metric.get(field) or {}, (now.get(field) or {}).get("current")
            target = source.get("target") or {}
            if target.get("averageValue") is not None:
                value = (source_now or {}).get("averageValue") if source_now is not None else None
                cells.append(f"{source.get('name', '')}: {value or '<unknown>'}/{target['averageValue']}")
            else:
                value = (source_now or {}).get("averageUtilization")
                shown = f"{value}%" if value is not None else "<unknown>"
                goal = f"{target['averageUtilization']}%" if target.get("averageUtilization") is not None \
                    else "<auto>"
                cells.append(f"{source.get('name', '')}: {shown}/{goal}")
        elif kind == "Pods":
            value = ((now.get("pods") or {}).get("current") or {}).get("averageValue")
            target_value = ((metric.get("pods") or {}).get("target") or {}).get("averageValue")
            cells.append(f"{value or '<unknown>'}/{target_value}")
        elif kind in ("Object", "External"):
            field = _SOURCE_FIELDS[kind]
            target = (metric.get(field) or {}).get("target") or {}
            source_now = (now.get(field) or {}).get("current") if now.get(field) is not None else None
            if target.get("averageValue") is not None:
                value = (source_now or {}).get("averageValue")
                cells.append(f"{value or '<unknown>'}/{target['averageValue']} (avg)")
            else:
                value = (source_now or {}).get("value") if source_now is not None else None
                cells.append(f"{value or '<unknown>'}/{target.get('value')}")
        else:
            cells.append("<unknown type>")
    if len(cells) > 2:
        return f"{', '.join(cells[:2])} + {len(cells) - 2} more..."
    return ", ".join(cells)


class HorizontalPodAutoscalerStrategy(Strategy):
    """autoscaling/v2, the stored form."""

    has_status_subresource = True
    tracks_generation = False

    def default(self, obj: Obj) -> None:
        default_v2(obj)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {}

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return bool(semantic(new.get("spec")) != semantic(old.get("spec")))

    def validate(self, obj: Obj) -> Causes:
        return validate_v2(obj)

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        return validate_v2(new, old)

    def validate_status_update(self, new: Obj, old: Obj) -> Causes:
        return validate_v2_status(new)

    def _internal(self, obj: Obj) -> Obj:
        """The object in the form upstream's printer reads (v2's)."""
        return obj

    def table_columns(self) -> list[dict[str, Any]]:
        spec, status = "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec", \
            "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus"
        return [tables.column("Reference", description=templates.doc(spec, "scaleTargetRef")),
                tables.column("Targets", description=templates.doc(spec, "metrics")),
                tables.column("MinPods", description=templates.doc(spec, "minReplicas")),
                tables.column("MaxPods", description=templates.doc(spec, "maxReplicas")),
                tables.column("Replicas", description=templates.doc(status, "currentReplicas")),
                tables.AGE_COLUMN]

    def table_cells(self, obj: Obj) -> list[Any]:
        internal = self._internal(obj)
        spec, status = internal.get("spec") or {}, internal.get("status") or {}
        ref = spec.get("scaleTargetRef") or {}
        minimum = spec.get("minReplicas")
        return [f"{ref.get('kind', '')}/{ref.get('name', '')}", _metric_cells(spec, status),
                "<unset>" if minimum is None else str(minimum), spec.get("maxReplicas", 0),
                status.get("currentReplicas", 0), tables.age(obj)]


class HorizontalPodAutoscalerV1Strategy(HorizontalPodAutoscalerStrategy):
    """autoscaling/v1: defaulted as v1 is (minReplicas), judged and printed as its v2 conversion."""

    def default(self, obj: Obj) -> None:
        templates.spec_of(obj).setdefault("minReplicas", 1)

    def validate(self, obj: Obj) -> Causes:
        return validate_v2(to_v2(obj))

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        return validate_v2(to_v2(new), to_v2(old))

    def _internal(self, obj: Obj) -> Obj:
        return to_v2(obj)
