"""apps/v1 Deployments and ReplicaSets: upstream's defaults (pkg/apis/apps/v1/defaults.go), validation
(pkg/apis/apps/validation) and strategies (pkg/registry/apps/*/strategy.go). Controllers act on them elsewhere."""
from __future__ import annotations

import json
from typing import Any

from shim.machinery import errors, tables, validation
from shim.registry.kinds import templates
from shim.registry.kinds.templates import ReplicasScale, spec_of
from shim.registry.strategy import Causes, Obj, Strategy, semantic

DEPLOYMENT_STRATEGIES = ["Recreate", "RollingUpdate"]


def render(value: Any) -> str:
    """A value as field.Error prints a composite one: json.Marshal, map keys sorted as Go sorts them."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def selector_json(selector: Obj) -> str:
    """A metav1.LabelSelector as json.Marshal writes it (struct field order, sorted matchLabels)."""
    out: Obj = {}
    if selector.get("matchLabels"):
        out["matchLabels"] = dict(sorted(selector["matchLabels"].items()))
    if selector.get("matchExpressions"):
        out["matchExpressions"] = [{k: e[k] for k in ("key", "operator", "values") if k in e}
                                   for e in selector["matchExpressions"] if isinstance(e, dict)]
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False)


def validate_selected_template(spec: Obj, path: str, kind_word: str = "deployment") -> Causes:
    """spec.selector (required, valid, non-empty) and spec.template (selected by it, a valid pod template), as
    ValidateReplicaSetSpec and ValidateDeploymentSpec check them: a nil selector selects nothing, so the
    template's labels never match it; a selector that does not convert stops there."""
    selector, template = spec.get("selector"), spec.get("template")
    sel_path, tpl_path = f"{path}.selector", f"{path}.template"
    labels = ((template if isinstance(template, dict) else {}).get("metadata") or {}).get("labels")
    if selector is None:
        causes = [errors.field_required(sel_path),
                  validation.invalid_rendered(f"{tpl_path}.metadata.labels", render(labels), templates.MISMATCH)]
    else:
        causes = validation.label_selector(sel_path, selector)
        convertible = not causes
        if not (selector.get("matchLabels") or selector.get("matchExpressions")):
            causes.append(validation.invalid_rendered(sel_path, selector_json(selector),
                                                      f"empty selector is invalid for {kind_word}"))
        if not convertible:
            return causes + [validation.invalid_rendered(sel_path, selector_json(selector),
                                                         "invalid label selector")]
        if not templates.selects_template(selector, template):
            causes.append(validation.invalid_rendered(f"{tpl_path}.metadata.labels", render(labels),
                                                      templates.MISMATCH))
    return causes + templates.validate_template(template, tpl_path) + templates.replica_set_template(template,
                                                                                                     tpl_path)


def _deployment_strategy_go(strategy: Obj) -> str:
    """The internal DeploymentStrategy as upstream prints it in its Unsupported value."""
    rolling = strategy.get("rollingUpdate")
    return validation.go_json({"Type": strategy.get("type", ""), "RollingUpdate": None if rolling is None else {
        "MaxUnavailable": rolling.get("maxUnavailable", 0), "MaxSurge": rolling.get("maxSurge", 0)}})


def _percent_value(value: Any) -> int:
    """getIntOrPercentValue: a valid percent's number, an int itself, anything else 0."""
    if isinstance(value, str):
        return int(value[:-1]) if value.endswith("%") and value[:-1].isdigit() else 0
    return value if isinstance(value, int) else 0


def _validate_deployment_strategy(strategy: Obj, path: str) -> Causes:
    kind = strategy.get("type", "")
    if kind == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            return [errors.field_forbidden(f"{path}.rollingUpdate",
                                           "may not be specified when strategy `type` is 'Recreate'")]
        return []
    if kind == "RollingUpdate":
        rolling = strategy.get("rollingUpdate") or {}
        causes: Causes = []
        unavailable, surge = rolling.get("maxUnavailable", 0), rolling.get("maxSurge", 0)
        for field, value in (("maxUnavailable", unavailable), ("maxSurge", surge)):
            causes += [c for c in validation.int_or_percent(f"{path}.rollingUpdate.{field}", value)
                       if "100%" not in c["message"]]
        if _percent_value(unavailable) == 0 and _percent_value(surge) == 0:
            causes.append(errors.field_invalid(f"{path}.rollingUpdate.maxUnavailable", unavailable,
                                               "may not be 0 when `maxSurge` is 0"))
        if isinstance(unavailable, str) and _percent_value(unavailable) > 100:
            causes.append(errors.field_invalid(f"{path}.rollingUpdate.maxUnavailable", unavailable,
                                               "must not be greater than 100%"))
        return causes
    values = ", ".join(f'"{v}"' for v in DEPLOYMENT_STRATEGIES)
    return [{"reason": "FieldValueNotSupported", "field": path,
             "message": f"Unsupported value: {_deployment_strategy_go(strategy)}: supported values: {values}"}]


def _nonnegative_fields(obj: Obj, path: str, fields: tuple[str, ...]) -> Causes:
    causes: Causes = []
    for field in fields:
        causes += validation.nonnegative(f"{path}.{field}", obj.get(field, 0))
    return causes


def _not_above_replicas(status: Obj, fields: tuple[str, ...]) -> Causes:
    """Status counters that cannot exceed status.replicas, nor availableReplicas readyReplicas."""
    replicas = status.get("replicas", 0)
    causes = [errors.field_invalid(f"status.{field}", status.get(field, 0), "cannot be greater than status.replicas")
              for field in fields if status.get(field, 0) > replicas]
    if status.get("availableReplicas", 0) > status.get("readyReplicas", 0):
        causes.append(errors.field_invalid("status.availableReplicas", status.get("availableReplicas", 0),
                                           "cannot be greater than readyReplicas"))
    return causes


def _collision_count(new: Obj, old: Obj) -> Causes:
    """IsDecremented: a collisionCount may not go down (nor away)."""
    now, before = (new.get("status") or {}).get("collisionCount"), (old.get("status") or {}).get("collisionCount")
    if before is not None and (now is None or now < before):
        return [errors.field_invalid("status.collisionCount", now or 0, "cannot be decremented")]
    return []


def dns_label_warning(obj: Obj) -> list[str]:
    """Names of objects whose pods are named after them should be DNS labels (WarningsOnCreate)."""
    problems = validation.dns1123_label(obj["metadata"].get("name", ""))
    if not problems:
        return []
    return ["metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; "
            f"a DNS label is recommended: [{' '.join(problems)}]"]


class WorkloadStrategy(Strategy):
    """A kind with a pod template and a status only controllers write: status reset on create and kept on
    update, generation bumped on spec changes."""

    has_status_subresource = True

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {}

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return bool(semantic(new.get("spec")) != semantic(old.get("spec")))

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        """The spec is validated again and its selector may not change."""
        causes = self.validate(new)
        new_selector, old_selector = (new.get("spec") or {}).get("selector"), (old.get("spec") or {}).get("selector")
        if semantic(new_selector) != semantic(old_selector):
            rendered = "null" if new_selector is None else selector_json(new_selector)
            causes.append(validation.invalid_rendered("spec.selector", rendered, validation.IMMUTABLE))
        return causes

    def warnings(self, obj: Obj, old: Obj | None) -> list[str]:
        return dns_label_warning(obj) if old is None else []


class DeploymentStrategy(ReplicasScale, WorkloadStrategy):
    #: the status strategy keeps the labels too (upstream's deploymentStatusStrategy)
    status_keeps_metadata = ("labels",)

    def default(self, obj: Obj) -> None:
        spec = spec_of(obj)
        spec.setdefault("replicas", 1)
        strategy = spec.setdefault("strategy", {})
        if isinstance(strategy, dict):
            strategy.setdefault("type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate":
                rolling = strategy.setdefault("rollingUpdate", {})
                if isinstance(rolling, dict):
                    rolling.setdefault("maxUnavailable", "25%")
                    rolling.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        templates.default_template(spec.setdefault("template", {}))

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        """Annotations count too: the controller copies them into the ReplicaSets."""
        return super().spec_changed(new, old) or semantic(new["metadata"].get("annotations")) != semantic(
            old["metadata"].get("annotations"))

    def validate(self, obj: Obj) -> Causes:
        spec = obj.get("spec") or {}
        causes = validation.nonnegative("spec.replicas", spec.get("replicas", 0))
        causes += validate_selected_template(spec, "spec")
        causes += _validate_deployment_strategy(spec.get("strategy") or {}, "spec.strategy")
        causes += _nonnegative_fields(spec, "spec", ("minReadySeconds",))
        if spec.get("revisionHistoryLimit") is not None:
            causes += validation.nonnegative("spec.revisionHistoryLimit", spec["revisionHistoryLimit"])
        if isinstance(spec.get("rollbackTo"), dict):
            causes += validation.nonnegative("spec.rollback.version", spec["rollbackTo"].get("revision", 0))
        deadline = spec.get("progressDeadlineSeconds")
        if deadline is not None:
            causes += validation.nonnegative("spec.progressDeadlineSeconds", deadline)
            if deadline <= spec.get("minReadySeconds", 0):
                causes.append(errors.field_invalid("spec.progressDeadlineSeconds", deadline,
                                                   "must be greater than minReadySeconds"))
        return causes

    def validate_status_update(self, new: Obj, old: Obj) -> Causes:
        status = new.get("status") or {}
        causes = _nonnegative_fields(status, "status", ("observedGeneration", "replicas", "updatedReplicas",
                                                        "readyReplicas", "availableReplicas",
                                                        "unavailableReplicas", "terminatingReplicas",
                                                        "collisionCount"))
        causes += _not_above_replicas(status, ("updatedReplicas", "readyReplicas", "availableReplicas"))
        return causes + _collision_count(new, old)

    def table_columns(self) -> list[dict[str, Any]]:
        status = "io.k8s.api.apps.v1.DeploymentStatus"
        return [tables.column("Ready", description="Number of the pod with ready state"),
                tables.column("Up-to-date", description=templates.doc(status, "updatedReplicas")),
                tables.column("Available", description=templates.doc(status, "availableReplicas")),
                tables.AGE_COLUMN, *WIDE_COLUMNS,
                tables.column("Selector", priority=1,
                              description=templates.doc("io.k8s.api.apps.v1.DeploymentSpec", "selector"))]

    def table_cells(self, obj: Obj) -> list[Any]:
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        return [f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}", status.get("updatedReplicas", 0),
                status.get("availableReplicas", 0), tables.age(obj),
                *templates.container_cells(spec.get("template")), templates.selector_string(spec.get("selector"))]


WIDE_COLUMNS = [tables.column("Containers", priority=1, description="Names of each container in the template."),
                tables.column("Images", priority=1, description="Images referenced by each container in the template.")]


def replica_columns(spec_definition: str, status_definition: str) -> list[dict[str, Any]]:
    """DESIRED CURRENT READY AGE (+ CONTAINERS IMAGES SELECTOR): ReplicaSets' and ReplicationControllers'."""
    return [tables.column("Desired", "integer", description=templates.doc(spec_definition, "replicas")),
            tables.column("Current", "integer", description=templates.doc(status_definition, "replicas")),
            tables.column("Ready", "integer", description=templates.doc(status_definition, "readyReplicas")),
            tables.AGE_COLUMN, *WIDE_COLUMNS,
            tables.column("Selector", priority=1, description=templates.doc(spec_definition, "selector"))]


class ReplicaSetStrategy(ReplicasScale, WorkloadStrategy):
    def default(self, obj: Obj) -> None:
        spec = spec_of(obj)
        spec.setdefault("replicas", 1)
        templates.default_template(spec.setdefault("template", {}))

    def validate(self, obj: Obj) -> Causes:
        spec = obj.get("spec") or {}
        causes = _nonnegative_fields(spec, "spec", ("replicas", "minReadySeconds"))
        return causes + validate_selected_template(spec, "spec")

    def validate_status_update(self, new: Obj, old: Obj) -> Causes:
        status = new.get("status") or {}
        causes = _nonnegative_fields(status, "status", ("replicas", "fullyLabeledReplicas", "readyReplicas",
                                                        "availableReplicas", "observedGeneration",
                                                        "terminatingReplicas"))
        return causes + _not_above_replicas(status, ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"))

    def table_columns(self) -> list[dict[str, Any]]:
        return replica_columns("io.k8s.api.apps.v1.ReplicaSetSpec", "io.k8s.api.apps.v1.ReplicaSetStatus")

    def table_cells(self, obj: Obj) -> list[Any]:
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        return [spec.get("replicas", 0), status.get("replicas", 0), status.get("readyReplicas", 0), tables.age(obj),
                *templates.container_cells(spec.get("template")),
                validation.format_label_selector(spec.get("selector"))]
