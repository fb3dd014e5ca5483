"""PodDisruptionBudgets (policy/v1): stored and validated as upstream does. No disruption controller fills in
their status and evictions do not consult them yet (both come with workload controllers)."""
from __future__ import annotations

from typing import Any

from shim.machinery import errors, tables, validation
from shim.registry.strategy import Causes, Obj, Strategy

_EVICTION_POLICIES = ["AlwaysAllow", "IfHealthyBudget"]
#: the status a new budget has: Go's zero values, which its non-omitempty counters keep on the wire
_EMPTY_STATUS: Obj = {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}
_STATUS_COUNTERS = ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods")


def _internal_spec(spec: Obj) -> str:
    """The spec as upstream prints it in the both-set error: the internal Go struct marshalled without json tags."""
    return validation.go_json({"MinAvailable": spec.get("minAvailable"), "Selector": spec.get("selector"),
                               "MaxUnavailable": spec.get("maxUnavailable"),
                               "UnhealthyPodEvictionPolicy": spec.get("unhealthyPodEvictionPolicy")})


class PodDisruptionBudgetStrategy(Strategy):
    has_status_subresource = True

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = dict(_EMPTY_STATUS)

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return new.get("spec") != old.get("spec")

    def validate(self, obj: Obj) -> Causes:
        spec = obj.get("spec") or {}
        causes: Causes = []
        if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
            causes.append(validation.invalid_rendered("spec", _internal_spec(spec),
                                                      "minAvailable and maxUnavailable cannot be both set"))
        for field in ("minAvailable", "maxUnavailable"):
            if spec.get(field) is not None:
                causes += validation.int_or_percent(f"spec.{field}", spec[field])
        causes += validation.label_selector("spec.selector", spec.get("selector"))
        policy = spec.get("unhealthyPodEvictionPolicy")
        if policy is not None and policy not in _EVICTION_POLICIES:
            causes.append(errors.field_not_supported("spec.unhealthyPodEvictionPolicy", policy, _EVICTION_POLICIES))
        return causes

    def validate_status_update(self, new: Obj, old: Obj) -> Causes:
        """The counters may not go negative (ValidatePodDisruptionBudgetStatusUpdate)."""
        status = new.get("status") or {}
        causes: Causes = []
        for field in _STATUS_COUNTERS:
            causes += validation.nonnegative(f"status.{field}", status.get(field, 0))
        return causes

    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("Min Available", description="The minimum number of pods that must be available."),
                tables.column("Max Unavailable", description="The maximum number of pods that may be unavailable."),
                tables.column("Allowed Disruptions", "integer",
                              description="Calculated number of pods that may be disrupted at this time.")]

    def table_cells(self, obj: Obj) -> list[Any]:
        spec = obj.get("spec") or {}
        return [str(spec["minAvailable"]) if spec.get("minAvailable") is not None else "N/A",
                str(spec["maxUnavailable"]) if spec.get("maxUnavailable") is not None else "N/A",
                (obj.get("status") or {}).get("disruptionsAllowed", 0)]

