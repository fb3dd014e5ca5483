"""What every workload kind shares: its pod template (defaulted and validated as a pod's spec is), its selector
(which must select the template's labels), its Table cells, its replica count seen as an autoscaling/v1 Scale."""
from __future__ import annotations

from typing import Any

from shim.machinery import errors, schemas, validation
from shim.machinery.labels import selector_from_match
from shim.registry.kinds.pods import PodStrategy, default_pod_spec
from shim.registry.strategy import Causes, Obj

_PODS = PodStrategy()
MISMATCH = "`selector` does not match template `labels`"


def doc(definition: str, field: str) -> str:
    """A field's documentation in the built-in schema: what upstream's printers describe their columns with."""
    found = schemas.definition(definition) or {}
    return str(((found.get("properties") or {}).get(field) or {}).get("description", ""))


def spec_of(obj: Obj) -> Obj:
    """obj["spec"] as a dict (created when absent; the typed decoding already refused any other type)."""
    spec = obj.setdefault("spec", {})
    return spec if isinstance(spec, dict) else {}


def default_template(template: Any) -> None:
    """A pod template's spec gets the defaults of every pod spec (not SetDefaults_Pod's own)."""
    if isinstance(template, dict):
        spec = template.setdefault("spec", {})
        if isinstance(spec, dict):
            default_pod_spec(spec)


def validate_template(template: Any, path: str) -> Causes:
    """ValidatePodTemplateSpec at `path`: its labels and annotations, and its spec judged as a pod's is."""
    template = template if isinstance(template, dict) else {}
    meta = template.get("metadata") or {}
    causes = validation.labels(f"{path}.metadata.labels", meta.get("labels"))
    for cause in _PODS.validate({"spec": template.get("spec") or {}}):
        field = cause.get("field", "")
        cause = dict(cause)
        cause["field"] = f"{path}.spec{field[len('spec'):]}" if field.startswith("spec") else field
        causes.append(cause)
    return causes


def selects_template(selector: Obj, template: Any) -> bool:
    """Whether a selector that converts selects the template's labels (an empty one selects everything)."""
    labels = ((template if isinstance(template, dict) else {}).get("metadata") or {}).get("labels")
    matcher = selector_from_match(selector.get("matchLabels"), selector.get("matchExpressions"))
    return matcher.empty or matcher.matches(labels or {})


def replica_set_template(template: Any, path: str) -> Causes:
    """ValidatePodTemplateSpecForReplicaSet beyond the selector: pods that always restart, with no deadline."""
    spec = ((template if isinstance(template, dict) else {}).get("spec")) or {}
    causes: Causes = []
    policy = spec.get("restartPolicy")
    if policy != "Always" and policy in ("OnFailure", "Never"):
        causes.append(errors.field_not_supported(f"{path}.spec.restartPolicy", policy, ["Always"]))
    if spec.get("activeDeadlineSeconds") is not None:
        causes.append(errors.field_forbidden(f"{path}.spec.activeDeadlineSeconds",
                                             "activeDeadlineSeconds in ReplicaSet is not Supported"))
    return causes


def selector_string(selector: Any) -> str:
    """labels.Selector.String() of a metav1.LabelSelector: requirements sorted by key, "" when empty."""
    if not isinstance(selector, dict):
        return ""
    parts = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for requirement in selector.get("matchExpressions") or []:
        key, operator = requirement.get("key", ""), requirement.get("operator", "")
        values = ",".join(sorted(requirement.get("values") or []))
        text = {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key,
                "DoesNotExist": f"!{key}"}.get(operator, "")
        parts.append((key, text))
    return ",".join(text for _, text in sorted(parts, key=lambda p: p[0]))


def container_cells(template: Any) -> list[str]:
    """The CONTAINERS and IMAGES cells of `-o wide` (layoutContainerCells)."""
    spec = ((template if isinstance(template, dict) else {}).get("spec")) or {}
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    return [",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)]


class ReplicasScale:
    """spec.replicas seen and written as an autoscaling/v1 Scale (the apps kinds' and ReplicationController's
    scale subresource: scaleFromDeployment & co.)."""

    def scale_selector(self, obj: Obj) -> str:
        return selector_string((obj.get("spec") or {}).get("selector"))

    def scale(self, obj: Obj) -> Obj:
        meta = obj["metadata"]
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                             if k in meta},
                "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
                "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                           "selector": self.scale_selector(obj)}}

    def set_scale(self, obj: Obj, scale: Obj) -> Obj:
        """ValidateScale, then the Scale's replicas (and resourceVersion precondition) written into the object."""
        replicas = (scale.get("spec") or {}).get("replicas", 0)
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.invalid("Scale", obj["metadata"]["name"], validation.nonnegative("spec.replicas", replicas)
                                 or [errors.field_invalid("spec.replicas", replicas, validation.NEGATIVE)],
                                 "autoscaling")
        spec_of(obj)["replicas"] = replicas
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv:
            obj["metadata"]["resourceVersion"] = rv
        return obj
