"""Stock Flyte v1.16.8 (the single binary: flyteadmin, flytepropeller, datacatalog) through `kubeshim flyte up`,
driven exactly as a user drives it: `pyflyte run --remote` (fast registration: the code goes through admin's data
proxy to the object store) and FlyteRemote.

The whole module runs under the enterprise trial's namespace convention: project `x`, domains d-dev, t-dev and
p-dev, namespace template `103020-flytepoc-{{ project }}-{{ domain }}`.

Needs the Flyte single binary (KUBESHIM_FLYTE_BIN, `flyte` on PATH, or examples/flyte/build.sh's output). The Go
module proxy here cannot build it, so without one this tier skips, saying so, even under CI=true. Figures are
printed at the end of the module and written to <pytest basetemp>/flyte-admin-figures.json.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from harness import ROOT, free_port, processes_under

pytestmark = pytest.mark.flyte

WORKFLOWS = ROOT / "examples" / "flyte"
REMOTE = Path(__file__).with_name("remote.py")
PROJECT, DOMAIN = "x", "d-dev"
TEMPLATE = "103020-flytepoc-{{ project }}-{{ domain }}"
NAMESPACE = "103020-flytepoc-x-d-dev"
FIGURES: dict[str, Any] = {}


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


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
    process: subprocess.Popen[bytes] | None = None
    offset: int = 0

    def __post_init__(self) -> None:
        self.api_port, self.flyte_port = free_port(), _free_run(5)
        self.postgres_port, self.s3_port = free_port(), free_port()
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
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return {**os.environ, "HOME": str(self.home), "XDG_CACHE_HOME": cache, "PYTHONUNBUFFERED": "1"}

    def args(self) -> list[str]:
        return [sys.executable, "-m", "shim", "flyte", "up", "--data-dir", str(self.data_dir),
                "--port", str(self.api_port), "--flyte-port", str(self.flyte_port),
                "--postgres-port", str(self.postgres_port), "--s3-port", str(self.s3_port),
                "--flyte-bin", self.flyte_bin, "--task-venv", str(self.venv), *self.extra]

    def start(self, timeout: float = 300) -> float:
        """Start and wait for `all ready`; returns the seconds it took."""
        started = time.monotonic()
        self.offset = self.output.stat().st_size if self.output.exists() else 0
        with open(self.output, "ab") as out:
            self.process = subprocess.Popen(self.args(), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                            env=self.env, start_new_session=True)
        proc = self.process
        wait_until(lambda: "all ready" in self.text() or proc.poll() is not None, timeout, "kubeshim flyte up")
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
        self.process.send_signal(signal.SIGINT)
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
        result = subprocess.run(argv, cwd=WORKFLOWS, capture_output=True, text=True, timeout=300, env=self.env)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def remote(self, verb: str, name: str, timeout: float = 300) -> dict[str, Any]:
        argv = [str(self.venv / "bin" / "python"), str(REMOTE), "--config", str(self.flytekit_config),
                "--project", PROJECT, "--domain", DOMAIN, verb, name, "--timeout", str(timeout)]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 60, env=self.env)
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
    """A base port with `count` free ports after it (Flyte's ports are consecutive)."""
    from shim.cli.flyte.processes import port_in_use
    for _ in range(100):
        base = free_port()
        if base + count < 65535 and not any(port_in_use(base + i) for i in range(count)):
            return base
    raise RuntimeError("no run of free ports")


def _leftovers(data_dir: Path) -> list[Any]:
    """Components of a data dir (postgres, versitygw, kubeshim, flyte: each names the data dir on its command
    line) still alive. Task containers are not among them: they outlive kubeshim by design."""
    import psutil
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if str(data_dir) in cmd and "kubelet/pods" not in cmd and proc.pid != os.getpid():
            found.append(proc)
    return found


def _task_processes(pod_uid: str, data_dir: Path) -> list[Any]:
    """The pyflyte processes of a pod's containers."""
    import psutil
    found = []
    for pid in processes_under(data_dir / "kubelet" / "pods" / pod_uid):
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            if "pyflyte" in " ".join(proc.cmdline()):
                found.append(proc)
    return found


@pytest.fixture(scope="module")
def flyte(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[FlyteUp]:
    binary = flyte_binary()
    pytest.importorskip("kubernetes")
    venv = task_venv()
    up = FlyteUp(tmp_path_factory.mktemp("flyte-admin"), binary, venv,
                 ("--namespace-template", TEMPLATE, "--domains", "d-dev,t-dev,p-dev", "--project", PROJECT))
    try:
        FIGURES["flyte_up_cold_s"] = round(up.start(), 2)
        yield up
    finally:
        up.stop()
        for pid in processes_under(up.data_dir):  # task containers still running (supervisors included)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _report(request, tmp_path_factory)


def _report(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    if not FIGURES:
        return
    path = tmp_path_factory.getbasetemp() / "flyte-admin-figures.json"
    path.write_text(json.dumps(FIGURES, indent=2))
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        reporter.write_line(f"flyte admin figures ({path}):")
        for key, value in FIGURES.items():
            reporter.write_line(f"  {key}: {value}")


# -- the seed's convention --------------------------------------------------------------------------------------
def test_project_namespaces_follow_the_template(flyte: FlyteUp) -> None:
    from kubernetes import client
    core = client.CoreV1Api(flyte.kube())
    names = {ns.metadata.name for ns in core.list_namespace().items}
    wanted = {f"103020-flytepoc-x-{domain}" for domain in ("d-dev", "t-dev", "p-dev")}
    wait_until(lambda: wanted <= {ns.metadata.name for ns in core.list_namespace().items}, 60,
               f"the cluster resource manager to create {wanted} (have {names})")


# -- workflows -----------------------------------------------------------------------------------------------
def test_fast_registered_two_task_workflow_succeeds(flyte: FlyteUp) -> None:
    start = time.monotonic()
    result = flyte.run_to_end("workflows/basic.py", "wf", "basic-a", "--x", "6", "--name", "admin")
    FIGURES["basic_pyflyte_run_to_succeeded_s"] = round(time.monotonic() - start, 2)

    assert result["phase"] == "SUCCEEDED", result
    assert result["outputs"] == {"o0": 36, "o1": "hello admin, the square is 36"}
    pods = flyte.pods("basic-a")
    assert sorted(p.metadata.name for p in pods) == ["basic-a-n0-0", "basic-a-n1-0"]
    assert all(p.metadata.namespace == NAMESPACE for p in pods)


def test_map_task_over_20_inputs(flyte: FlyteUp) -> None:
    import psutil
    assert flyte.process is not None
    names = {"python": "kubeshim", "postgres": "postgres", "flyte-v1.16.8": "flyte"}
    groups = {"kubeshim flyte up": flyte.process.pid}
    for child in psutil.Process(flyte.process.pid).children():
        groups[names.get(child.name(), child.name())] = child.pid
    peaks = {name: 0 for name in groups}
    done = threading.Event()

    def rss(pgid: int) -> int:
        """A component and its helpers share its process group (postgres' backends, kubeshim's launcher); task
        containers have sessions of their own and are not counted."""
        total = 0
        for proc in psutil.process_iter(["pid"]):
            with contextlib.suppress(psutil.Error, ProcessLookupError):
                if os.getpgid(proc.pid) == pgid:
                    total += proc.memory_info().rss
        return total

    def sample() -> None:
        while not done.is_set():
            for name, pgid in groups.items():
                peaks[name] = max(peaks[name], rss(pgid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.monotonic()
    try:
        result = flyte.run_to_end("workflows/mapping.py", "wf", "map-b", timeout=400)
    finally:
        done.set()
        sampler.join()
    FIGURES["map20_pyflyte_run_to_succeeded_s"] = round(time.monotonic() - start, 2)
    FIGURES["peak_rss_mb_during_map20"] = {name: round(v / 2**20, 1) for name, v in peaks.items()}
    FIGURES["peak_rss_mb_during_map20_sum"] = round(sum(peaks.values()) / 2**20, 1)

    assert result["phase"] == "SUCCEEDED", result
    assert result["outputs"] == {"o0": [x ** 3 for x in range(20)]}
    assert len(flyte.pods("map-b")) == 20


def test_retries_then_failure_with_user_message(flyte: FlyteUp) -> None:
    result = flyte.run_to_end("workflows/failing.py", "wf", "fail-c", "--x", "7")

    assert result["phase"] == "FAILED", result
    assert "kubeshim-intentional-failure: the answer is not 7" in result["error"]["message"]
    node = result["nodes"]["n0"]
    assert node["attempts"] == 3, node
    assert node["task_phases"] == ["FAILED", "FAILED", "FAILED"], node


def test_memory_limit_is_reported_as_oom(flyte: FlyteUp) -> None:
    result = flyte.run_to_end("workflows/oom.py", "wf", "oom-d")

    assert result["phase"] == "FAILED", result
    assert "OOMKilled" in result["error"]["message"], result["error"]


def test_terminate_ends_the_task_processes(flyte: FlyteUp) -> None:
    import psutil
    flyte.pyflyte_run("workflows/sleeper.py", "wf", "abort-e", "--seconds", "600")
    pod = wait_until(lambda: next((p for p in flyte.pods("abort-e") if p.status.phase == "Running"), None), 120,
                     "the sleeper pod to run")
    procs = wait_until(lambda: _task_processes(pod.metadata.uid, flyte.data_dir), 60, "the task's process")
    grace = pod.spec.termination_grace_period_seconds or 30

    start = time.monotonic()
    flyte.remote("terminate", "abort-e")
    wait_until(lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in procs), grace,
               "the task's processes to end")
    FIGURES["terminate_to_processes_gone_s"] = round(time.monotonic() - start, 2)
    assert flyte.remote("wait", "abort-e", 60)["phase"] == "ABORTED"


def test_cached_task_hits_datacatalog_the_second_time(flyte: FlyteUp) -> None:
    first = flyte.run_to_end("workflows/cached.py", "wf", "cache-f1", "--x", "12")
    second = flyte.run_to_end("workflows/cached.py", "wf", "cache-f2", "--x", "12")

    assert (first["phase"], second["phase"]) == ("SUCCEEDED", "SUCCEEDED"), (first, second)
    assert first["outputs"] == second["outputs"] == {"o0": 144}
    assert first["nodes"]["n0"]["cache_status"] == "CACHE_POPULATED", first["nodes"]
    assert second["nodes"]["n0"]["cache_status"] == "CACHE_HIT", second["nodes"]
    assert flyte.pods("cache-f2") == []  # served from the cache: no task ran


def test_launch_plan_calling_a_launch_plan_starts_a_child_execution(flyte: FlyteUp) -> None:
    result = flyte.run_to_end("workflows/nested.py", "wf", "nested-g", "--x", "5")

    assert result["phase"] == "SUCCEEDED", result
    assert result["outputs"] == {"o0": 25}
    child = result["nodes"]["n0"]["child_execution"]
    assert child, result["nodes"]
    assert flyte.remote("wait", child, 60)["outputs"] == {"o0": 25, "o1": "hello nested, the square is 25"}


def test_task_log_link_opens_the_log_page_after_login(flyte: FlyteUp) -> None:
    import httpx

    from shim.server.sessions import login_url
    result = flyte.remote("wait", "basic-a", 60)
    link = result["nodes"]["n0"]["logs"][0]
    assert link == (f"https://127.0.0.1:{flyte.api_port}/logs/{NAMESPACE}/basic-a-n0-0/basic-a-n0-0"), link

    assert httpx.get(link, verify=False).status_code == 401
    with httpx.Client(verify=False, follow_redirects=True) as browser:
        assert browser.get(login_url(flyte.data_dir, f"https://127.0.0.1:{flyte.api_port}")).status_code == 200
        page = browser.get(link)
    assert page.status_code == 200
    assert "kubeshim-square: 6 * 6 = 36" in page.text


# -- restarts ------------------------------------------------------------------------------------------------
def test_execution_survives_sigkill_of_flyte_up(flyte: FlyteUp) -> None:
    flyte.pyflyte_run("workflows/sleeper.py", "wf", "restart-i", "--seconds", "20")
    wait_until(lambda: any(p.status.phase == "Running" for p in flyte.pods("restart-i")), 120, "the task pod to run")

    flyte.kill_group()
    wait_until(lambda: not _leftovers(flyte.data_dir), 30, "every component to die with kubeshim flyte up")
    FIGURES["flyte_up_warm_s"] = round(flyte.start(), 2)

    result = flyte.remote("wait", "restart-i", 300)
    assert result["phase"] == "SUCCEEDED", result
    assert result["outputs"] == {"o0": 20}
    assert [p.metadata.name for p in flyte.pods("restart-i")] == ["restart-i-n0-0"]  # the same pod, no retry


def test_ctrl_c_stops_every_component(flyte: FlyteUp) -> None:
    assert flyte.process is not None
    children = _leftovers(flyte.data_dir)
    assert len(children) >= 4, children
    start = time.monotonic()
    assert flyte.stop() == 0, flyte.text()[-2000:]
    FIGURES["ctrl_c_to_all_stopped_s"] = round(time.monotonic() - start, 2)
    assert not [p for p in children if p.is_running()]
    assert "stopping flyte" in flyte.text()


# -- bad input ------------------------------------------------------------------------------------------------
def _refused(tmp_path: Path, venv: Path, binary: str, *extra: str) -> tuple[subprocess.CompletedProcess[str],
                                                                            FlyteUp]:
    up = FlyteUp(tmp_path, binary, venv)
    result = subprocess.run([*up.args(), *extra], cwd=ROOT, capture_output=True, text=True, timeout=180,
                            env=up.env)
    return result, up


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("kubeshim flyte up:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_a_taken_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    import socket
    binary, venv = flyte_binary(), task_venv()
    up = FlyteUp(tmp_path, binary, venv)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", up.s3_port))
        taken.listen()
        result = subprocess.run(up.args(), cwd=ROOT, capture_output=True, text=True, timeout=120, env=up.env)
    line = _one_line_error(result)
    assert f"port {up.s3_port} for the object store (--s3-port) is already in use" in line
    assert not (up.data_dir / "flyte" / "postgres").exists()


def test_a_missing_flyte_binary_says_how_to_get_one(tmp_path: Path) -> None:
    result, up = _refused(tmp_path, task_venv(), str(tmp_path / "no-such-flyte"))
    line = _one_line_error(result)
    assert "is not an executable file" in line and "examples/flyte/build.sh" in line
    assert not _leftovers(up.data_dir)


def test_an_unreachable_database_url_is_one_line(tmp_path: Path) -> None:
    result, up = _refused(tmp_path, task_venv(), flyte_binary(),
                          "--database-url", f"postgres://flyte:pw@127.0.0.1:{free_port()}/flyte")
    line = _one_line_error(result)
    assert "cannot reach PostgreSQL at 127.0.0.1:" in line
    assert not _leftovers(up.data_dir)


def test_a_failure_midway_stops_what_was_started(tmp_path: Path) -> None:
    """The embedded Postgres is up when the S3 endpoint turns out unreachable: it is stopped again."""
    result, up = _refused(tmp_path, task_venv(), flyte_binary(), "--s3-endpoint", f"http://127.0.0.1:{free_port()}",
                          "--s3-access-key", "a", "--s3-secret-key", "b")
    line = _one_line_error(result)
    assert "cannot reach the object store" in line
    assert "ready: PostgreSQL" in result.stderr and "stopping postgres" in result.stderr
    assert not _leftovers(up.data_dir)
