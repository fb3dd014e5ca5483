"""What a pod asks for: effective requests/limits (for scheduling and cgroups) and its QoS class.

Follows upstream's rules: a container's missing request defaults to its limit (API defaulting); the pod's
effective request is max(largest init container, sum of app containers) plus overhead; QoS as in
pkg/apis/core/v1/helper/qos (Guaranteed only if every container has equal cpu and memory requests and limits).
"""
from __future__ import annotations

from typing import Any

from shim.machinery import quantity

QOS_RESOURCES = ("cpu", "memory")


def container_requests(container: dict[str, Any]) -> dict[str, Any]:
    """Requests with limits filling the gaps, as the API server's defaulting would."""
    res = container.get("resources") or {}
    requests = dict(res.get("requests") or {})
    for name, value in (res.get("limits") or {}).items():
        requests.setdefault(name, value)
    return requests


def container_limits(container: dict[str, Any]) -> dict[str, Any]:
    return dict((container.get("resources") or {}).get("limits") or {})


def _amount(name: str, value: Any) -> int:
    return quantity.millicores(value) if name == "cpu" else quantity.to_bytes(value)


def pod_requests(pod: dict[str, Any]) -> dict[str, int]:
    """Effective pod requests: cpu in millicores, everything else in base units."""
    spec = pod.get("spec") or {}
    total: dict[str, int] = {}
    for c in spec.get("containers") or []:
        for name, value in container_requests(c).items():
            total[name] = total.get(name, 0) + _amount(name, value)
    for c in spec.get("initContainers") or []:
        for name, value in container_requests(c).items():
            total[name] = max(total.get(name, 0), _amount(name, value))
    for name, value in (spec.get("overhead") or {}).items():
        total[name] = total.get(name, 0) + _amount(name, value)
    return total


def qos_class(pod: dict[str, Any]) -> str:
    """Guaranteed, Burstable or BestEffort by upstream's rules (cpu and memory only)."""
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    requests: dict[str, int] = {}
    limits: dict[str, int] = {}
    guaranteed = True
    for c in containers:
        for name, value in container_requests(c).items():
            if name in QOS_RESOURCES and _amount(name, value) != 0:
                requests[name] = requests.get(name, 0) + _amount(name, value)
        found = set()
        for name, value in container_limits(c).items():
            if name in QOS_RESOURCES and _amount(name, value) != 0:
                found.add(name)
                limits[name] = limits.get(name, 0) + _amount(name, value)
        if found != set(QOS_RESOURCES):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and len(requests) == len(limits):
        if all(limits.get(name) == value for name, value in requests.items()):
            return "Guaranteed"
    return "Burstable"
