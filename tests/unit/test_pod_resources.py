"""Quantities, QoS classes and a pod's effective requests."""
from __future__ import annotations

import pytest

from shim.kubelet.resources import pod_requests, qos_class
from shim.machinery import quantity


@pytest.mark.parametrize("text,millis,nbytes", [
    ("100m", 100, 1), ("1", 1000, 1), ("0.5", 500, 1), ("1Gi", None, 2**30), ("1G", None, 10**9),
    ("128974848", None, 128974848), ("129e6", None, 129000000), ("123Mi", None, 123 * 2**20), ("1k", None, 1000),
])
def test_quantities(text: str, millis: int | None, nbytes: int) -> None:
    if millis is not None:
        assert quantity.millicores(text) == millis
    else:
        assert quantity.to_bytes(text) == nbytes


def _pod(*containers: dict, init: list | None = None) -> dict:
    return {"spec": {"containers": list(containers), "initContainers": init or []}}


def test_qos_classes() -> None:
    full = {"limits": {"cpu": "1", "memory": "1Gi"}}
    assert qos_class(_pod({"name": "a", "resources": full})) == "Guaranteed"
    assert qos_class(_pod({"name": "a", "resources": {"limits": full["limits"], "requests": {"cpu": "1",
                                                                                              "memory": "1Gi"}}})) \
        == "Guaranteed"
    assert qos_class(_pod({"name": "a", "resources": {"requests": {"cpu": "100m"}}})) == "Burstable"
    assert qos_class(_pod({"name": "a", "resources": {"limits": {"cpu": "1"}}})) == "Burstable"
    assert qos_class(_pod({"name": "a", "resources": full}, {"name": "b"})) == "Burstable"
    assert qos_class(_pod({"name": "a"})) == "BestEffort"
    assert qos_class(_pod({"name": "a", "resources": {"requests": {"ephemeral-storage": "1Gi"}}})) == "BestEffort"
    assert qos_class(_pod({"name": "a", "resources": full},
                          init=[{"name": "i", "resources": {"requests": {"cpu": "1"}}}])) == "Burstable"


def test_pod_requests_take_max_of_init_and_sum_of_apps() -> None:
    pod = _pod({"name": "a", "resources": {"requests": {"cpu": "300m", "memory": "100Mi"}}},
               {"name": "b", "resources": {"limits": {"cpu": "200m"}}},
               init=[{"name": "i", "resources": {"requests": {"cpu": "1", "memory": "10Mi"}}}])
    assert pod_requests(pod) == {"cpu": 1000, "memory": 100 * 2**20}
