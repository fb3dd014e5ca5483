"""Pods through the whole kubelet (the real registry in-process, real processes): exits, restarts, init containers,
deletion."""
from __future__ import annotations

import time

from shim.clients.base import LEASES, NODES, PODS

from harness import wait_for_async

from .conftest import Harness, make_pod


async def test_node_registers_with_lease(harness: Harness) -> None:
    await harness.start()
    node = await harness.client.get(NODES, "kubeshim")
    assert node["status"]["allocatable"]["pods"] == "110"
    assert {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"] == "True"
    assert {"type": "InternalIP", "address": "127.0.0.1"} in node["status"]["addresses"]
    lease = await wait_for_async(lambda: harness.api.get(LEASES, "kubeshim", "kube-node-lease"))
    first = lease["spec"]["renewTime"]
    await wait_for_async(lambda: harness.api.get(LEASES, "kubeshim", "kube-node-lease")["spec"]["renewTime"]
                         != first, timeout=3)


async def test_exit_code_reason_and_log(harness: Harness) -> None:
    await harness.start()
    await harness.create(make_pod("p", [{"name": "c", "command": ["sh", "-c", "echo hi; exit 3"]}],
                                  restartPolicy="Never"))
    pod = await harness.wait_phase("p", "Failed")
    st = harness.container_status(pod, "c")
    term = st["state"]["terminated"]
    assert term["exitCode"] == 3 and term["reason"] == "Error"
    assert st["containerID"].startswith("kubeshim://")
    assert pod["spec"]["nodeName"] == "kubeshim"
    conds = {c["type"]: c for c in pod["status"]["conditions"]}
    assert conds["Ready"]["status"] == "False" and conds["Ready"]["reason"] == "PodFailed"
    assert conds["PodScheduled"]["status"] == "True"
    assert pod["status"]["qosClass"] == "BestEffort"
    log = harness.kubelet.provider.log_path(st["containerID"].split("://")[1]).read_text()
    assert " stdout F hi\n" in log


async def test_success_completed(harness: Harness) -> None:
    await harness.start()
    await harness.create(make_pod("ok", [{"name": "c", "command": ["true"]}], restartPolicy="OnFailure"))
    pod = await harness.wait_phase("ok", "Succeeded")
    assert harness.container_status(pod, "c")["state"]["terminated"]["reason"] == "Completed"
    conds = {c["type"]: c for c in pod["status"]["conditions"]}
    assert conds["Ready"]["reason"] == "PodCompleted"
    assert conds["Initialized"]["reason"] == "PodCompleted"


async def test_running_then_deleted_with_grace(harness: Harness) -> None:
    await harness.start()
    await harness.create(make_pod("sleepy", [{"name": "c", "command": ["sh", "-c", "trap '' TERM; sleep 1000"]}],
                                  terminationGracePeriodSeconds=1))
    pod = await harness.wait_status("sleepy", lambda p: p["status"].get("phase") == "Running"
                                    and harness.container_status(p, "c")["ready"])
    events = harness.record("sleepy")
    await harness.client.delete(PODS, "sleepy", "default")
    started = time.monotonic()
    # The graceful delete only marks the pod: it stays until the kubelet's final delete (grace 0, uid
    # precondition) once its container is stopped; nothing else removes a bound, running pod.
    marked = harness.pod("sleepy")
    assert marked["metadata"]["deletionTimestamp"] and marked["metadata"]["deletionGracePeriodSeconds"] == 1
    await wait_for_async(lambda: harness.pod("sleepy") is None, timeout=10)
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 5, elapsed
    gone = await wait_for_async(lambda: next((e for e in events if e.type == "DELETED"), None))
    assert gone.object["metadata"]["uid"] == pod["metadata"]["uid"]
    # The pod's directory (logs included) goes with the pod.
    await wait_for_async(lambda: not harness.config.pod_dir(pod["metadata"]["uid"]).exists())


async def test_prestop_hook_runs_before_sigterm(harness: Harness, tmp_path) -> None:
    marker = tmp_path / "prestop"
    await harness.start()
    container = {"name": "c", "command": ["sleep", "1000"],
                 "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", f"echo bye > {marker}"]}}}}
    await harness.create(make_pod("hooked", [container], terminationGracePeriodSeconds=5))
    await harness.wait_phase("hooked", "Running")
    await harness.client.delete(PODS, "hooked", "default")
    await wait_for_async(lambda: harness.pod("hooked") is None)
    assert marker.read_text() == "bye\n"


async def test_final_status_before_delete(harness: Harness) -> None:
    """The kubelet reports the terminal phase before it removes the object (propeller reads it)."""
    await harness.start()
    events = harness.record("last")
    await harness.create(make_pod("last", [{"name": "c", "command": ["sleep", "1000"]}], restartPolicy="Never",
                                  terminationGracePeriodSeconds=1))
    await harness.wait_phase("last", "Running")
    await harness.client.delete(PODS, "last", "default")
    await wait_for_async(lambda: harness.pod("last") is None)
    await wait_for_async(lambda: events and events[-1].type == "DELETED")
    phases = [e.object["status"].get("phase") for e in events[:-1]]
    assert "Running" in phases and phases[-1] == "Failed"
