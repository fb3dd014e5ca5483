"""RuntimeClasses (node.k8s.io/v1), and what the RuntimeClass admission plugin does to a pod naming one
(plugin/pkg/admission/runtimeclass): the class must exist, its overhead is copied into the pod and its
scheduling merged into the pod's node selector and tolerations. kubeshim runs every pod the same way whatever
its handler."""
from __future__ import annotations

from typing import Any

from shim.machinery import errors, names, quantity, tables, validation
from shim.registry.strategy import Causes, NoStatusStrategy, Obj, Stored

STORAGE = "node.k8s.io/runtimeclasses"
_STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage")
_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
#: core.Toleration, as upstream prints it in a Duplicate cause (validation.go_struct)
_TOLERATION = [("Key", "key", ""), ("Operator", "operator", ""), ("Value", "value", ""), ("Effect", "effect", ""),
               ("TolerationSeconds", "tolerationSeconds", None)]
#: standardResources of core's helper: what a resource name may be without a domain
_STANDARD_NAMES = frozenset({
    "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage",
    "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods", "resourcequotas", "services",
    "replicationcontrollers", "secrets", "configmaps", "persistentvolumeclaims", "storage", "requests.storage",
    "services.nodeports", "services.loadbalancers"})


def validate_tolerations(path: str, tolerations: Any) -> Causes:
    """core ValidateTolerations."""
    causes: Causes = []
    for i, t in enumerate(tolerations or []):
        if not isinstance(t, dict):
            continue
        at = f"{path}[{i}]"
        key, operator, value, effect = t.get("key", ""), t.get("operator", ""), t.get("value", ""), t.get("effect", "")
        if key:
            causes += [errors.field_invalid(f"{at}.key", key, p) for p in names.label_key(key)]
        if not key and operator != "Exists":
            causes.append(errors.field_invalid(f"{at}.operator", operator, "operator must be Exists when `key` is "
                                               "empty, which means \"match all values and all keys\""))
        if t.get("tolerationSeconds") is not None and effect != "NoExecute":
            causes.append(errors.field_invalid(f"{at}.effect", effect,
                                               "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if operator in ("Equal", ""):
            problems = names.label_value(value)
            if problems:
                causes.append(errors.field_invalid(f"{at}.operator", value, ";".join(problems)))
        elif operator == "Exists":
            if value:
                causes.append(errors.field_invalid(f"{at}.operator", value,
                                                   "value must be empty when `operator` is 'Exists'"))
        else:
            causes.append(errors.field_not_supported(f"{at}.operator", operator, ["Equal", "Exists"]))
        if effect and effect not in _EFFECTS:
            causes.append(errors.field_not_supported(f"{at}.effect", effect, _EFFECTS))
    return causes


def _validate_overhead(pod_fixed: Any) -> Causes:
    """The overhead as a container's limits (upstream validates it so, hence the `limits` in the path)."""
    causes: Causes = []
    for name, value in (pod_fixed or {}).items() if isinstance(pod_fixed, dict) else ():
        path = f"overhead.limits[{name}]"
        causes += [errors.field_invalid(path, name, p) for p in names.label_key(name)]
        if "/" not in name and not names.label_key(name):
            if name not in _STANDARD_NAMES and not name.startswith(("hugepages-", "requests.hugepages-")):
                causes.append(errors.field_invalid(path, name, "must be a standard resource type or fully qualified"))
            if name not in _STANDARD_RESOURCES and not name.startswith("hugepages-"):
                causes.append(errors.field_invalid(path, name, "must be a standard resource for containers"))
        problem = quantity.syntax_error(value)
        if problem:
            causes.append(errors.field_invalid(path, value, problem))
        elif quantity.parse(value) < 0:
            causes.append(errors.field_invalid(path, str(value), validation.NEGATIVE))
    return causes


class RuntimeClassStrategy(NoStatusStrategy):
    def validate(self, obj: Obj) -> Causes:
        handler = obj.get("handler", "")
        causes = [errors.field_invalid("handler", handler, p) for p in validation.dns1123_label(str(handler))]
        overhead = obj.get("overhead")
        if isinstance(overhead, dict):
            causes += _validate_overhead(overhead.get("podFixed"))
        scheduling = obj.get("scheduling")
        if isinstance(scheduling, dict):
            if scheduling.get("nodeSelector") is not None:
                causes += validation.labels("scheduling.nodeSelector", scheduling["nodeSelector"])
            # upstream names the list twice in this path (validateTolerations adds its own child)
            causes += validate_tolerations("scheduling.tolerations.tolerations", scheduling.get("tolerations"))
            seen: list[tuple[Any, ...]] = []
            for i, t in enumerate(scheduling.get("tolerations") or []):
                key = tuple((t or {}).get(k, "") for k in ("key", "operator", "value", "effect"))
                if key in seen:
                    causes.append({"reason": "FieldValueDuplicate", "field": f"scheduling.tolerations[{i}]",
                                   "message": f"Duplicate value: {validation.go_struct(t, _TOLERATION)}"})
                seen.append(key)
        return causes

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        return self.validate(new) + validation.immutable("handler", new.get("handler"), old.get("handler"))

    def table_columns(self) -> list[dict[str, Any]]:
        # upstream describes Handler with ObjectMeta's (absent) doc of `handler`: empty
        return [tables.column("Handler")]

    def table_cells(self, obj: Obj) -> list[Any]:
        return [obj.get("handler", "")]


def _tolerates_superset(ss: Obj, t: Obj) -> bool:
    """Whether toleration `ss` tolerates everything `t` does (upstream's isSuperset)."""
    if ss == t:
        return True
    if t.get("key", "") != ss.get("key", "") and (ss.get("key", "") or ss.get("operator") != "Exists"):
        return False
    if t.get("effect", "") != ss.get("effect", "") and ss.get("effect", ""):
        return False
    if ss.get("effect") == "NoExecute" and ss.get("tolerationSeconds") is not None:
        if t.get("tolerationSeconds") is None or t["tolerationSeconds"] > ss["tolerationSeconds"]:
            return False
    if ss.get("operator", "") in ("Equal", ""):
        return t.get("operator") == "Equal" and t.get("value", "") == ss.get("value", "")
    return ss.get("operator") == "Exists"


def merge_tolerations(first: list[Obj], second: list[Obj]) -> list[Obj]:
    """Both lists without the tolerations another one already covers (pkg/util/tolerations)."""
    every = first + second
    merged: list[Obj] = []
    for i, t in enumerate(every):
        if any(_tolerates_superset(m, t) for m in merged):
            continue
        if any(t != later and _tolerates_superset(later, t) for later in every[i + 1:]):
            continue
        merged.append(t)
    return merged


def admit_pod_runtime_class(pod: Obj, stored: Stored) -> None:
    """A new pod naming a RuntimeClass: refused when there is none by that name; else the class's overhead and
    scheduling constraints are the pod's."""
    spec = pod.get("spec")
    if not isinstance(spec, dict) or spec.get("runtimeClassName") is None:
        if isinstance(spec, dict) and spec.get("overhead") is not None:
            raise _refused(pod, "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead")
        return
    class_name = spec["runtimeClassName"]
    runtime_class = stored.get(STORAGE, "", class_name)
    if runtime_class is None:
        raise _refused(pod, f'pod rejected: RuntimeClass "{class_name}" not found')
    pod_fixed = (runtime_class.get("overhead") or {}).get("podFixed")
    if pod_fixed is not None:
        if spec.get("overhead") and spec["overhead"] != pod_fixed:
            raise _refused(pod, "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead")
        spec["overhead"] = pod_fixed
    elif spec.get("overhead") is not None:
        raise _refused(pod, "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead")
    scheduling = runtime_class.get("scheduling")
    if isinstance(scheduling, dict):
        selector = dict(spec.get("nodeSelector") or {})
        for key, value in (scheduling.get("nodeSelector") or {}).items():
            if key in selector and selector[key] != value:
                raise _refused(pod, f"conflict: runtimeClass.scheduling.nodeSelector[{key}] = {value}; "
                                    f"pod.spec.nodeSelector[{key}] = {selector[key]}")
            selector[key] = value
        if selector or spec.get("nodeSelector") is not None:
            spec["nodeSelector"] = selector
        merged = merge_tolerations(list(spec.get("tolerations") or []), list(scheduling.get("tolerations") or []))
        if merged or spec.get("tolerations") is not None:
            spec["tolerations"] = merged


def _refused(pod: Obj, message: str) -> errors.StatusError:
    return errors.forbidden("pods", pod.get("metadata", {}).get("name", ""), message)
