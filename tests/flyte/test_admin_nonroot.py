"""`kubeshim flyte up` as a non-root user, the usual laptop case: scenario (a) of the admin tier (a fast-registered
two-task workflow through `pyflyte run --remote`, read back with FlyteRemote) with kubeshim, PostgreSQL, the object
store, Flyte and the task pods all running unprivileged.

When the suite runs as root, everything runs as a throwaway account made for this module. That account cannot
enter root's home, so it gets what a fresh laptop would have: kubeshim installed from a wheel of this tree
(`pip install '.[flyte]'`, which also proves the wheel carries what `kubeshim flyte up` needs) into a virtualenv
of the system Python, its own flytekit task environment, and readable copies of the Flyte and versitygw
binaries. Those are kept under /var/tmp/kubeshim-nonroot between runs (read-only to the account).
"""
from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from flyteup import CONVENTION, POLL, FlyteUp, flyte_binary, leftovers, task_venv
from harness import ROOT, processes_under, wait_for

pytestmark = pytest.mark.flyte

SHARED = Path("/var/tmp/kubeshim-nonroot")
SYSTEM_PYTHON = "/usr/bin/python3"


def _run(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{what} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"


def _kubeshim_venv() -> str:
    """A virtualenv of the system Python with kubeshim[flyte] installed from a wheel of this tree."""
    from shim.cli.flyte import objectstore
    venv = SHARED / "venv"
    if not (venv / "bin" / "python").exists():
        _run([SYSTEM_PYTHON, "-m", "venv", str(venv)], "python3 -m venv")
    source = SHARED / "src"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info",
                                                                 "build"))
    _run([str(venv / "bin" / "pip"), "install", "-q", f"{source}[flyte]"], "pip install kubeshim[flyte]")
    _run([str(venv / "bin" / "pip"), "install", "-q", "--force-reinstall", "--no-deps", str(source)],
         "pip install kubeshim (this tree)")
    bin_cache = SHARED / "cache" / "kubeshim" / "bin"
    bin_cache.mkdir(parents=True, exist_ok=True)
    built = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kubeshim" / "bin"
    name = f"versitygw-{objectstore.VERSITYGW_VERSION}"
    if (built / name).exists() and not (bin_cache / name).exists():
        shutil.copy2(built / name, bin_cache / name)
    return str(venv / "bin" / "python")


@pytest.fixture(scope="module")
def user() -> Iterator[tuple[int, int] | None]:
    """None when the suite already runs unprivileged; else a throwaway account, removed afterwards."""
    if os.geteuid() != 0:
        yield None
        return
    name = f"kubeshim-nr{os.getpid() % 100000}"
    _run(["useradd", "--no-create-home", "--shell", "/bin/sh", name], "useradd")
    entry = pwd.getpwnam(name)
    try:
        yield entry.pw_uid, entry.pw_gid
    finally:
        subprocess.run(["userdel", name], capture_output=True, check=False)


@pytest.fixture(scope="module")
def nonroot(user: tuple[int, int] | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlyteUp]:
    binary = flyte_binary()
    if user is None:
        up = FlyteUp(tmp_path_factory.mktemp("flyte-nonroot"), binary, task_venv(), CONVENTION)
    else:
        from shim.cli.flyte import taskenv
        SHARED.mkdir(mode=0o755, parents=True, exist_ok=True)
        python = _kubeshim_venv()
        venv = taskenv.ensure(SHARED / "task-venv", lambda line: None, python=SYSTEM_PYTHON)
        shutil.copy2(binary, SHARED / "flyte")
        for path in SHARED.rglob("*"):  # readable and runnable by the account, writable by root only
            if path.is_dir() or os.access(path, os.X_OK):
                path.chmod(path.stat().st_mode | 0o555)
        work = Path(subprocess.run(["mktemp", "-d", "/var/tmp/kubeshim-nonroot-run.XXXXXX"], capture_output=True,
                                   text=True, check=True).stdout.strip())
        shutil.copytree(ROOT / "examples" / "flyte" / "workflows", work / "flyte" / "workflows")
        up = FlyteUp(work, str(SHARED / "flyte"), venv, CONVENTION, python=python, as_user=user,
                     cache=str(SHARED / "cache"), workflows=work / "flyte")
        for path in [work, *work.rglob("*")]:
            os.chown(path, *user)
    try:
        up.start()
        yield up
    finally:
        up.stop()
        for pid in processes_under(up.data_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if user is not None:
            shutil.rmtree(up.work, ignore_errors=True)


def test_fast_registered_workflow_succeeds_with_everything_unprivileged(nonroot: FlyteUp) -> None:
    result = nonroot.run_to_end("workflows/basic.py", "wf", "nonroot-a", "--x", "4", "--name", "laptop")

    assert result["phase"] == "SUCCEEDED", result
    assert result["outputs"] == {"o0": 16, "o1": "hello laptop, the square is 16"}
    uid = nonroot.as_user[0] if nonroot.as_user else os.geteuid()
    components = leftovers(nonroot.data_dir)
    names = {" ".join(p.cmdline()) for p in components}
    assert any("postgres" in n for n in names) and any("versitygw" in n for n in names), names
    assert any(" flyte up " in f" {n} " or "shim flyte up" in n for n in names), names
    assert all(p.uids().real == uid and p.uids().effective == uid for p in components), \
        {" ".join(p.cmdline())[:80]: p.uids() for p in components}
    pods = nonroot.pods("nonroot-a")
    assert len(pods) == 2
    wait_for(lambda: all(p.status.phase == "Succeeded" for p in nonroot.pods("nonroot-a")), 30, "pods to end",
             interval=POLL)
