"""A kubelet run by an ordinary user: volumes at absolute paths, the pod's hostname and runAsUser, all through a
user namespace (the machine's tests run as root, so the kubelet is started in a process that drops to uid 1001)."""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
USER = 1001
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@pytest.fixture
def workdir() -> Iterator[Path]:
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to become an ordinary user")
    path = Path(tempfile.mkdtemp(prefix="kubeshim-nonroot-"))  # pytest's tmp dirs are closed to other users
    os.chown(path, USER, USER)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def as_user(*argv: str) -> list[str]:
    return ["setpriv", f"--reuid={USER}", f"--regid={USER}", "--clear-groups", *argv]


def supervisor_python() -> str:
    """An interpreter the user may execute (this one may live under root's home) for the supervisors."""
    for candidate in (sys.executable, "/usr/bin/python3"):
        if subprocess.run(as_user("sh", "-c", f'exec "{candidate}" -S -c ""'), capture_output=True).returncode == 0:
            return candidate
    pytest.skip("no Python interpreter the user may execute")


def run_as_user(workdir: Path, objects: list[dict[str, Any]]) -> dict[str, Any]:
    (workdir / "objects.json").write_text(json.dumps(objects))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir),
           "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}"}
    done = subprocess.run(as_user(sys.executable, str(Path(__file__).with_name("solo_kubelet.py")), str(workdir),
                                  supervisor_python()), env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-3000:]
    outcome: dict[str, Any] = json.loads((workdir / "outcome.json").read_text())
    if outcome["namespace_mode"] != "user":
        pytest.skip("unprivileged user namespaces are not allowed here")
    return outcome


def pod(name: str, container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "python:3.11", **container}],
                     **spec}}


def test_volumes_at_absolute_paths_and_hostname_as_an_ordinary_user(workdir: Path) -> None:
    script = ("id -u; hostname; echo scratch > /data/f && cat /data/f; cat /etc/app-config/mode; echo; "
              f"cat /etc/app-secret/key; echo; cat {SA_DIR}/token; echo; cat {SA_DIR}/namespace; echo")
    outcome = run_as_user(workdir, [
        {"kind": "ConfigMap", "metadata": {"name": "app-config"}, "data": {"mode": "fast"}},
        {"kind": "Secret", "metadata": {"name": "app-secret"}, "data": {"key": base64.b64encode(b"s3cret").decode()}},
        {"kind": "Secret", "metadata": {"name": "sa"}, "data": {"token": base64.b64encode(b"t0ken").decode()}},
        pod("unprivileged", {"command": ["sh", "-c", script], "volumeMounts": [
            {"name": "data", "mountPath": "/data"},
            {"name": "config", "mountPath": "/etc/app-config", "readOnly": True},
            {"name": "secret", "mountPath": "/etc/app-secret", "readOnly": True},
            {"name": "sa", "mountPath": SA_DIR, "readOnly": True}]}, volumes=[
            {"name": "data", "emptyDir": {}},
            {"name": "config", "configMap": {"name": "app-config"}},
            {"name": "secret", "secret": {"secretName": "app-secret"}},
            {"name": "sa", "projected": {"sources": [
                {"secret": {"name": "sa"}},
                {"downwardAPI": {"items": [{"path": "namespace",
                                            "fieldRef": {"fieldPath": "metadata.namespace"}}]}}]}}])])
    assert outcome["pod"]["status"]["phase"] == "Succeeded", outcome["pod"]["status"]
    assert outcome["logs"] == [str(USER), "unprivileged", "scratch", "fast", "s3cret", "t0ken", "default"]
    assert not [e for e in outcome["events"] if e["type"] == "Warning"]


def test_run_as_user_is_mapped_in_the_user_namespace(workdir: Path) -> None:
    outcome = run_as_user(workdir, [pod("mapped", {"command": ["sh", "-c", "id -u; id -g"],
                                                   "securityContext": {"runAsUser": 1002, "runAsGroup": 3003}})])
    assert outcome["logs"] == ["1002", "3003"]
