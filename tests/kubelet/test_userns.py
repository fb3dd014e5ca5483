"""The unprivileged path: as a non-root user, volumes are bind-mounted inside a user + mount namespace.

Runs the supervisor directly (standard library only) under `setpriv` as nobody, with the system Python,
because the test environment's own interpreter may live where nobody cannot read.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534


def _python_for_nobody() -> str | None:
    for candidate in ("/usr/bin/python3", sys.executable):
        done = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                               candidate, "-S", "-c", "import json, selectors, ctypes"], capture_output=True)
        if done.returncode == 0:
            return candidate
    return None


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv to become nobody")
def test_user_namespace_bind_mounts_as_nobody() -> None:
    import tempfile

    tmp_path = Path(tempfile.mkdtemp(prefix="kubeshim-userns-"))  # pytest's tmp dirs are closed to nobody
    try:
        _run_as_nobody(tmp_path)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def _run_as_nobody(tmp_path: Path) -> None:
    python = _python_for_nobody()
    if python is None:
        pytest.skip("no Python interpreter readable by nobody")
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    tmp_path.chmod(0o777)
    probe = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", python, "-S",
                            "-c", "import sys; from shim.kubelet.runtime import mounts; "
                                  f"print(mounts.probe({str(tmp_path)!r}, {python!r}))"],
                           capture_output=True, text=True, env=env)
    if probe.stdout.strip() != "user":
        pytest.skip(f"unprivileged user namespaces are not allowed here: {probe.stdout}{probe.stderr}")
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "greeting").write_text("hi from the volume\n")
    target = tmp_path / "mnt"  # the mount point exists (the kubelet makes it); nobody cannot bind onto it outside
    target.mkdir()
    cdir = tmp_path / "c"
    cdir.mkdir()
    (cdir / "rootfs").mkdir()
    spec = {"argv": ["sh", "-c", f"id -u; cat {target}/greeting; touch {target}/x 2>/dev/null || echo readonly"],
            "env": {"PATH": "/usr/bin:/bin"}, "cwd": None, "log_path": str(cdir / "container.log"),
            "cgroup": None, "memory_limit": None, "user": None,
            "sandbox": {"mode": "user", "root": str(cdir / "rootfs"), "hostname": None},
            "mounts": [{"source": str(volume), "target": str(target), "read_only": True}]}
    (cdir / "spec.json").write_text(json.dumps(spec))
    for path in (tmp_path, volume, cdir, cdir / "rootfs"):
        os.chown(path, NOBODY, NOBODY)
    subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", python, "-S", "-m",
                    "shim.kubelet.runtime.supervise", str(cdir)], check=True, env=env, timeout=30)
    result = json.loads((cdir / "exit.json").read_text())
    assert result["exit_code"] == 0, result
    lines = [line.split(" ", 3)[3] for line in (cdir / "container.log").read_text().splitlines()]
    assert lines == [str(NOBODY), "hi from the volume", "readonly"]
    assert os.listdir(target) == []  # the host never saw the mount
