"""Memory limits (cgroup and RSS-polling fallback) and CPU quota on real processes (QoS and quantities:
tests/unit/test_pod_resources.py)."""
from __future__ import annotations

import os
import sys

import pytest

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


