"""Memory limits (cgroup and RSS-polling fallback), CPU quota, QoS and quantities."""
from __future__ import annotations

import os
import sys

import pytest

from shim.machinery import quantity
from shim.kubelet.resources import pod_requests, qos_class

from .conftest import Harness, make_pod

HOG = [sys.executable, "-c", "import time; x = 'a' * (200 * 2**20); time.sleep(30)"]


def _hog_pod(name: str) -> dict:
    return make_pod(name, [{"name": "hog", "command": HOG,
                            "resources": {"limits": {"memory": "50Mi", "cpu": "500m"}}}], restartPolicy="Never")


async def test_memory_hog_is_oomkilled_with_cgroups(harness: Harness) -> None:
    if not harness.caps[1]:
        pytest.skip("no writable cgroup memory controller on this host")
    await harness.start()
    await harness.create(_hog_pod("hog"))
    pod = await harness.wait_phase("hog", "Failed", timeout=20)
    term = harness.container_status(pod, "hog")["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (137, "OOMKilled")
    assert pod["status"]["qosClass"] == "Guaranteed"


async def test_memory_hog_is_oomkilled_by_polling(harness: Harness) -> None:
    harness.config.cgroups = "off"
    await harness.start()
    assert harness.kubelet.cgroup_setup is None
    await harness.create(_hog_pod("poll-hog"))
    pod = await harness.wait_phase("poll-hog", "Failed", timeout=20)
    term = harness.container_status(pod, "hog")["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (137, "OOMKilled")


async def test_cpu_quota_and_cgroup_cleanup(harness: Harness) -> None:
    setup = harness.caps[1]
    if not setup or "cpu" not in setup["parents"]:
        pytest.skip("no writable cgroup cpu controller on this host")
    await harness.start()
    script = "cat /proc/self/cgroup; sleep 0.3"
    await harness.create(make_pod("cpu", [{"name": "c", "command": ["sh", "-c", script],
                                           "resources": {"limits": {"cpu": "250m", "memory": "64Mi"}}}],
                                  restartPolicy="Never"))
    running = await harness.wait_status("cpu", lambda p: harness.container_status(p, "c")["containerID"])
    cid = harness.container_status(running, "c")["containerID"].split("://")[1]
    cpu_dir = os.path.join(setup["parents"]["cpu"], cid)
    mem_dir = os.path.join(setup["parents"]["memory"], cid)
    with open(os.path.join(cpu_dir, "cpu.cfs_quota_us")) as fh:
        assert fh.read().strip() == "25000"
    with open(os.path.join(mem_dir, "memory.limit_in_bytes")) as fh:
        assert int(fh.read()) == 64 * 2**20
    await harness.wait_phase("cpu", "Succeeded")
    assert not os.path.exists(cpu_dir) and not os.path.exists(mem_dir)


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
