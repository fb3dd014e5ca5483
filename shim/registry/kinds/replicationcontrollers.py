"""core/v1 ReplicationControllers: the selector and labels defaulted from the template (SetDefaults_
ReplicationController), validation as pkg/apis/core/validation has it (a plain label map for a selector), the
status and scale subresources. The replication controller acts on them elsewhere."""
from __future__ import annotations

from typing import Any

from shim.machinery import errors, tables, validation
from shim.registry.kinds import templates
from shim.registry.kinds.apps import WorkloadStrategy, render, replica_columns
from shim.registry.kinds.templates import ReplicasScale, spec_of
from shim.registry.strategy import Causes, Obj


def _format_labels(labels: Any) -> str:
    """labels.FormatLabels: sorted key=value pairs, `<none>` when empty."""
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())) or "<none>"


class ReplicationControllerStrategy(ReplicasScale, WorkloadStrategy):
    field_labels = frozenset({"metadata.name", "metadata.namespace", "status.replicas"})

    def default(self, obj: Obj) -> None:
        spec = spec_of(obj)
        spec.setdefault("replicas", 1)
        template = spec.get("template")
        if not isinstance(template, dict):
            return
        templates.default_template(template)
        labels = (template.get("metadata") or {}).get("labels")
        if isinstance(labels, dict):
            if not spec.get("selector"):
                spec["selector"] = dict(labels)
            meta = obj.setdefault("metadata", {})
            if not meta.get("labels"):
                meta["labels"] = dict(labels)

    def validate(self, obj: Obj) -> Causes:
        spec = obj.get("spec") or {}
        causes = validation.nonnegative("spec.minReadySeconds", spec.get("minReadySeconds", 0))
        selector = spec.get("selector") or {}
        if not selector:
            causes.append(errors.field_required("spec.selector"))
        if spec.get("replicas") is None:
            causes.append(errors.field_required("spec.replicas"))
        else:
            causes += validation.nonnegative("spec.replicas", spec["replicas"])
        template = spec.get("template")
        if template is None:
            return causes + [errors.field_required("spec.template")]
        labels = (template.get("metadata") or {}).get("labels") or {}
        if selector and any(labels.get(k) != v for k, v in selector.items()):
            causes.append(validation.invalid_rendered("spec.template.metadata.labels",
                                                      render((template.get("metadata") or {}).get("labels")),
                                                      templates.MISMATCH))
        causes += templates.validate_template(template, "spec.template")
        pod_spec = template.get("spec") or {}
        if pod_spec.get("restartPolicy") != "Always":
            causes.append(errors.field_not_supported("spec.template.spec.restartPolicy",
                                                     pod_spec.get("restartPolicy", ""), ["Always"]))
        if pod_spec.get("activeDeadlineSeconds") is not None:
            causes.append(errors.field_forbidden("spec.template.spec.activeDeadlineSeconds",
                                                 "activeDeadlineSeconds in ReplicationController is not Supported"))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        """The selector of a ReplicationController may change."""
        return self.validate(new)

    def validate_status_update(self, new: Obj, old: Obj) -> Causes:
        status = new.get("status") or {}
        causes: Causes = []
        for field in ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas", "observedGeneration"):
            causes += validation.nonnegative(f"status.{field}", status.get(field, 0))
        replicas = status.get("replicas", 0)
        causes += [errors.field_invalid(f"status.{field}", status.get(field, 0),
                                        "cannot be greater than status.replicas")
                   for field in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas")
                   if status.get(field, 0) > replicas]
        if status.get("availableReplicas", 0) > status.get("readyReplicas", 0):
            causes.append(errors.field_invalid("status.availableReplicas", status.get("availableReplicas", 0),
                                               "cannot be greater than readyReplicas"))
        return causes

    def scale_selector(self, obj: Obj) -> str:
        """labels.SelectorFromSet(spec.selector).String()."""
        return ",".join(f"{k}={v}" for k, v in sorted(((obj.get("spec") or {}).get("selector") or {}).items()))

    def fields(self, obj: Obj) -> dict[str, str]:
        return {**super().fields(obj), "status.replicas": str((obj.get("status") or {}).get("replicas", 0))}

    def table_columns(self) -> list[dict[str, Any]]:
        return replica_columns("io.k8s.api.core.v1.ReplicationControllerSpec",
                               "io.k8s.api.core.v1.ReplicationControllerStatus")

    def table_cells(self, obj: Obj) -> list[Any]:
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        return [spec.get("replicas", 0), status.get("replicas", 0), status.get("readyReplicas", 0), tables.age(obj),
                *templates.container_cells(spec.get("template")), _format_labels(spec.get("selector"))]
