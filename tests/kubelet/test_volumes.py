"""Volumes as a container sees them at mountPath, through a private mount namespace where the host allows it and
through the symlink fallback (the files themselves: tests/unit/test_volume_files.py)."""
from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path

import pytest

from shim.clients.base import CONFIGMAPS, PODS, SECRETS

from harness import wait_for_async

from .conftest import Harness, make_pod


async def _volume_pod(harness: Harness, name: str, base: str) -> dict:
    await harness.client.create(CONFIGMAPS, {"metadata": {"name": "app-config"},
                                             "data": {"greeting": "hello from a configmap"}}, "default")
    await harness.client.create(SECRETS, {"metadata": {"name": "app-secret"},
                                          "data": {"key": base64.b64encode(b"s3cret").decode()}}, "default")
    script = (f"cat {base}/config/greeting; echo; cat {base}/info/name; echo; cat {base}/secret/key; echo; "
              f"echo scratch > {base}/scratch/f && cat {base}/scratch/f; "
              f"if touch {base}/config/new 2>/dev/null; then echo writable; else echo readonly; fi")
    container = {"name": "c", "command": ["sh", "-c", script], "volumeMounts": [
        {"name": "config", "mountPath": f"{base}/config", "readOnly": True},
        {"name": "info", "mountPath": f"{base}/info"},
        {"name": "secret", "mountPath": f"{base}/secret"},
        {"name": "scratch", "mountPath": f"{base}/scratch"}]}
    pod = make_pod(name, [container], restartPolicy="Never", volumes=[
        {"name": "config", "configMap": {"name": "app-config"}},
        {"name": "info", "downwardAPI": {"items": [{"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
        {"name": "secret", "secret": {"secretName": "app-secret"}},
        {"name": "scratch", "emptyDir": {}}])
    await harness.create(pod)
    done = await harness.wait_phase(name, "Succeeded", "Failed")
    cid = harness.container_status(done, "c")["containerID"].split("://")[1]
    lines = [line.split(" ", 3)[3] for line in harness.kubelet.provider.log_path(cid).read_text().splitlines()]
    return {"pod": done, "lines": lines}


async def test_volumes_in_private_mount_namespace(harness: Harness) -> None:
    if not harness.caps[0]:
        pytest.skip("this host allows no private mount namespaces")
    base = f"/opt/kubeshim-test-{uuid.uuid4().hex[:8]}"
    await harness.start()
    out = await _volume_pod(harness, "nsvol", base)
    assert out["lines"] == ["hello from a configmap", "nsvol", "s3cret", "scratch", "readonly"]
    assert not os.path.exists(base)  # mount points are made in the container's own root, never on the host


async def test_volumes_through_symlink_fallback(harness: Harness, tmp_path: Path) -> None:
    harness.config.mount_mode = "symlink"
    base = str(tmp_path / "mnt")
    await harness.start()
    assert harness.kubelet.namespace_mode is None
    out = await _volume_pod(harness, "linkvol", base)
    # No read-only enforcement without a mount namespace (documented).
    assert out["lines"][:4] == ["hello from a configmap", "linkvol", "s3cret", "scratch"]
    assert os.path.islink(f"{base}/config")
    await harness.client.delete(PODS, "linkvol", "default")
    await wait_for_async(lambda: not os.path.lexists(f"{base}/config"))


async def test_volume_error_keeps_pod_creating(harness: Harness) -> None:
    await harness.start()
    pod = make_pod("novol", [{"name": "c", "command": ["true"],
                              "volumeMounts": [{"name": "v", "mountPath": "/tmp/never-mounted"}]}],
                   volumes=[{"name": "v", "configMap": {"name": "missing"}}])
    await harness.create(pod)
    seen = await harness.wait_status("novol", lambda p: harness.container_status(p, "c")["state"].get(
        "waiting", {}).get("message"))
    waiting = harness.container_status(seen, "c")["state"]["waiting"]
    assert waiting["reason"] == "ContainerCreating"
    assert waiting["message"] == 'MountVolume.SetUp failed for volume "v" : configmap "missing" not found'
    conds = {c["type"]: c["status"] for c in seen["status"]["conditions"]}
    assert conds["PodReadyToStartContainers"] == "False"
