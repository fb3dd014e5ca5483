"""PriorityClasses (scheduling.k8s.io/v1): validation, the one-default rule and the system classes, plus what
the Priority admission plugin does to a pod (plugin/pkg/admission/priority)."""
from __future__ import annotations

from typing import Any

from shim.machinery import errors, schemas, tables, validation
from shim.registry.strategy import Causes, NoStatusStrategy, Obj, Stored

STORAGE = "scheduling.k8s.io/priorityclasses"
GROUP, RESOURCE = "scheduling.k8s.io", "priorityclasses"
SYSTEM_PREFIX = "system-"
HIGHEST_USER_DEFINABLE = 1_000_000_000
SYSTEM_CRITICAL = 2 * HIGHEST_USER_DEFINABLE
PREEMPTION_POLICIES = ["PreemptLowerPriority", "Never"]
DEFAULT_POLICY = "PreemptLowerPriority"

#: what the apiserver's post-start hook creates (pkg/apis/scheduling/v1 SystemPriorityClasses)
SYSTEM_CLASSES: list[Obj] = [
    {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "system-node-critical"},
     "value": SYSTEM_CRITICAL + 1000,
     "description": "Used for system critical pods that must not be moved from their current node."},
    {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "system-cluster-critical"},
     "value": SYSTEM_CRITICAL,
     "description": "Used for system critical pods that must run in the cluster, but can be moved to another node "
                    "if necessary."},
]


def _system_class_problem(name: str, value: Any, global_default: bool) -> str | None:
    """IsKnownSystemPriorityClass: why a `system-` name is refused, None when it is a known system class."""
    for known in SYSTEM_CLASSES:
        if known["metadata"]["name"] == name:
            if known["value"] != value:
                return f"value of {name} PriorityClass must be {known['value']}"
            if global_default:
                return f"globalDefault of {name} PriorityClass must be false"
            return None
    return f"{name} is not a known system priority class"


def default_class(stored: Stored) -> Obj | None:
    """The global default PriorityClass; of several (a race), the one with the lowest value."""
    defaults = [pc for pc in stored.items(STORAGE) if pc.get("globalDefault")]
    return min(defaults, key=lambda pc: pc.get("value", 0)) if defaults else None


def _described(field: str) -> str:
    definition = schemas.definition("io.k8s.api.scheduling.v1.PriorityClass") or {}
    return str(((definition.get("properties") or {}).get(field) or {}).get("description", ""))


class PriorityClassStrategy(NoStatusStrategy):
    """Generation 1 from creation on: upstream's PrepareForUpdate never bumps it (value and preemptionPolicy
    are immutable)."""

    tracks_generation = True

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return False

    def prepare_for_create(self, obj: Obj) -> None:
        obj.setdefault("preemptionPolicy", DEFAULT_POLICY)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        new.setdefault("preemptionPolicy", DEFAULT_POLICY)

    def validate(self, obj: Obj) -> Causes:
        causes: Causes = []
        name = obj.get("metadata", {}).get("name", "")
        value = obj.get("value", 0)
        if name.startswith(SYSTEM_PREFIX):
            problem = _system_class_problem(name, value, bool(obj.get("globalDefault")))
            if problem:
                causes.append(errors.field_forbidden("metadata.name", f"priority class names with '{SYSTEM_PREFIX}' "
                                                     f"prefix are reserved for system use only. error: {problem}"))
        elif isinstance(value, int) and value > HIGHEST_USER_DEFINABLE:
            causes.append(errors.field_forbidden("value", "maximum allowed value of a user defined priority is "
                                                          f"{HIGHEST_USER_DEFINABLE}"))
        policy = obj.get("preemptionPolicy")
        if policy == "":
            causes.append(errors.field_required("preemptionPolicy"))
        elif policy is not None and policy not in PREEMPTION_POLICIES:
            causes.append(errors.field_not_supported("preemptionPolicy", policy, PREEMPTION_POLICIES))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        """Upstream validates an update by its immutable fields alone (ValidatePriorityClassUpdate)."""
        causes: Causes = []
        if new.get("value", 0) != old.get("value", 0):
            causes.append(errors.field_forbidden("value", "may not be changed in an update."))
        causes += validation.immutable("preemptionPolicy", new.get("preemptionPolicy"), old.get("preemptionPolicy"))
        return causes

    def validate_admission(self, obj: Obj, old: Obj | None, stored: Stored) -> None:
        """Only one PriorityClass may be the global default."""
        if not obj.get("globalDefault"):
            return
        current = default_class(stored)
        name = obj["metadata"]["name"]
        if current is not None and (old is None or current["metadata"]["name"] != name):
            raise errors.forbidden(RESOURCE, name, f"PriorityClass {current['metadata']['name']} is already marked "
                                   "as default. Only one default can exist", GROUP)

    def admit_delete(self, obj: Obj) -> None:
        name = obj["metadata"]["name"]
        if any(known["metadata"]["name"] == name for known in SYSTEM_CLASSES):
            raise errors.forbidden(RESOURCE, name, "this is a system priority class and cannot be deleted", GROUP)

    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("Value", "integer", description=_described("value")),
                tables.column("Global-Default", "boolean", description=_described("globalDefault")),
                tables.AGE_COLUMN,
                tables.column("PreemptionPolicy", description=_described("preemptionPolicy"))]

    def table_cells(self, obj: Obj) -> list[Any]:
        return [obj.get("value", 0), bool(obj.get("globalDefault")), tables.age(obj),
                obj.get("preemptionPolicy") or ""]


def admit_pod_priority(pod: Obj, old: Obj | None, stored: Stored) -> None:
    """The Priority admission plugin: a new pod's spec.priority (and preemptionPolicy) from its PriorityClass, or
    the global default's, or 0; an unknown class, or a priority that contradicts the class, is refused. An update
    keeps what creation resolved."""
    spec = pod.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    if old is not None:
        old_spec = old.get("spec") or {}
        for key in ("priority", "preemptionPolicy"):
            if spec.get(key) is None and old_spec.get(key) is not None:
                spec[key] = old_spec[key]
        return
    name = pod.get("metadata", {}).get("name", "")
    class_name = spec.get("priorityClassName") or ""
    if not class_name:
        found = default_class(stored)
        if found is not None:
            spec["priorityClassName"] = found["metadata"]["name"]
        priority, policy = (found.get("value", 0), found.get("preemptionPolicy")) if found else (0, DEFAULT_POLICY)
    else:
        found = stored.get(STORAGE, "", class_name)
        if found is None:
            raise errors.forbidden("pods", name, f"no PriorityClass with name {class_name} was found")
        priority, policy = found.get("value", 0), found.get("preemptionPolicy")
    if spec.get("priority") is not None and spec["priority"] != priority:
        raise errors.forbidden("pods", name, f"the integer value of priority ({spec['priority']}) must not be "
                               f"provided in pod spec; priority admission controller computed {priority} from the "
                               "given PriorityClass name")
    spec["priority"] = priority
    if policy is not None:
        if spec.get("preemptionPolicy") is not None and spec["preemptionPolicy"] != policy:
            raise errors.forbidden("pods", name, f"the string value of PreemptionPolicy ({spec['preemptionPolicy']}) "
                                   f"must not be provided in pod spec; priority admission controller computed "
                                   f"{policy} from the given PriorityClass name")
        spec["preemptionPolicy"] = policy
