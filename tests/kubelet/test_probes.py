"""Readiness, liveness and startup probes against real processes."""
from __future__ import annotations

import socket
import sys

from .conftest import Harness, make_pod

# periodSeconds is an int32 the API server refuses as a fraction: 1 is the fastest a real pod can ask for.
FAST = {"periodSeconds": 1, "timeoutSeconds": 1, "failureThreshold": 2}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_exec_readiness_drives_ready(harness: Harness, tmp_path) -> None:
    flag = tmp_path / "ready"
    await harness.start()
    probe = {"exec": {"command": ["test", "-e", str(flag)]}, **FAST}
    await harness.create(make_pod("ready", [{"name": "c", "command": ["sleep", "30"], "readinessProbe": probe}]))
    pod = await harness.wait_phase("ready", "Running")
    conds = {c["type"]: c for c in pod["status"]["conditions"]}
    assert conds["Ready"]["status"] == "False" and conds["ContainersReady"]["reason"] == "ContainersNotReady"
    assert conds["Ready"]["message"] == "containers with unready status: [c]"
    flag.touch()
    pod = await harness.wait_status("ready", lambda p: harness.container_status(p, "c")["ready"])
    assert {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"] == "True"
    flag.unlink()
    await harness.wait_status("ready", lambda p: not harness.container_status(p, "c")["ready"])


async def test_liveness_failure_restarts(harness: Harness) -> None:
    await harness.start()
    probe = {"exec": {"command": ["false"]}, **FAST}
    await harness.create(make_pod("live", [{"name": "c", "command": ["sleep", "30"], "livenessProbe": probe}],
                                  terminationGracePeriodSeconds=1))
    pod = await harness.wait_status("live", lambda p: harness.container_status(p, "c")["restartCount"] >= 1)
    last = harness.container_status(pod, "c")["lastState"]["terminated"]
    assert last["exitCode"] == 143 and last["reason"] == "Error"


async def test_http_and_tcp_probes(harness: Harness) -> None:
    port = _free_port()
    await harness.start()
    server = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    container = {"name": "web", "command": server, "ports": [{"name": "http", "containerPort": port}],
                 "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, **FAST},
                 "livenessProbe": {"tcpSocket": {"port": port}, **FAST},
                 "startupProbe": {"tcpSocket": {"port": port}, **FAST, "failureThreshold": 50}}
    await harness.create(make_pod("web", [container]))
    pod = await harness.wait_status("web", lambda p: harness.container_status(p, "web")["ready"])
    st = harness.container_status(pod, "web")
    assert st["started"] is True and st["restartCount"] == 0


async def test_startup_probe_gates_started(harness: Harness, tmp_path) -> None:
    flag = tmp_path / "up"
    await harness.start()
    probe = {"exec": {"command": ["test", "-e", str(flag)]}, **FAST, "failureThreshold": 100}
    await harness.create(make_pod("slow", [{"name": "c", "command": ["sleep", "30"], "startupProbe": probe}]))
    pod = await harness.wait_phase("slow", "Running")
    st = harness.container_status(pod, "c")
    assert st["started"] is False and st["ready"] is False
    flag.touch()
    await harness.wait_status("slow", lambda p: harness.container_status(p, "c")["started"]
                              and harness.container_status(p, "c")["ready"])
