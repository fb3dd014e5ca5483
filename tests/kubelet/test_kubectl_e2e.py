"""The kubelet's acceptance through a real `kubeshim up` and kubectl: processes, logs, limits, deletion, restarts."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from harness import Kubeshim, kubectl_path, processes_under, start_kubeshim, wait_for

pytestmark = pytest.mark.kubelet


class Cluster:
    """kubeshim with its kubelet, and kubectl 1.33 pointed at it."""

    def __init__(self, data_dir: Path, home: Path) -> None:
        self.data_dir = data_dir
        self.home = home
        self.server: Kubeshim = start_kubeshim(data_dir)
        self.kubectl_binary = kubectl_path("1.33")

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("KUBE")},
               "HOME": str(self.home), "KUBECONFIG": str(self.server.kubeconfig)}
        return subprocess.run([self.kubectl_binary, *args], input=input, capture_output=True, text=True,
                              timeout=timeout, env=env)

    def ok(self, *args: str, input: str | None = None, timeout: float = 60) -> str:
        result = self.kubectl(*args, input=input, timeout=timeout)
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result.stdout

    def apply(self, *objects: dict[str, Any]) -> None:
        self.ok("apply", "-f", "-", input=yaml.safe_dump_all(objects))

    def pod(self, name: str) -> dict[str, Any]:
        return json.loads(self.ok("get", "pod", name, "-o", "json"))

    def wait_phase(self, name: str, *phases: str, timeout: float = 30.0) -> dict[str, Any]:
        return wait_for(lambda: (p := self.pod(name))["status"].get("phase") in phases and p, timeout)

    def restart(self, sig: int = signal.SIGTERM) -> None:
        self.server.stop(sig)
        self.server = start_kubeshim(self.data_dir, port=self.server.port)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("kubectl-e2e") / "data", tmp_path_factory.mktemp("kubectl-e2e-home"))
    yield c
    c.kubectl("delete", "pods", "--all", "--grace-period=0", "--force")
    wait_for(lambda: not json.loads(c.ok("get", "pods", "-o", "json"))["items"], timeout=20)
    # Deleted pods' containers (and their supervisors, which work in the container's directory) must end
    # before the server does: containers outlive a stopped kubeshim on purpose.
    wait_for(lambda: not processes_under(c.data_dir), timeout=20)
    c.server.stop()


def _pod(name: str, script: str, **spec: Any) -> dict[str, Any]:
    container = {"name": "main", "image": "python:3.11", "command": ["sh", "-c", script]}
    container.update(spec.pop("container", {}))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": "Never", "containers": [container], **spec}}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def test_a_failing_command_ends_failed_with_its_exit_code_and_logs(cluster: Cluster) -> None:
    cluster.ok("run", "fails", "--image=python:3.11", "--restart=Never", "--", "sh", "-c", "echo hi; exit 3")
    pod = cluster.wait_phase("fails", "Failed", "Succeeded")
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert pod["status"]["phase"] == "Failed"
    assert (terminated["exitCode"], terminated["reason"]) == (3, "Error")
    assert cluster.ok("logs", "fails") == "hi\n"


def test_the_process_reads_env_and_volumes_from_configmaps_secrets_and_the_downward_api(cluster: Cluster) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
                   "data": {"colour": "blue", "greeting.txt": "hello from a configmap"}},
                  {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
                   "stringData": {"password": "s3cret"}})
    script = ('echo "colour=$COLOUR password=$PASSWORD expanded=$(GREETING_PREFIX)"; '
              'cat /etc/settings/greeting.txt; echo; cat /etc/podinfo/name; echo; cat /etc/podinfo/labels')
    pod = _pod("reader", script, container={
        "env": [{"name": "COLOUR", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "colour"}}},
                {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                {"name": "GREETING_PREFIX", "value": "dear $(COLOUR)"}],
        "volumeMounts": [{"name": "settings", "mountPath": "/etc/settings"},
                         {"name": "podinfo", "mountPath": "/etc/podinfo"}]},
        volumes=[{"name": "settings", "configMap": {"name": "settings"}},
                 {"name": "podinfo", "downwardAPI": {"items": [
                     {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
                     {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}])
    pod["metadata"]["labels"] = {"team": "data"}
    cluster.apply(pod)
    assert cluster.wait_phase("reader", "Succeeded", "Failed")["status"]["phase"] == "Succeeded"
    # The kubelet expands $(GREETING_PREFIX) in the command, and $(COLOUR) inside that env value, before exec.
    logs = cluster.ok("logs", "reader").splitlines()
    assert logs == ["colour=blue password=s3cret expanded=dear blue", "hello from a configmap", "reader",
                    'team="data"']


def test_dependent_env_values_are_expanded_by_the_kubelet(cluster: Cluster) -> None:
    pod = _pod("expands", 'echo "$GREETING"', container={
        "env": [{"name": "NAME", "value": "world"}, {"name": "GREETING", "value": "hello $(NAME) $$(NAME)"}]})
    cluster.apply(pod)
    cluster.wait_phase("expands", "Succeeded")
    assert cluster.ok("logs", "expands") == "hello world $(NAME)\n"


def test_a_process_over_its_memory_limit_is_oomkilled_with_exit_137(cluster: Cluster) -> None:
    pod = _pod("hog", "python3 -c 'x = bytearray(300 * 1024 * 1024); import time; time.sleep(5)'",
               container={"resources": {"limits": {"memory": "64Mi"}}})
    cluster.apply(pod)
    status = cluster.wait_phase("hog", "Failed", "Succeeded")["status"]
    terminated = status["containerStatuses"][0]["state"]["terminated"]
    assert (status["phase"], terminated["reason"], terminated["exitCode"]) == ("Failed", "OOMKilled", 137)


def test_logs_follow_streams_a_running_pod_and_ends_when_it_ends(cluster: Cluster) -> None:
    cluster.apply(_pod("ticker", "for i in 1 2 3 4; do echo tick $i; sleep 0.5; done"))
    cluster.wait_phase("ticker", "Running", "Succeeded")
    started = time.monotonic()
    result = cluster.kubectl("logs", "-f", "ticker", timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["tick 1", "tick 2", "tick 3", "tick 4"]
    assert time.monotonic() - started < 15
    assert cluster.pod("ticker")["status"]["phase"] == "Succeeded"


def test_deleting_a_pod_that_ignores_sigterm_kills_it_after_the_grace_period(cluster: Cluster,
                                                                              tmp_path: Path) -> None:
    pid_file = tmp_path / "stubborn.pid"
    cluster.apply(_pod("stubborn", f"trap '' TERM; echo $$$$ > {pid_file}; while true; do sleep 1; done",
                       terminationGracePeriodSeconds=2))
    cluster.wait_phase("stubborn", "Running")
    pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), 30))
    started = time.monotonic()
    cluster.ok("delete", "pod", "stubborn", timeout=30)
    took = time.monotonic() - started
    assert 1.5 <= took < 10, took
    assert not _alive(pid)
    assert cluster.kubectl("get", "pod", "stubborn").returncode != 0


def test_force_delete_with_zero_grace_is_immediate(cluster: Cluster, tmp_path: Path) -> None:
    pid_file = tmp_path / "forced.pid"
    cluster.apply(_pod("forced", f"trap '' TERM; echo $$$$ > {pid_file}; sleep 1000",
                       terminationGracePeriodSeconds=60))
    cluster.wait_phase("forced", "Running")
    pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), 30))
    started = time.monotonic()
    cluster.ok("delete", "pod", "forced", "--grace-period=0", "--force")
    assert time.monotonic() - started < 5
    assert cluster.kubectl("get", "pod", "forced").returncode != 0
    wait_for(lambda: not _alive(pid), timeout=10)


def test_pods_beyond_the_nodes_cpu_wait_unschedulable_and_start_when_room_frees(cluster: Cluster) -> None:
    cpus = int(json.loads(cluster.ok("get", "node", "kubeshim", "-o", "json"))["status"]["allocatable"]["cpu"])
    big = {"resources": {"requests": {"cpu": f"{cpus * 1000 - 100}m"}}}
    cluster.apply(_pod("first", "sleep 3", container=big))
    cluster.wait_phase("first", "Running")
    cluster.apply(_pod("second", "true", container=big))
    condition = wait_for(lambda: next((c for c in cluster.pod("second")["status"].get("conditions", [])
                                       if c["type"] == "PodScheduled"), None), 30)
    assert (condition["status"], condition["reason"]) == ("False", "Unschedulable")
    assert "Insufficient cpu" in condition["message"]
    assert cluster.wait_phase("second", "Succeeded", timeout=30)["spec"]["nodeName"] == "kubeshim"
    assert cluster.pod("first")["status"]["phase"] == "Succeeded"


def test_running_pods_survive_a_sigkill_of_kubeshim_and_finish_once(cluster: Cluster, tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    cluster.apply(_pod("survivor", f"echo $$$$ >> {starts}; sleep 4; echo finished"))
    cluster.wait_phase("survivor", "Running")
    first = int(wait_for(lambda: starts.exists() and starts.read_text().strip(), 30))
    cluster.restart(signal.SIGKILL)
    pod = cluster.wait_phase("survivor", "Succeeded", "Failed", timeout=30)
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    assert starts.read_text().split() == [str(first)], "the container was started twice"
    assert cluster.ok("logs", "survivor") == "finished\n"


def test_scheduling_and_container_starts_are_recorded_as_events(cluster: Cluster) -> None:
    cluster.apply(_pod("eventful", "true"))
    cluster.wait_phase("eventful", "Succeeded")

    def reasons() -> list[str]:
        listed = json.loads(cluster.ok("get", "events", "--field-selector", "involvedObject.name=eventful",
                                       "-o", "json"))
        return [e["reason"] for e in sorted(listed["items"], key=lambda e: int(e["metadata"]["resourceVersion"]))]
    seen = wait_for(lambda: (r := reasons()) and {"Scheduled", "Pulled", "Created", "Started"} <= set(r)
                    and r, 30)
    assert seen.index("Scheduled") < seen.index("Started")
    described = cluster.ok("describe", "pod", "eventful")
    assert "Successfully assigned default/eventful to kubeshim" in described
    assert "Started container main" in described
