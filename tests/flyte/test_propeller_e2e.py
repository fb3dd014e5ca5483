"""Stock flytepropeller v1.16.8 runs real flytekit workflows on kubeshim, end to end, without flyteadmin.

What runs: kubeshim (API server + kubelet, task pods as local processes in the flytekit virtualenv), the
flytepropeller binary built from Flyte's published Go modules (examples/flyte/propeller), and flytewf, which
does flyteadmin's part of starting an execution (compile the serialized workflow, offload the inputs to the
blob store, create the FlyteWorkflow). The workflows are examples/flyte/workflows, packaged by pyflyte.

Figures (execution wall times, kubeshim's peak RSS during the map task, build time) are printed at the end
of the module and written to <pytest basetemp>/flyte-figures.json.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from string import Template
from typing import Any, Callable, Iterator

import pytest
import yaml

from harness import Kubeshim, free_port, kubectl_path, report_figures, require_tool, start_kubeshim, wait_for

pytestmark = pytest.mark.flyte

ROOT = Path(__file__).resolve().parents[2]
FLYTE_DIR = ROOT / "examples" / "flyte"
PROPELLER_DIR = FLYTE_DIR / "propeller"
NAMESPACE = "flytesnacks-development"  # flyteadmin's default mapping of project flytesnacks, domain development
FIGURES: dict[str, Any] = {}
#: How often the tier's waits look (they list pods or processes): four times a second is plenty for Flyte.
POLL = 0.25


# -- processes ----------------------------------------------------------------------------------------------
@dataclass
class Server:
    """kubeshim with a kubelet (`--kubelet-config`: image rules), restartable on the same port and data dir."""

    data_dir: Path
    port: int
    kubelet_config: Path
    current: Kubeshim | None = None

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.current is not None
        return self.current.process.pid

    def start(self) -> None:
        self.current = start_kubeshim(self.data_dir, "--kubelet-config", str(self.kubelet_config),
                                      "--log-level", "info", port=self.port, ready_timeout=60)

    def kill(self) -> None:
        assert self.current is not None
        self.current.stop(signal.SIGKILL)

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()


@dataclass
class Flyte:
    """Everything a test needs: the server, propeller, flytewf and the packaged workflows."""

    server: Server
    propeller: subprocess.Popen
    propeller_log: Path
    config: Path
    flytewf: str
    package: Path
    blob_root: Path
    events: Path
    kube: Any  # kubernetes.client.ApiClient
    kubectl: Callable[..., subprocess.CompletedProcess] | None = None
    created: list[str] = field(default_factory=list)

    def flytewf_run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([self.flytewf, *args], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "KUBECONFIG": str(self.server.kubeconfig)})

    def create(self, launchplan: str, name: str, /, **inputs: Any) -> None:
        args = ["create", "--config", str(self.config), "--pkg", str(self.package), "--launchplan", launchplan,
                "--name", name]
        for key, value in inputs.items():
            args += ["--input", f"{key}={json.dumps(value)}"]
        r = self.flytewf_run(*args)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == name
        self.created.append(name)

    def get(self, name: str) -> dict[str, Any]:
        r = self.flytewf_run("get", "--config", str(self.config), "-n", NAMESPACE, name)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def wait(self, name: str, timeout: float = 180) -> dict[str, Any]:
        r = self.flytewf_run("wait", "--config", str(self.config), "-n", NAMESPACE, "--timeout", f"{int(timeout)}s",
                             name, timeout=timeout + 30)
        assert r.returncode == 0, f"{r.stderr}\n{r.stdout}\n{self.diagnose(name)}"
        return json.loads(r.stdout)

    def core(self) -> Any:
        from kubernetes import client
        return client.CoreV1Api(self.kube)

    def custom(self) -> Any:
        from kubernetes import client
        return client.CustomObjectsApi(self.kube)

    def pods(self, name: str) -> list[Any]:
        return self.core().list_namespaced_pod(NAMESPACE, label_selector=f"execution-id={name}").items

    def delete_execution(self, name: str) -> None:
        """What flyteadmin's Abort does: delete the FlyteWorkflow with propagationPolicy Background."""
        from kubernetes import client
        self.custom().delete_namespaced_custom_object(
            "flyte.lyft.com", "v1alpha1", NAMESPACE, "flyteworkflows", name,
            body=client.V1DeleteOptions(propagation_policy="Background"))

    def workflow_exists(self, name: str) -> bool:
        from kubernetes.client.exceptions import ApiException
        try:
            self.custom().get_namespaced_custom_object("flyte.lyft.com", "v1alpha1", NAMESPACE, "flyteworkflows",
                                                       name)
            return True
        except ApiException as e:
            if e.status == 404:
                return False
            raise

    def diagnose(self, name: str) -> str:
        """Pods and the tail of propeller's log, for assertion messages."""
        lines = []
        try:
            for p in self.pods(name):
                lines.append(f"pod {p.metadata.name}: {p.status.phase} {p.status.container_statuses}")
        except Exception as e:  # noqa: BLE001 - diagnostics only
            lines.append(f"(pods unavailable: {e})")
        tail = self.propeller_log.read_text(errors="replace").splitlines()[-15:]
        return "\n".join(lines + ["propeller log tail:", *tail])


def _task_processes(execution: str) -> list[Any]:
    """The local processes of an execution's task containers (pyflyte-execute with its metadata path)."""
    import psutil
    marker = f"/{NAMESPACE}-{execution}/"
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if "pyflyte" in cmd and marker in cmd:
            found.append(proc)
    return found


def _kill_leftovers(data_dir: Path) -> None:
    """Container supervisors outlive kubeshim by design: end those of this test's data dir, children first."""
    import psutil
    pods_dir = str(data_dir / "kubelet" / "pods")
    for proc in psutil.process_iter(["cmdline"]):
        if pods_dir in " ".join(proc.info["cmdline"] or []):
            try:
                for child in proc.children(recursive=True):
                    child.kill()
                proc.kill()
            except psutil.NoSuchProcess:
                pass


def _build(figures: dict[str, Any]) -> tuple[str, str]:
    start = time.monotonic()
    r = subprocess.run([str(PROPELLER_DIR / "build.sh")], capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, f"examples/flyte/propeller/build.sh failed:\n{r.stderr[-4000:]}"
    figures["build_sh_seconds"] = round(time.monotonic() - start, 2)
    figures["build_sh_rebuilt"] = [line for line in r.stderr.splitlines() if "built in" in line]
    propeller, flytewf = r.stdout.split()[-2:]
    return propeller, flytewf


def _task_env(figures: dict[str, Any]) -> Path:
    start = time.monotonic()
    r = subprocess.run([str(FLYTE_DIR / "task-env.sh")], capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        reason = f"examples/flyte/task-env.sh failed (flytekit from PyPI):\n{r.stderr[-2000:]}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    figures["task_env_seconds"] = round(time.monotonic() - start, 2)
    return Path(r.stdout.split()[-1]).parent  # .../task-venv/bin -> .../task-venv


def _render(template: Path, dest: Path, **values: str) -> Path:
    dest.write_text(Template(template.read_text()).substitute(values))
    return dest


@pytest.fixture(scope="module")
def flyte(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flyte]:
    require_tool(shutil.which("go"), "Go toolchain (go >= 1.26) not installed: cannot build flytepropeller")
    pytest.importorskip("kubernetes")
    propeller_bin, flytewf = _build(FIGURES)
    venv = _task_env(FIGURES)

    work = tmp_path_factory.mktemp("flyte")
    blob_root = work / "blob"
    (blob_root / "my-bucket").mkdir(parents=True)
    package = work / "workflows.tgz"
    r = subprocess.run([str(venv / "bin" / "pyflyte"), "--pkgs", "workflows", "package", "--source", ".",
                        "-o", str(package), "--force"], cwd=FLYTE_DIR, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr

    kubelet = _render(PROPELLER_DIR / "kubelet.yaml", work / "kubelet.yaml", TASK_VENV=str(venv),
                      WORKFLOWS_ROOT=str(FLYTE_DIR))
    settings = yaml.safe_load(kubelet.read_text())
    cgroup_name = f"kubeshim-flyte-{os.getpid()}"  # apart from any other kubeshim on this host
    settings["cgroup_name"] = cgroup_name
    kubelet.write_text(yaml.safe_dump(settings))

    with contextlib.ExitStack() as cleanup:
        cleanup.callback(report_figures, request, tmp_path_factory, "flyte-figures", FIGURES)
        server = Server(work / "data", free_port(), kubelet)
        cleanup.callback(_remove_cgroups, cgroup_name)
        cleanup.callback(_kill_leftovers, server.data_dir)
        cleanup.callback(server.stop)
        server.start()

        from kubernetes import client, config as kconfig
        kube = kconfig.new_client_from_config(str(server.kubeconfig))
        core = client.CoreV1Api(kube)
        # Propeller's own namespace holds the base PodTemplate of every task pod: it makes the container start
        # in the blob root, where fsspec resolves flytekit's file://my-bucket/... references.
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="flyte")))
        core.create_namespaced_pod_template("flyte", {
            "apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "kubeshim-task", "namespace": "flyte"},
            "template": {"spec": {"containers": [{"name": "default", "image": "kubeshim/placeholder",
                                                  "workingDir": str(blob_root)}]}}})

        events = work / "events.log"
        cfg = _render(PROPELLER_DIR / "propeller.yaml", work / "propeller.yaml",
                      KUBECONFIG=str(server.kubeconfig), BLOB_ROOT=str(blob_root), EVENTS_FILE=str(events),
                      PROF_PORT=str(free_port()), KUBESHIM_URL=server.url)
        propeller_log = work / "propeller.log"
        with open(propeller_log, "ab") as out:
            propeller = subprocess.Popen([propeller_bin, "--config", str(cfg)], stdout=out,
                                         stderr=subprocess.STDOUT)
        env = Flyte(server, propeller, propeller_log, cfg, flytewf, package, blob_root, events, kube)
        cleanup.callback(_end_executions, env)
        cleanup.callback(_stop, propeller)
        wait_for(lambda: "Started Worker" in propeller_log.read_text(errors="replace")
                 or propeller.poll() is not None, 60, "propeller's workers", interval=POLL)
        assert propeller.poll() is None, propeller_log.read_text()[-3000:]
        yield env


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _end_executions(env: Flyte) -> None:
    """Pods end with their executions: delete what is left (propeller is gone, so drop its finalizer) and let
    the garbage collector and the kubelet stop the processes."""
    for name in env.created:
        try:
            if env.workflow_exists(name):
                env.custom().patch_namespaced_custom_object(
                    "flyte.lyft.com", "v1alpha1", NAMESPACE, "flyteworkflows", name, {"metadata": {"finalizers": []}})
                env.delete_execution(name)
        except Exception:  # noqa: BLE001 - best effort
            pass


def _remove_cgroups(name: str) -> None:
    try:
        from shim.kubelet import cgroups
        setup = cgroups.detect(name)
    except Exception:  # noqa: BLE001 - best effort
        return
    for parent in ((setup or {}).get("parents") or {}).values():
        for dirpath, _, _ in sorted(os.walk(parent), key=lambda w: -len(w[0])):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass



@pytest.fixture(scope="module")
def kubectl(flyte: Flyte, tmp_path_factory: pytest.TempPathFactory) -> Callable:
    binary = kubectl_path("1.33")
    home = tmp_path_factory.mktemp("kubectl-home")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([binary, "--kubeconfig", str(flyte.server.kubeconfig),
                               "--cache-dir", str(home / "cache"), *args],
                              capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(home)})
    return run


# -- tests --------------------------------------------------------------------------------------------------
def test_two_tasks_pass_values(flyte: Flyte) -> None:
    start = time.monotonic()
    flyte.create("workflows.basic.wf", "basic-a", x=6, name="propeller")
    result = flyte.wait("basic-a")
    FIGURES["basic_create_to_succeeded_s"] = round(time.monotonic() - start, 2)

    assert result["phase"] == "Succeeded", result
    assert result["outputs"] == {"o0": 36, "o1": "hello propeller, the square is 36"}
    assert {n: s["phase"] for n, s in result["nodes"].items()} == {
        "start-node": "Succeeded", "n0": "Succeeded", "n1": "Succeeded", "end-node": "Succeeded"}
    # Propeller's bookkeeping on a finished workflow: finalizer gone, GC labels set.
    assert not result.get("finalizers")
    assert result["labels"]["termination-status"] == "terminated"
    pods = {p.metadata.name: p for p in flyte.pods("basic-a")}
    assert set(pods) == {"basic-a-n0-0", "basic-a-n1-0"}
    for pod in pods.values():
        assert pod.status.phase == "Succeeded"
        assert not pod.metadata.finalizers  # flyte.org/finalizer-k8s removed when the task ended
        owner = pod.metadata.owner_references[0]
        assert (owner.kind, owner.name, owner.controller) == ("flyteworkflow", "basic-a", True)


def test_map_task_over_20_inputs(flyte: Flyte) -> None:
    import psutil
    server = psutil.Process(flyte.server.pid)
    peak = {"rss": server.memory_info().rss}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                peak["rss"] = max(peak["rss"], server.memory_info().rss)
            except psutil.Error:
                return
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.monotonic()
    try:
        flyte.create("workflows.mapping.wf", "map-b")
        result = flyte.wait("map-b", timeout=300)
    finally:
        done.set()
        sampler.join()
    FIGURES["map20_create_to_succeeded_s"] = round(time.monotonic() - start, 2)
    FIGURES["kubeshim_peak_rss_during_map_mb"] = round(peak["rss"] / 2**20, 1)

    assert result["phase"] == "Succeeded", result
    assert result["outputs"] == {"o0": [x ** 3 for x in range(20)]}
    pods = flyte.pods("map-b")
    assert len(pods) == 20
    assert all(p.status.phase == "Succeeded" for p in pods)


def test_retries_then_failure_with_user_message(flyte: Flyte) -> None:
    flyte.create("workflows.failing.wf", "fail-c", x=7)
    result = flyte.wait("fail-c")

    assert result["phase"] == "Failed", result
    message = "kubeshim-intentional-failure: the answer is not 7"
    error = result["error"]
    assert error["kind"] == "USER"
    assert "RetriesExhausted" in error["code"]
    assert "[3/3] currentAttempt done" in error["message"]
    assert message in error["message"]
    node = result["nodes"]["n0"]
    assert node["phase"] == "Failed"
    assert node["attempts"] == 2  # zero-based: the third attempt
    # Propeller deletes an attempt's pod when it retries; the last attempt's pod stays, with the traceback.
    pods = {p.metadata.name for p in flyte.pods("fail-c")}
    assert "fail-c-n0-2" in pods, pods
    log = flyte.core().read_namespaced_pod_log("fail-c-n0-2", NAMESPACE)
    assert message in log


def test_memory_limit_is_reported_as_oom(flyte: Flyte) -> None:
    flyte.create("workflows.oom.wf", "oom-d")
    result = flyte.wait("oom-d")

    assert result["phase"] == "Failed", result
    assert "OOMKilled" in result["error"]["code"], result["error"]
    assert "OOMKilled" in result["error"]["message"]
    pod = flyte.core().read_namespaced_pod("oom-d-n0-0", NAMESPACE)
    assert pod.status.phase == "Failed"
    terminated = pod.status.container_statuses[0].state.terminated
    assert (terminated.reason, terminated.exit_code) == ("OOMKilled", 137)
    # The kill came from the task's own allocation, not from flytekit's start-up...
    assert "allocating 400 MB" in flyte.core().read_namespaced_pod_log("oom-d-n0-0", NAMESPACE)
    # ...and the same task under the same 100Mi limit succeeds when it allocates nothing.
    flyte.create("workflows.oom.wf", "oom-d0", mb=0)
    control = flyte.wait("oom-d0")
    assert control["phase"] == "Succeeded", control
    assert control["outputs"] == {"o0": 0}


def test_deleting_a_running_execution_aborts_it(flyte: Flyte) -> None:
    flyte.create("workflows.sleeper.wf", "abort-e", seconds=600)
    pod = wait_for(lambda: next((p for p in flyte.pods("abort-e") if p.status.phase == "Running"), None),
                   60, "the sleeper pod to run", interval=POLL)
    procs = wait_for(lambda: _task_processes("abort-e"), 30, "the sleeper's process", interval=POLL)
    grace = pod.spec.termination_grace_period_seconds or 30

    start = time.monotonic()
    flyte.delete_execution("abort-e")
    import psutil
    wait_for(lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in procs), grace,
             "the task's processes to end", interval=POLL)
    FIGURES["abort_delete_to_processes_gone_s"] = round(time.monotonic() - start, 2)
    wait_for(lambda: not flyte.workflow_exists("abort-e"), 30, "the FlyteWorkflow to go", interval=POLL)
    wait_for(lambda: not flyte.pods("abort-e"), 30, "the pod to go", interval=POLL)
    events = flyte.events.read_text(errors="replace")
    assert any("[--WF EVENT--]" in line and 'name:"abort-e"' in line and "Phase: ABORTED" in line
               for line in events.splitlines()), "propeller recorded no ABORTED workflow event"


def test_deleting_a_finished_execution_collects_its_pods(flyte: Flyte) -> None:
    flyte.create("workflows.basic.wf", "gc-f", x=2)
    assert flyte.wait("gc-f")["phase"] == "Succeeded"
    assert len(flyte.pods("gc-f")) == 2
    flyte.delete_execution("gc-f")
    wait_for(lambda: not flyte.workflow_exists("gc-f"), 30, "the FlyteWorkflow to go", interval=POLL)
    wait_for(lambda: not flyte.pods("gc-f"), 30, "the garbage collector to delete the pods", interval=POLL)


def test_propeller_ttl_gc_deletes_expired_executions_and_their_pods(flyte: Flyte) -> None:
    """Propeller's own GC: a DeleteCollection per namespace (label selector with notin and !key, grace 0,
    Background) every gc-interval (15 s in propeller.yaml); kubeshim's garbage collector then takes the pods."""
    flyte.create("workflows.basic.wf", "ttl-g", x=3)
    result = flyte.wait("ttl-g")
    assert result["phase"] == "Succeeded"
    assert result["labels"]["termination-status"] == "terminated"
    assert len(flyte.pods("ttl-g")) == 2
    # Pretend it completed long ago: outside max-ttl-hours.
    flyte.custom().patch_namespaced_custom_object(
        "flyte.lyft.com", "v1alpha1", NAMESPACE, "flyteworkflows", "ttl-g",
        {"metadata": {"labels": {"completed-time": "2020-01-01.00"}}})
    wait_for(lambda: not flyte.workflow_exists("ttl-g"), 60, "propeller's GC to delete the FlyteWorkflow",
             interval=POLL)
    wait_for(lambda: not flyte.pods("ttl-g"), 30, "the pods of the collected execution to go", interval=POLL)
    log = flyte.propeller_log.read_text(errors="replace")
    assert "Garbage collection failed" not in log


def test_kubectl_shows_executions_pods_and_logs(flyte: Flyte, kubectl: Callable) -> None:
    flyte.create("workflows.basic.wf", "kubectl-h", x=11, name="kubectl")
    assert flyte.wait("kubectl-h")["phase"] == "Succeeded"

    r = kubectl("get", "fly", "-A")
    assert r.returncode == 0, r.stderr
    assert any(line.split()[:2] == [NAMESPACE, "kubectl-h"] for line in r.stdout.splitlines()), r.stdout
    r = kubectl("get", "pods", "-n", NAMESPACE, "-l", "execution-id=kubectl-h")
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line.split()[2] for line in r.stdout.splitlines()[1:]}
    assert rows == {"kubectl-h-n0-0": "Completed", "kubectl-h-n1-0": "Completed"}, r.stdout
    r = kubectl("logs", "-n", NAMESPACE, "kubectl-h-n0-0")
    assert r.returncode == 0, r.stderr
    assert "kubeshim-square: 11 * 11 = 121" in r.stdout
    r = kubectl("logs", "-n", NAMESPACE, "kubectl-h-n1-0")
    assert "kubeshim-describe: hello kubectl, the square is 121" in r.stdout


@pytest.mark.parametrize("down_until", ["task-still-running", "task-finished"])
def test_execution_survives_kubeshim_sigkill(flyte: Flyte, down_until: str) -> None:
    name = f"restart-{'r' if down_until == 'task-still-running' else 'f'}"
    seconds = 20 if down_until == "task-still-running" else 6
    flyte.create("workflows.sleeper.wf", name, seconds=seconds)
    wait_for(lambda: any(p.status.phase == "Running" for p in flyte.pods(name)), 60, "the task pod to run",
             interval=POLL)
    procs = wait_for(lambda: _task_processes(name), 30, "the task process", interval=POLL)

    flyte.server.kill()
    if down_until == "task-finished":
        import psutil
        wait_for(lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in procs),
                 seconds + 30, "the task to finish while kubeshim is down", interval=POLL)
        time.sleep(2)
    else:
        time.sleep(3)
        assert any(p.is_running() for p in procs), "the task process died with kubeshim"
    restarted = datetime.now(timezone.utc)
    flyte.server.start()

    result = flyte.wait(name, timeout=180)
    assert result["phase"] == "Succeeded", result
    assert result["outputs"] == {"o0": seconds}
    pods = flyte.pods(name)
    assert [p.metadata.name for p in pods] == [f"{name}-n0-0"]  # the same pod, not a retry
    finished = pods[0].status.container_statuses[0].state.terminated.finished_at
    if down_until == "task-finished":
        # The exit is reported with the time it happened, not the time kubeshim noticed it.
        assert finished < restarted, (finished, restarted)
    else:
        assert finished > restarted
