"""The test harness every tier shares: a real `kubeshim up` on a free port, toolchain checks, and `wait_for`.

A plain module (not a conftest) so that tiers, benchmarks and examples import it by name: `from harness import
start_kubeshim`. tests/ is on sys.path for every test module through the root conftest.
"""
from __future__ import annotations

import asyncio
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
KUBECTL_DIR = Path("/usr/lib/google-cloud-sdk/bin")
#: the kubectl version tools/k8s/build.sh builds (the others come with the cloud SDK)
BUILT_KUBECTL = "1.34"

T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float = 10.0, what: str = "", *, interval: float = 0.05) -> T:
    """Call `check` every `interval` seconds until it returns something truthy, and return that; after `timeout`
    seconds (and one last call) fail, naming `what` (or the check) and its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or check}: last {last!r}")
        time.sleep(interval)


async def wait_for_async(check: Callable[[], T], timeout: float = 10.0, what: str = "", *,
                         interval: float = 0.02) -> T:
    """`wait_for` inside an event loop (the checks are in-process reads, hence the shorter default interval):
    sleeps with asyncio so that the code under test runs meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or check}: last {last!r}")
        await asyncio.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Kubeshim:
    """A running `kubeshim up` and what a client needs to reach it."""

    process: subprocess.Popen
    data_dir: Path
    port: int
    args: list[str]

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        return yaml.safe_load(self.kubeconfig.read_text())["users"][0]["user"]["token"]

    @property
    def ca(self) -> str:
        return str(self.data_dir / "pki" / "ca.crt")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_kubeshim(data_dir: Path, *extra: str, port: int | None = None, ready_timeout: float = 30) -> Kubeshim:
    """Start `kubeshim up` and wait until /readyz answers."""
    import ssl
    import urllib.request
    port = port or free_port()
    args = [sys.executable, "-m", "shim", "up", "--data-dir", str(data_dir), "--port", str(port), *extra]
    log = open(data_dir.parent / f"{data_dir.name}.log", "ab") if data_dir.parent.exists() else subprocess.DEVNULL
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"kubeshim exited with {proc.returncode}; see {data_dir}.log")
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{port}/readyz", context=ctx, timeout=1) as r:
                if r.status == 200 and (data_dir / "kubeconfig").exists():
                    return Kubeshim(proc, data_dir, port, args)
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("kubeshim did not become ready")


def processes_under(directory: Path) -> list[int]:
    """Pids of processes whose working directory is inside `directory` (containers of a kubeshim whose data
    dir it is, and their supervisors: they outlive a stopped kubeshim on purpose)."""
    import psutil
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if Path(proc.cwd()).is_relative_to(directory):
                found.append(proc.pid)
        except (psutil.Error, OSError):
            continue
    return found


def require_tool(path: str | None, reason: str) -> str:
    """A missing toolchain fails under CI=true and skips elsewhere, saying why."""
    if path and Path(path).exists():
        return path
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


def kubectl_path(version: str) -> str:
    """The kubectl of `version`: the cloud SDK's, or for BUILT_KUBECTL the one tools/k8s/build.sh builds."""
    if version == BUILT_KUBECTL:
        return built_kubectl()
    path = KUBECTL_DIR / f"kubectl.{version}"
    return require_tool(str(path) if path.exists() else shutil.which(f"kubectl.{version}"),
                        f"kubectl {version} not installed under {KUBECTL_DIR}")


@functools.cache
def built_kubectl() -> str:
    """kubectl v1.34.12 from the k8s.io/kubernetes module, as tools/k8s/build.sh leaves it: used when built, and
    built (once per session) under CI=true."""
    build = ROOT / "tools" / "k8s" / "build.sh"
    out = Path(os.environ.get("KUBESHIM_K8S_BIN") or
               Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kubeshim" / "k8s" / "v1.34.12")
    if os.environ.get("CI") == "true" and shutil.which("go"):
        proc = subprocess.run(["nice", "-n", "10", str(build), "kubectl"], capture_output=True, text=True,
                              timeout=1800)
        if proc.returncode != 0:
            pytest.fail(f"{build} kubectl exited {proc.returncode}:\n{proc.stderr[-5000:]}")
        out = Path(proc.stdout.strip().splitlines()[-1])
    return require_tool(str(out / "kubectl"), f"kubectl {BUILT_KUBECTL} is not built (`{build} kubectl`)")


def report_figures(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str,
                   figures: dict[str, Any]) -> None:
    """A tier's measured figures: written to <basetemp>/<name>.json and printed at the end of the run."""
    if not figures:
        return
    path = tmp_path_factory.getbasetemp() / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        reporter.write_line(f"{name.replace('-', ' ')} ({path}):")
        for key, value in figures.items():
            reporter.write_line(f"  {key}: {value}")
