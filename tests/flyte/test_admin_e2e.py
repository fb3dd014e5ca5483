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
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from flyteup import CONVENTION, NAMESPACE, POLL, FlyteUp, flyte_binary, leftovers, task_processes, task_venv
from harness import ROOT, free_port, processes_under, report_figures, wait_for

pytestmark = pytest.mark.flyte

FIGURES: dict[str, Any] = {}


@pytest.fixture(scope="module")
def flyte(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[FlyteUp]:
    binary = flyte_binary()
    pytest.importorskip("kubernetes")
    venv = task_venv()
    up = FlyteUp(tmp_path_factory.mktemp("flyte-admin"), binary, venv, CONVENTION)
    try:
        FIGURES["flyte_up_cold_s"] = round(up.start(), 2)
        yield up
    finally:
        up.stop()
        for pid in processes_under(up.data_dir):  # task containers still running (supervisors included)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        report_figures(request, tmp_path_factory, "flyte-admin-figures", FIGURES)



# -- the seed's convention --------------------------------------------------------------------------------------
def test_project_namespaces_follow_the_template(flyte: FlyteUp) -> None:
    from kubernetes import client
    core = client.CoreV1Api(flyte.kube())
    names = {ns.metadata.name for ns in core.list_namespace().items}
    wanted = {f"103020-flytepoc-x-{domain}" for domain in ("d-dev", "t-dev", "p-dev")}
    wait_for(lambda: wanted <= {ns.metadata.name for ns in core.list_namespace().items}, 60,
             f"the cluster resource manager to create {wanted} (have {names})", interval=POLL)


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


def test_terminate_ends_thetask_processes(flyte: FlyteUp) -> None:
    import psutil
    flyte.pyflyte_run("workflows/sleeper.py", "wf", "abort-e", "--seconds", "600")
    pod = wait_for(lambda: next((p for p in flyte.pods("abort-e") if p.status.phase == "Running"), None), 120,
                   "the sleeper pod to run", interval=POLL)
    procs = wait_for(lambda: task_processes(pod.metadata.uid, flyte.data_dir), 60, "the task's process",
                     interval=POLL)
    grace = pod.spec.termination_grace_period_seconds or 30

    start = time.monotonic()
    flyte.remote("terminate", "abort-e")
    wait_for(lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in procs), grace,
             "the task's processes to end", interval=POLL)
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


def test_secret_requests_are_injected_by_propellers_pod_webhook(flyte: FlyteUp) -> None:
    from kubernetes import client
    api = flyte.kube()
    core = client.CoreV1Api(api)
    wait_for(lambda: NAMESPACE in {ns.metadata.name for ns in core.list_namespace().items}, 60,
             f"the namespace {NAMESPACE}", interval=POLL)
    core.create_namespaced_secret(NAMESPACE, {"metadata": {"name": "kubeshim"},
                                              "stringData": {"token": "t0ken", "password": "pa55"}})
    configs = client.AdmissionregistrationV1Api(api).list_mutating_webhook_configuration().items
    assert "flyte-pod-webhook" in {c.metadata.name for c in configs}  # made by propeller itself

    result = flyte.run_to_end("workflows/secrets.py", "wf", "secrets-h")

    assert result["phase"] == "SUCCEEDED", result
    assert result["outputs"] == {"o0": "token=t0ken password=pa55"}
    pod = flyte.pods("secrets-h")[0]
    assert any(v.secret and v.secret.secret_name == "kubeshim" for v in pod.spec.volumes), pod.spec.volumes


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
    wait_for(lambda: any(p.status.phase == "Running" for p in flyte.pods("restart-i")), 120, "the task pod to run",
             interval=POLL)

    flyte.kill_group()
    wait_for(lambda: not leftovers(flyte.data_dir), 30, "every component to die with kubeshim flyte up", interval=POLL)
    FIGURES["flyte_up_warm_s"] = round(flyte.start(), 2)

    result = flyte.remote("wait", "restart-i", 300)
    assert result["phase"] == "SUCCEEDED", result
    assert result["outputs"] == {"o0": 20}
    assert [p.metadata.name for p in flyte.pods("restart-i")] == ["restart-i-n0-0"]  # the same pod, no retry


def test_ctrl_c_stops_every_component(flyte: FlyteUp) -> None:
    assert flyte.process is not None
    children = leftovers(flyte.data_dir)
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
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: past TIME_WAIT
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
    assert not leftovers(up.data_dir)


def test_an_unreachable_database_url_is_one_line(tmp_path: Path) -> None:
    result, up = _refused(tmp_path, task_venv(), flyte_binary(),
                          "--database-url", f"postgres://flyte:pw@127.0.0.1:{free_port()}/flyte")
    line = _one_line_error(result)
    assert "cannot reach PostgreSQL at 127.0.0.1:" in line
    assert not leftovers(up.data_dir)


def test_a_failure_midway_stops_what_was_started(tmp_path: Path) -> None:
    """The embedded Postgres is up when the S3 endpoint turns out unreachable: it is stopped again."""
    result, up = _refused(tmp_path, task_venv(), flyte_binary(), "--s3-endpoint", f"http://127.0.0.1:{free_port()}",
                          "--s3-access-key", "a", "--s3-secret-key", "b")
    line = _one_line_error(result)
    assert "cannot reach the object store" in line
    assert "ready: PostgreSQL" in result.stderr and "stopping postgres" in result.stderr
    assert not leftovers(up.data_dir)


def test_one_port_for_two_components_is_refused(tmp_path: Path) -> None:
    up = FlyteUp(tmp_path, flyte_binary(), task_venv())
    result = subprocess.run([*up.args(), "--port", str(up.flyte_port)], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env=up.env)
    line = _one_line_error(result)
    assert f"port {up.flyte_port} is given to both the kubeshim API (--port) and the flyteadmin HTTP" in line
