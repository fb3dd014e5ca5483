"""Each container's own root: volumes at any absolute path without touching the host, the pod's hostname, the
securityContext's user, and exec seeing what the program sees."""
from __future__ import annotations

import asyncio
import base64
import os
import time
from typing import Any, Awaitable, Callable, TypeVar

import pytest

from shim.clients.base import CONFIGMAPS, EVENTS, SECRETS
from shim.kubelet.runtime.provider import Provider

from .conftest import Harness, make_pod

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
    """Await `check` until it returns something truthy (checks that are themselves coroutines)."""
    deadline = time.monotonic() + timeout
    while True:
        last = await check()
        if last or time.monotonic() >= deadline:
            assert last, f"timed out after {timeout}s: last {last!r}"
            return last
        await asyncio.sleep(0.05)


@pytest.fixture(autouse=True)
def _needs_namespaces(harness: Harness) -> None:
    if not harness.caps[0]:
        pytest.skip("this host allows no private mount namespaces")


def log_lines(harness: Harness, pod: dict[str, Any], container: str = "c") -> list[str]:
    cid = harness.container_status(pod, container)["containerID"].split("://")[1]
    return [line.split(" ", 3)[3] for line in harness.kubelet.provider.log_path(cid).read_text().splitlines()]


async def run_to_end(harness: Harness, pod: dict[str, Any]) -> dict[str, Any]:
    await harness.create(pod)
    return await harness.wait_phase(pod["metadata"]["name"], "Succeeded", "Failed")


async def test_volumes_at_absolute_paths_appear_in_the_container_only(harness: Harness) -> None:
    await harness.client.create(CONFIGMAPS, {"metadata": {"name": "app-config"}, "data": {"mode": "fast"}},
                                "default")
    await harness.client.create(SECRETS, {"metadata": {"name": "sa"},
                                          "data": {"token": base64.b64encode(b"t0ken").decode()}}, "default")
    script = (f"echo scratch > /data/f && cat /data/f; cat /etc/app-config/mode; echo; cat {SA_DIR}/token; echo; "
              f"cat {SA_DIR}/namespace; echo; ls /etc/passwd")
    host_paths = ("/data", "/etc/app-config", "/run/secrets")
    absent = [path for path in host_paths if not os.path.exists(path)]  # what another program left is not ours
    await harness.start()
    pod = await run_to_end(harness, make_pod("abs", [{"name": "c", "command": ["sh", "-c", script], "volumeMounts": [
        {"name": "data", "mountPath": "/data"},
        {"name": "config", "mountPath": "/etc/app-config", "readOnly": True},
        {"name": "sa", "mountPath": SA_DIR, "readOnly": True}]}], restartPolicy="Never", volumes=[
        {"name": "data", "emptyDir": {}},
        {"name": "config", "configMap": {"name": "app-config"}},
        {"name": "sa", "projected": {"sources": [
            {"secret": {"name": "sa"}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}]}}]))
    assert log_lines(harness, pod) == ["scratch", "fast", "t0ken", "default", "/etc/passwd"]
    for path in absent:
        assert not os.path.exists(path), f"{path} was made on the host"


async def test_hostname_is_the_pod_name(harness: Harness) -> None:
    await harness.start()
    pod = await run_to_end(harness, make_pod("named-pod", [{"name": "c", "command": ["hostname"]}],
                                             restartPolicy="Never"))
    assert log_lines(harness, pod) == ["named-pod"]


async def test_hostname_is_spec_hostname_when_given(harness: Harness) -> None:
    await harness.start()
    pod = await run_to_end(harness, make_pod("p", [{"name": "c", "command": ["hostname"]}], restartPolicy="Never",
                                             hostname="chosen", subdomain="sub", setHostnameAsFQDN=True))
    assert log_lines(harness, pod) == ["chosen.sub.default.svc.cluster.local"]


async def test_run_as_user_and_group(harness: Harness) -> None:
    if os.geteuid() != 0:
        pytest.skip("switching users needs root (a user namespace maps them otherwise: test_nonroot.py)")
    await harness.start()
    pod = await run_to_end(harness, make_pod("ids", [{"name": "c", "command": ["sh", "-c", "id -u; id -g; id -G"],
                                                      "securityContext": {"runAsUser": 1002}}],
                                             restartPolicy="Never",
                                             securityContext={"runAsUser": 1001, "runAsGroup": 2002,
                                                              "supplementalGroups": [3003], "fsGroup": 4004}))
    assert log_lines(harness, pod) == ["1002", "2002", "2002 3003 4004"]


async def test_exec_sees_the_containers_root_and_hostname(harness: Harness) -> None:
    await harness.start()
    await harness.create(make_pod("ex", [{"name": "c", "command": ["sh", "-c", "echo here > /data/f; sleep 60"],
                                          "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                                  volumes=[{"name": "data", "emptyDir": {}}]))
    pod = await harness.wait_status("ex", lambda p: harness.container_status(p, "c")["state"].get("running"))
    cid = harness.container_status(pod, "c")["containerID"].split("://")[1]
    provider: Provider = harness.kubelet.provider

    async def output(command: list[str]) -> bytes:
        execution = await provider.exec(cid, command, stdout=True)
        assert execution.stdout is not None
        out = await execution.stdout.read()
        assert await execution.wait() == 0
        return out

    await eventually(lambda: output(["sh", "-c", "cat /data/f 2>/dev/null || true"]))
    assert await output(["cat", "/data/f"]) == b"here\n"
    assert await output(["hostname"]) == b"ex\n"


async def test_a_mount_point_that_cannot_be_made_is_a_warning_event(harness: Harness) -> None:
    await harness.client.create(CONFIGMAPS, {"metadata": {"name": "cfg"}, "data": {"k": "v"}}, "default")
    await harness.start()
    await harness.create(make_pod("badmount", [{"name": "c", "command": ["true"], "volumeMounts": [
        {"name": "cfg", "mountPath": "/cfg", "readOnly": True},
        {"name": "scratch", "mountPath": "/cfg/inside"}]}], restartPolicy="Never",
        volumes=[{"name": "cfg", "configMap": {"name": "cfg"}}, {"name": "scratch", "emptyDir": {}}]))
    pod = await harness.wait_status("badmount", lambda p: harness.container_status(p, "c")["state"]["waiting"][
        "reason"] == "CreateContainerError")
    assert "read-only file system" in harness.container_status(pod, "c")["state"]["waiting"]["message"].lower()

    async def warnings() -> list[dict[str, Any]]:
        listed = await harness.client.list(EVENTS, "default")
        return [e for e in listed["items"] if e["involvedObject"]["name"] == "badmount" and e["type"] == "Warning"]

    found = await eventually(warnings)
    assert found and found[0]["reason"] == "Failed" and found[0]["message"].startswith("Error: ")
    assert found[0]["involvedObject"]["fieldPath"] == "spec.containers{c}"


async def test_writing_through_a_subpath_lands_in_the_volume(harness: Harness) -> None:
    """Also as a user that is not the kubelet's: a subPath directory takes the volume's mode (emptyDir: 0777)."""
    await harness.start()
    script = "echo written > /sub/f; echo $POD_NAME > /expr/g; cat /whole/part/f /whole/subpath-pod/g"
    pod = await run_to_end(harness, make_pod("subpath-pod", [{
        "name": "c", "command": ["sh", "-c", script],
        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "securityContext": {"runAsUser": 1000},
        "volumeMounts": [{"name": "v", "mountPath": "/sub", "subPath": "part"},
                         {"name": "v", "mountPath": "/expr", "subPathExpr": "$(POD_NAME)"},
                         {"name": "v", "mountPath": "/whole"}]}],
        restartPolicy="Never", volumes=[{"name": "v", "emptyDir": {}}]))
    assert log_lines(harness, pod) == ["written", "subpath-pod"]
