"""Restart safety: a new kubelet re-adopts live containers, keeps their real exit codes, reports vanished ones,
never starts duplicates, and cleans up pods deleted while it was down."""
from __future__ import annotations

import json
import os
import signal

import psutil

from shim.clients.base import PODS

from harness import wait_for_async

from .conftest import Harness, make_pod


def _container_dirs(harness: Harness, pod: dict) -> list[str]:
    root = harness.config.pod_dir(pod["metadata"]["uid"]) / "containers"
    return sorted(os.listdir(root)) if root.exists() else []


async def test_readopt_running_container_and_keep_exit_code(harness: Harness, tmp_path) -> None:
    go = tmp_path / "go"
    await harness.start()
    script = f"echo started; while [ ! -e {go} ]; do sleep 0.05; done; exit 5"
    await harness.create(make_pod("long", [{"name": "c", "command": ["sh", "-c", script]}], restartPolicy="Never"))
    pod = await harness.wait_status("long", lambda p: "running" in harness.container_status(p, "c")["state"])
    cid = harness.container_status(pod, "c")["containerID"]
    await harness.stop()  # kubeshim goes away; the container does not
    identity = json.loads((harness.config.pod_dir(pod["metadata"]["uid"]) / "containers" / cid.split("://")[1]
                           / "pid.json").read_text())
    assert psutil.pid_exists(identity["pid"])
    await harness.start()  # a brand-new Kubelet object
    await wait_for_async(lambda: pod["metadata"]["uid"] in harness.kubelet.workers)
    go.touch()
    done = await harness.wait_phase("long", "Failed")
    st = harness.container_status(done, "c")
    assert st["containerID"] == cid and st["restartCount"] == 0
    assert st["state"]["terminated"]["exitCode"] == 5
    assert _container_dirs(harness, pod) == [cid.split("://")[1]]  # nothing started twice


async def test_exit_while_down_is_reported_with_real_code(harness: Harness, tmp_path) -> None:
    go = tmp_path / "go"
    await harness.start()
    script = f"while [ ! -e {go} ]; do sleep 0.05; done; exit 0"
    await harness.create(make_pod("quiet", [{"name": "c", "command": ["sh", "-c", script]}],
                                  restartPolicy="OnFailure"))
    pod = await harness.wait_status("quiet", lambda p: "running" in harness.container_status(p, "c")["state"])
    await harness.stop()
    go.touch()
    cdir = harness.config.pod_dir(pod["metadata"]["uid"]) / "containers" / \
        harness.container_status(pod, "c")["containerID"].split("://")[1]
    await wait_for_async(lambda: (cdir / "exit.json").exists())
    await harness.start()
    done = await harness.wait_phase("quiet", "Succeeded")
    assert harness.container_status(done, "c")["state"]["terminated"]["reason"] == "Completed"


async def test_vanished_container_fails_never_pod(harness: Harness) -> None:
    await harness.start()
    await harness.create(make_pod("lost", [{"name": "c", "command": ["sleep", "1000"]}], restartPolicy="Never"))
    pod = await harness.wait_status("lost", lambda p: "running" in harness.container_status(p, "c")["state"])
    await harness.stop()
    cdir = harness.config.pod_dir(pod["metadata"]["uid"]) / "containers" / \
        harness.container_status(pod, "c")["containerID"].split("://")[1]
    identity = json.loads((cdir / "pid.json").read_text())
    os.kill(identity["supervisor"], signal.SIGKILL)  # as if the machine had rebooted
    os.kill(identity["pid"], signal.SIGKILL)
    await wait_for_async(lambda: not psutil.pid_exists(identity["pid"]) or
                         psutil.Process(identity["pid"]).status() == psutil.STATUS_ZOMBIE)
    await harness.start()
    done = await harness.wait_phase("lost", "Failed")
    term = harness.container_status(done, "c")["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (137, "ContainerStatusUnknown")
    assert "vanished" in term["message"]


async def test_pod_deleted_while_down_is_cleaned_up(harness: Harness) -> None:
    await harness.start()
    await harness.create(make_pod("orphan", [{"name": "c", "command": ["sleep", "1000"]}]))
    pod = await harness.wait_status("orphan", lambda p: "running" in harness.container_status(p, "c")["state"])
    cid = harness.container_status(pod, "c")["containerID"].split("://")[1]
    pod_dir = harness.config.pod_dir(pod["metadata"]["uid"])
    identity = json.loads((pod_dir / "containers" / cid / "pid.json").read_text())
    await harness.stop()
    await harness.client.delete(PODS, "orphan", "default", grace_period_seconds=0)
    await harness.start()
    await wait_for_async(lambda: not pod_dir.exists())
    await wait_for_async(lambda: not psutil.pid_exists(identity["pid"]) or
                         psutil.Process(identity["pid"]).status() == psutil.STATUS_ZOMBIE)


async def test_start_in_progress_is_adopted_not_duplicated(harness: Harness) -> None:
    """kubeshim died after recording `pending` and spawning the container, before booking the start."""
    from shim.kubelet import checkpoint
    from shim.kubelet.podstate import PodRecord
    from shim.kubelet.runtime.process import ProcessProvider
    from shim.kubelet.runtime.provider import ContainerSpec

    pod = make_pod("midstart", [{"name": "c", "command": ["sleep", "1000"]}])
    pod["spec"]["nodeName"] = "kubeshim"
    uid = (await harness.create(pod))["metadata"]["uid"]  # the API server assigns it
    provider = ProcessProvider(harness.config.pods_dir)
    obs = await provider.start(ContainerSpec(id="c0ffee", pod_uid=uid, name="c", argv=["sleep", "1000"],
                                             env={"PATH": "/usr/bin:/bin"}))
    assert obs.state == "running"
    record = PodRecord(uid, "default", "midstart", start_time=1.0, sandbox_ready=True)
    record.container("c").pending = "c0ffee"
    checkpoint.save(harness.config.pod_dir(uid), record)
    await harness.start()
    running = await harness.wait_status("midstart", lambda p: "running" in harness.container_status(p, "c")["state"])
    assert harness.container_status(running, "c")["containerID"] == "kubeshim://c0ffee"
    assert _container_dirs(harness, running) == ["c0ffee"]
