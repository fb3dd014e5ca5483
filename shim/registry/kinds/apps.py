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


def _only_always_restart(template: Any, path: str, kind: str) -> Causes:
    """StatefulSet's and DaemonSet's own restartPolicy and activeDeadlineSeconds rules for their template."""
    spec = ((template if isinstance(template, dict) else {}).get("spec")) or {}
    causes: Causes = []
    if spec.get("restartPolicy") != "Always":
        causes.append(errors.field_not_supported(f"{path}.spec.restartPolicy", spec.get("restartPolicy", ""),
                                                 ["Always"]))
    if spec.get("activeDeadlineSeconds") is not None:
        causes.append(errors.field_forbidden(f"{path}.spec.activeDeadlineSeconds",
                                             f"activeDeadlineSeconds in {kind} is not Supported"))
    return causes


def _with_claim_volumes(template: Any, claims: list[Any]) -> Any:
    """The template as the StatefulSet controller completes it: a volume per claim template (validated so that
    mounts of claims resolve), no hostname or subdomain."""
    if not isinstance(template, dict) or not isinstance(template.get("spec"), dict):
        return template
    spec = dict(template["spec"])
    spec.pop("hostname", None)
    spec.pop("subdomain", None)
    names = [c["metadata"]["name"] for c in claims if isinstance(c, dict) and (c.get("metadata") or {}).get("name")]
    spec["volumes"] = [{"name": n, "persistentVolumeClaim": {"claimName": n}} for n in names] + [
        v for v in spec.get("volumes") or [] if not (isinstance(v, dict) and v.get("name") in names)]
    return {**template, "spec": spec}


def _rolling_update(obj: Obj | None) -> Obj:
    rolling = (((obj or {}).get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate")
    return rolling if isinstance(rolling, dict) else {}


def _drop_max_unavailable(new: Obj, old: Obj | None) -> None:
    """updateStrategy.rollingUpdate.maxUnavailable belongs to the MaxUnavailableStatefulSet gate, off in v1.34:
    dropped unless the stored object already uses it (dropStatefulSetDisabledFields)."""
    if "maxUnavailable" not in _rolling_update(old):
        _rolling_update(new).pop("maxUnavailable", None)


#: what a StatefulSet update may change in its spec (ValidateStatefulSetUpdate)
_STS_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
                "persistentVolumeClaimRetentionPolicy", "minReadySeconds")
_RETENTION = ["Retain", "Delete"]


class StatefulSetStrategy(ReplicasScale, WorkloadStrategy):
    def validate_name(self, name: str) -> list[str]:
        return validation.dns1123_label(name)

    def default(self, obj: Obj) -> None:
        spec = spec_of(obj)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        strategy = spec.setdefault("updateStrategy", {})
        if isinstance(strategy, dict):
            if not strategy.get("type"):
                strategy["type"] = "RollingUpdate"
                strategy.setdefault("rollingUpdate", {})
            if strategy["type"] == "RollingUpdate" and isinstance(strategy.get("rollingUpdate"), dict):
                strategy["rollingUpdate"].setdefault("partition", 0)
        retention = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
        if isinstance(retention, dict):
            retention.setdefault("whenDeleted", "Retain")
            retention.setdefault("whenScaled", "Retain")
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        templates.default_template(spec.setdefault("template", {}))
        for claim in spec.get("volumeClaimTemplates") or []:
            if isinstance(claim, dict):
                claim.setdefault("apiVersion", "v1")
                claim.setdefault("kind", "PersistentVolumeClaim")
                claim_spec = claim.setdefault("spec", {})
                if isinstance(claim_spec, dict):
                    claim_spec.setdefault("volumeMode", "Filesystem")
                claim.setdefault("status", {}).setdefault("phase", "Pending")

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        _drop_max_unavailable(obj, None)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        _drop_max_unavailable(new, old)

    def validate(self, obj: Obj) -> Causes:
        return self._validate_spec(obj.get("spec") or {}, lenient=False)

    def _validate_spec(self, spec: Obj, lenient: bool) -> Causes:
        """ValidateStatefulSetSpec; `lenient` on update (serviceName and claim templates are immutable)."""
        causes: Causes = []
        policy = spec.get("podManagementPolicy", "")
        if not policy:
            causes.append(errors.field_required("spec.podManagementPolicy"))
        elif policy not in ("OrderedReady", "Parallel"):
            causes.append(errors.field_invalid("spec.podManagementPolicy", policy,
                                               "must be 'OrderedReady' or 'Parallel'"))
        causes += self._validate_update_strategy(spec.get("updateStrategy") or {})
        retention = spec.get("persistentVolumeClaimRetentionPolicy")
        if isinstance(retention, dict):
            for field in ("whenDeleted", "whenScaled"):
                if retention.get(field, "") not in _RETENTION:
                    causes.append(errors.field_not_supported(f"spec.persistentVolumeClaimRetentionPolicy.{field}",
                                                             retention.get(field, ""), _RETENTION))
        causes += _nonnegative_fields(spec, "spec", ("replicas", "minReadySeconds"))
        if isinstance(spec.get("ordinals"), dict):
            causes += validation.nonnegative("spec.ordinals.start", spec["ordinals"].get("start", 0))
        service = spec.get("serviceName") or ""
        if service and not lenient:
            causes += [errors.field_invalid("spec.serviceName", service, p) for p in validation.dns1123_label(service)]
        selector, template = spec.get("selector"), spec.get("template")
        labels = ((template if isinstance(template, dict) else {}).get("metadata") or {}).get("labels")
        mismatch = validation.invalid_rendered("spec.template.metadata.labels", render(labels), templates.MISMATCH)
        if selector is None:
            causes += [errors.field_required("spec.selector"), mismatch]
        else:
            selector_causes = validation.label_selector("spec.selector", selector)
            causes += selector_causes
            if not (selector.get("matchLabels") or selector.get("matchExpressions")):
                causes.append(validation.invalid_rendered("spec.selector", selector_json(selector),
                                                          "empty selector is invalid for statefulset"))
            if selector_causes:
                causes.append({"reason": "FieldValueInvalid", "field": "spec.selector",
                               "message": f"Invalid value: {selector_json(selector)}"})
            elif not templates.selects_template(selector, template):
                causes.append(mismatch)
        if selector is None or not validation.label_selector("spec.selector", selector):
            checked = _with_claim_volumes(template, spec.get("volumeClaimTemplates") or [])
            causes += templates.validate_template(checked, "spec.template")
            causes += validation.labels("spec.template.labels", labels)
        return causes + _only_always_restart(template, "spec.template", "StatefulSet")

    @staticmethod
    def _validate_update_strategy(strategy: Obj) -> Causes:
        kind, rolling = strategy.get("type", ""), strategy.get("rollingUpdate")
        path = "spec.updateStrategy"
        if not kind:
            return [errors.field_required(path)]
        if kind == "OnDelete":
            if rolling is not None:
                return [validation.invalid_rendered(f"{path}.rollingUpdate", validation.go_json(
                    {"Partition": rolling.get("partition", 0), "MaxUnavailable": rolling.get("maxUnavailable")}),
                    "only allowed for updateStrategy 'RollingUpdate'")]
            return []
        if kind == "RollingUpdate":
            if not isinstance(rolling, dict):
                return []
            causes = validation.nonnegative(f"{path}.rollingUpdate.partition", rolling.get("partition", 0))
            unavailable = rolling.get("maxUnavailable")
            if unavailable is not None:
                unavailable_path = f"{path}.rollingUpdate.maxUnavailable"
                causes += [c for c in validation.int_or_percent(unavailable_path, unavailable)
                           if "100%" not in c["message"]]
                if _percent_value(unavailable) == 0:
                    causes.append(errors.field_invalid(unavailable_path, unavailable, "cannot be 0"))
                if isinstance(unavailable, str) and _percent_value(unavailable) > 100:
                    causes.append(errors.field_invalid(unavailable_path, unavailable, "must not be greater than 100%"))
            return causes
        rendered = validation.go_json({"Type": kind, "RollingUpdate": None if rolling is None else {
            "Partition": rolling.get("partition", 0), "MaxUnavailable": rolling.get("maxUnavailable")}})
        return [validation.invalid_rendered(path, rendered, "must be 'RollingUpdate' or 'OnDelete'")]

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
        causes = self._validate_spec(spec, lenient=True)
        if self._validate_spec(old_spec, lenient=True):
            causes = [c for c in causes if not c.get("field", "").startswith("spec.template.")
                      or "`selector`" in c["message"] or c["field"].endswith(("restartPolicy", "DeadlineSeconds"))]
        rest = {k: v for k, v in spec.items() if k not in _STS_MUTABLE}
        old_rest = {k: v for k, v in old_spec.items() if k not in _STS_MUTABLE}
        if semantic(rest) != semantic(old_rest):
            causes.append(errors.field_forbidden("spec", "updates to statefulset spec for fields other than "
                                                 "'replicas', 'ordinals', 'template', 'updateStrategy', "
                                                 "'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' "
                                                 "and 'minReadySeconds' are forbidden"))
        return causes

    def validate_status_update(self, new: Obj, old: Obj) -> Causes:
        status = new.get("status") or {}
        causes = _nonnegative_fields(status, "status", ("replicas", "readyReplicas", "currentReplicas",
                                                        "updatedReplicas", "availableReplicas",
                                                        "observedGeneration", "collisionCount"))
        replicas = status.get("replicas", 0)
        causes += [errors.field_invalid(f"status.{field}", status.get(field, 0),
                                        "cannot be greater than status.replicas")
                   for field in ("readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas")
                   if status.get(field, 0) > replicas]
        if status.get("availableReplicas", 0) > status.get("readyReplicas", 0):
            causes.append(errors.field_invalid("status.availableReplicas", status.get("availableReplicas", 0),
                                               "cannot be greater than status.readyReplicas"))
        return causes + _collision_count(new, old)

    def warnings(self, obj: Obj, old: Obj | None) -> list[str]:
        limit = (obj.get("spec") or {}).get("revisionHistoryLimit")
        if isinstance(limit, int) and limit < 0:
            return ["spec.revisionHistoryLimit: a negative value retains all historical revisions; a value >= 0 "
                    "is recommended"]
        return []

    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("Ready", description="Number of the pod with ready state"), tables.AGE_COLUMN,
                *WIDE_COLUMNS]

    def table_cells(self, obj: Obj) -> list[Any]:
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        return [f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}", tables.age(obj),
                *templates.container_cells(spec.get("template"))]


#: the annotation apps/v1 keeps the internal spec.templateGeneration in
TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"


def _template_generation(obj: Obj) -> int:
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(TEMPLATE_GENERATION, "0")
    return int(value) if str(value).isdigit() else 0


def _set_template_generation(obj: Obj, generation: int) -> None:
    meta = obj.setdefault("metadata", {})
    meta["annotations"] = {**(meta.get("annotations") or {}), TEMPLATE_GENERATION: str(generation)}


class DaemonSetStrategy(WorkloadStrategy):
    def warnings(self, obj: Obj, old: Obj | None) -> list[str]:
        """Upstream's DaemonSet strategy has no name warning (its pods are named by generateName)."""
        return []

    def default(self, obj: Obj) -> None:
        spec = spec_of(obj)
        strategy = spec.setdefault("updateStrategy", {})
        if isinstance(strategy, dict):
            strategy.setdefault("type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate":
                rolling = strategy.setdefault("rollingUpdate", {})
                if isinstance(rolling, dict):
                    rolling.setdefault("maxUnavailable", 1)
                    rolling.setdefault("maxSurge", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        templates.default_template(spec.setdefault("template", {}))

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        _set_template_generation(obj, max(1, _template_generation(obj)))

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """The template generation (an annotation in apps/v1) is the server's: bumped with the template."""
        super().prepare_for_update(new, old)
        generation = _template_generation(old)
        changed = semantic((new.get("spec") or {}).get("template")) != semantic((old.get("spec") or {}).get(
            "template"))
        _set_template_generation(new, generation + 1 if changed else generation)

    def validate(self, obj: Obj) -> Causes:
        spec = obj.get("spec") or {}
        selector, template = spec.get("selector"), spec.get("template")
        causes = validation.label_selector("spec.selector", selector)
        labels = ((template if isinstance(template, dict) else {}).get("metadata") or {}).get("labels")
        if not causes and (selector is None or not templates.selects_template(selector, template)):
            causes.append(validation.invalid_rendered("spec.template.metadata.labels", render(labels),
                                                      templates.MISMATCH))
        if isinstance(selector, dict) and not (selector.get("matchLabels") or selector.get("matchExpressions")):
            causes.append(validation.invalid_rendered("spec.selector", selector_json(selector),
                                                      "empty selector is invalid for daemonset"))
        causes += templates.validate_template(template, "spec.template")
        causes += _only_always_restart(template, "spec.template", "DaemonSet")
        causes += validation.nonnegative("spec.minReadySeconds", spec.get("minReadySeconds", 0))
        causes += self._validate_update_strategy(spec.get("updateStrategy") or {})
        if spec.get("revisionHistoryLimit") is not None:
            causes += validation.nonnegative("spec.revisionHistoryLimit", spec["revisionHistoryLimit"])
        return causes

    @staticmethod
    def _validate_update_strategy(strategy: Obj) -> Causes:
        kind, path = strategy.get("type", ""), "spec.updateStrategy"
        if kind == "OnDelete":
            return []
        if kind == "RollingUpdate":
            rolling = strategy.get("rollingUpdate")
            if not isinstance(rolling, dict):
                return [errors.field_required(f"{path}.rollingUpdate")]
            unavailable, surge = rolling.get("maxUnavailable", 0), rolling.get("maxSurge", 0)
            causes: Causes = []
            for field, value in (("maxUnavailable", unavailable), ("maxSurge", surge)):
                causes += [c for c in validation.int_or_percent(f"{path}.rollingUpdate.{field}", value)
                           if "100%" not in c["message"]]
            for field, value in (("maxUnavailable", unavailable), ("maxSurge", surge)):
                if isinstance(value, str) and _percent_value(value) > 100:
                    causes.append(errors.field_invalid(f"{path}.rollingUpdate.{field}", value,
                                                       "must not be greater than 100%"))
            has_unavailable, has_surge = _percent_value(unavailable) != 0, _percent_value(surge) != 0
            if has_unavailable and has_surge:
                causes.append(errors.field_invalid(f"{path}.rollingUpdate.maxSurge", surge,
                                                   "may not be set when maxUnavailable is non-zero"))
            elif not has_unavailable and not has_surge:
                causes.append(errors.field_required(f"{path}.rollingUpdate.maxUnavailable",
                                                    "cannot be 0 when maxSurge is 0"))
            return causes
        rolling = strategy.get("rollingUpdate")
        rendered = validation.go_json({"Type": kind, "RollingUpdate": None if rolling is None else {
            "MaxUnavailable": rolling.get("maxUnavailable", 0), "MaxSurge": rolling.get("maxSurge", 0)}})
        values = '"RollingUpdate", "OnDelete"'
        return [{"reason": "FieldValueNotSupported", "field": path,
                 "message": f"Unsupported value: {rendered}: supported values: {values}"}]

    def validate_status_update(self, new: Obj, old: Obj) -> Causes:
        causes = _nonnegative_fields(new.get("status") or {}, "status", (
            "currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady",
            "observedGeneration", "updatedNumberScheduled", "numberAvailable", "numberUnavailable",
            "collisionCount"))
        return causes + _collision_count(new, old)

    def table_columns(self) -> list[dict[str, Any]]:
        status = "io.k8s.api.apps.v1.DaemonSetStatus"
        return [tables.column("Desired", "integer", description=templates.doc(status, "desiredNumberScheduled")),
                tables.column("Current", "integer", description=templates.doc(status, "currentNumberScheduled")),
                tables.column("Ready", "integer", description=templates.doc(status, "numberReady")),
                tables.column("Up-to-date", "integer", description=templates.doc(status, "updatedNumberScheduled")),
                tables.column("Available", "integer", description=templates.doc(status, "numberAvailable")),
                tables.column("Node Selector",
                              description=templates.doc("io.k8s.api.core.v1.PodSpec", "nodeSelector")),
                tables.AGE_COLUMN, *WIDE_COLUMNS,
                tables.column("Selector", priority=1,
                              description=templates.doc("io.k8s.api.apps.v1.DaemonSetSpec", "selector"))]

    def table_cells(self, obj: Obj) -> list[Any]:
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        template = spec.get("template") or {}
        node_selector = (template.get("spec") or {}).get("nodeSelector") or {}
        return [status.get("desiredNumberScheduled", 0), status.get("currentNumberScheduled", 0),
                status.get("numberReady", 0), status.get("updatedNumberScheduled", 0),
                status.get("numberAvailable", 0),
                ",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or "<none>", tables.age(obj),
                *templates.container_cells(template), validation.format_label_selector(spec.get("selector"))]


class ControllerRevisionStrategy(Strategy):
    """Immutable snapshots of a controller's template: no status, no generation, data required and fixed."""

    tracks_generation = False

    def validate(self, obj: Obj) -> Causes:
        causes = validation.nonnegative("revision", obj.get("revision", 0))
        data = obj.get("data")
        if data is None:
            causes.append(errors.field_required("data", "data is mandatory"))
        elif not isinstance(data, dict):
            causes.append(errors.field_required("data", "data must be a valid JSON object"))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        causes = validation.nonnegative("revision", new.get("revision", 0))
        if new.get("data") != old.get("data"):
            causes.append(validation.invalid_rendered("data", validation.go_json(new.get("data")),
                                                      validation.IMMUTABLE))
        return causes

    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("Controller", description="Controller of the object"),
                tables.column("Revision",
                              description=templates.doc("io.k8s.api.apps.v1.ControllerRevision", "revision")),
                tables.AGE_COLUMN]

    def table_cells(self, obj: Obj) -> list[Any]:
        owner = next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
        controller = "<none>"
        if owner is not None:
            group = owner.get("apiVersion", "").split("/")[0] if "/" in owner.get("apiVersion", "") else ""
            kind = owner.get("kind", "").lower()
            controller = f"{kind}.{group}/{owner.get('name', '')}" if group else f"{kind}/{owner.get('name', '')}"
        return [controller, obj.get("revision", 0), tables.age(obj)]
