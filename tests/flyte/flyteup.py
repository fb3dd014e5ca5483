"""`kubeshim flyte up` for the admin tiers: started in its own process group, restartable on the same data dir
and ports, and the user's clients (pyflyte, FlyteRemote through tests/flyte/remote.py) aimed at it.

Everything can run as another user (`as_user`): the non-root tier drives the whole stack through a throwaway
account.
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness import ROOT, processes_under, wait_for

WORKFLOWS = ROOT / "examples" / "flyte"
REMOTE = Path(__file__).with_name("remote.py")
PROJECT, DOMAIN = "x", "d-dev"
NAMESPACE = "103020-flytepoc-x-d-dev"
#: The enterprise trial's convention, which the admin tiers run under.
CONVENTION = ("--namespace-template", "103020-flytepoc-{{ project }}-{{ domain }}", "--domains", "d-dev,t-dev,p-dev",
              "--project", PROJECT)
#: How often the tier's waits look (they list pods or processes): four times a second is plenty for Flyte.
POLL = 0.25


def flyte_binary() -> str:
    """The one toolchain exception: no Flyte binary skips this tier, under CI=true too."""
    from shim.cli.flyte import flytebin
    path, why = flytebin.find()
    if path is None:
        pytest.skip(f"{why}: the admin tier needs the Flyte single binary ({flytebin.HOW_TO_GET})")
    return path


def task_venv() -> Path:
    from shim.cli.flyte import taskenv
    try:
        return taskenv.ensure(taskenv.default_path(), lambda line: None)
    except taskenv.TaskEnvError as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the flytekit task environment could not be made: {err}")
        pytest.skip(f"the flytekit task environment could not be made: {err}")


@dataclass
class FlyteUp:
    """One `kubeshim flyte up` in its own process group, restartable on the same data dir and ports."""

    work: Path
    flyte_bin: str
    venv: Path
    extra: tuple[str, ...] = ()
    #: The interpreter kubeshim runs in (one whose environment has kubeshim[flyte]).
    python: str = sys.executable
    #: Run kubeshim flyte up and the clients as this user (uid, gid); None = as the test runs.
    as_user: tuple[int, int] | None = None
    #: XDG_CACHE_HOME for kubeshim (versitygw's build); default the caller's.
    cache: str | None = None
    #: The directory pyflyte runs in (its `workflows` package is what gets registered).
    workflows: Path = WORKFLOWS
    process: subprocess.Popen[bytes] | None = None
    offset: int = 0

    def __post_init__(self) -> None:
        base = _free_run(9)  # Flyte's six, then kubeshim's, Postgres' and the object store's: never the same
        self.flyte_port, self.api_port, self.postgres_port, self.s3_port = base, base + 6, base + 7, base + 8
        self.home = self.work / "home"
        self.home.mkdir(parents=True, exist_ok=True)

    @property
    def data_dir(self) -> Path:
        return self.work / "data"

    @property
    def output(self) -> Path:
        return self.work / "flyte-up.out"

    @property
    def flytekit_config(self) -> Path:
        return self.data_dir / "flyte" / "flytekit.yaml"

    @property
    def env(self) -> dict[str, str]:
        cache = self.cache or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        env = {**os.environ, "HOME": str(self.home), "XDG_CACHE_HOME": cache, "PYTHONUNBUFFERED": "1"}
        if self.as_user is None:  # kubeshim from this checkout, not the one installed (it runs in the user's home)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        return env

    def as_me(self, argv: list[str]) -> list[str]:
        """argv, run as the tier's user: setpriv drops to it and execs (no process in between)."""
        if self.as_user is None:
            return argv
        uid, gid = self.as_user
        return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", *argv]

    def args(self) -> list[str]:
        return [self.python, "-m", "shim", "flyte", "up", "--data-dir", str(self.data_dir),
                "--port", str(self.api_port), "--flyte-port", str(self.flyte_port),
                "--postgres-port", str(self.postgres_port), "--s3-port", str(self.s3_port),
                "--flyte-bin", self.flyte_bin, "--task-venv", str(self.venv), *self.extra]

    def start(self, timeout: float = 300) -> float:
        """Start and wait for `all ready`; returns the seconds it took."""
        started = time.monotonic()
        self.offset = self.output.stat().st_size if self.output.exists() else 0
        with open(self.output, "ab") as out:
            self.process = subprocess.Popen(self.as_me(self.args()), cwd=self.home, stdout=out,
                                            stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        proc = self.process
        wait_for(lambda: "all ready" in self.text() or proc.poll() is not None, timeout, "kubeshim flyte up",
                 interval=POLL)
        assert proc.poll() is None, self.text()[-3000:]
        return time.monotonic() - started

    def text(self) -> str:
        """What the current (latest) `kubeshim flyte up` printed."""
        if not self.output.exists():
            return ""
        with open(self.output, "rb") as fh:
            fh.seek(self.offset)
            return fh.read().decode(errors="replace")

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        os.killpg(self.process.pid, signal.SIGINT)  # what Ctrl-C in its terminal does
        try:
            return self.process.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait()

    def kill_group(self) -> None:
        """What a crash looks like: SIGKILL to the whole process group of `kubeshim flyte up`."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def pyflyte_run(self, script: str, workflow: str, name: str, *inputs: str) -> subprocess.CompletedProcess[str]:
        argv = [str(self.venv / "bin" / "pyflyte"), "--config", str(self.flytekit_config), "run", "--remote",
                "--project", PROJECT, "--domain", DOMAIN, "--name", name, script, workflow, *inputs]
        result = subprocess.run(self.as_me(argv), cwd=self.workflows, capture_output=True, text=True, timeout=300,
                                env=self.env)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def remote(self, verb: str, name: str, timeout: float = 300) -> dict[str, Any]:
        argv = [str(self.venv / "bin" / "python"), str(REMOTE), "--config", str(self.flytekit_config),
                "--project", PROJECT, "--domain", DOMAIN, verb, name, "--timeout", str(timeout)]
        result = subprocess.run(self.as_me(argv), capture_output=True, text=True, timeout=timeout + 60, env=self.env)
        assert result.returncode == 0, result.stdout + result.stderr + self.flyte_log_tail()
        return json.loads(result.stdout)

    def run_to_end(self, script: str, workflow: str, name: str, *inputs: str, timeout: float = 300) -> dict[str, Any]:
        self.pyflyte_run(script, workflow, name, *inputs)
        return self.remote("wait", name, timeout)

    def flyte_log_tail(self, lines: int = 20) -> str:
        log = self.data_dir / "flyte" / "logs" / "flyte.log"
        tail = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else []
        return "\nflyte log tail:\n" + "\n".join(tail)

    def kube(self) -> Any:
        from kubernetes import config
        return config.new_client_from_config(str(self.data_dir / "kubeconfig"))

    def pods(self, execution: str) -> list[Any]:
        from kubernetes import client
        return client.CoreV1Api(self.kube()).list_namespaced_pod(
            NAMESPACE, label_selector=f"execution-id={execution}").items


def _free_run(count: int) -> int:
    """A base port with `count` free ports after it (Flyte's ports are consecutive), below Linux's ephemeral
    range (32768-60999): a client's outgoing connection may take any ephemeral port, and would then keep a
    restarted server from binding it again."""
    from shim.cli.flyte.processes import port_in_use
    for _ in range(200):
        base = random.randrange(20000, 32768 - count)
        if not any(port_in_use(base + i) for i in range(count)):
            return base
    raise RuntimeError("no run of free ports")


def leftovers(data_dir: Path) -> list[Any]:
    """Components of a data dir (postgres, versitygw, kubeshim, flyte: each names the data dir on its command
    line) still alive. Task containers are not among them: they outlive kubeshim by design."""
    import psutil
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if str(data_dir) in cmd and "kubelet/pods" not in cmd and proc.pid != os.getpid():
            found.append(proc)
    return found


def task_processes(pod_uid: str, data_dir: Path) -> list[Any]:
    """The pyflyte processes of a pod's containers."""
    import psutil
    found = []
    for pid in processes_under(data_dir / "kubelet" / "pods" / pod_uid):
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            if "pyflyte" in " ".join(proc.cmdline()):
                found.append(proc)
    return found
