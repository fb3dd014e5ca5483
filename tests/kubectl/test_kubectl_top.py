"""kubectl top pods and top nodes (1.27 and 1.33) against a kubeshim with its kubelet, whose figures
metrics.k8s.io serves: a pod that spins shows CPU, one that holds 64 MiB shows at least that much memory."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from harness import Kubeshim, kubectl_path, processes_under, start_kubeshim, wait_for
from kubectl_helpers import Kubectl, row

SPIN = "x = bytearray(64 * 1024 * 1024)\nwhile True:\n    x[0] = 1"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubeshim]:
    server = start_kubeshim(tmp_path_factory.mktemp("top") / "data")
    yield server
    admin = Kubectl("1.33", kubectl_path("1.33"), tmp_path_factory.mktemp("top-admin"), server.kubeconfig)
    admin.run("delete", "pods", "--all", "--grace-period=0", "--force")
    wait_for(lambda: not json.loads(admin.ok("get", "pods", "-o", "json"))["items"], timeout=20)
    wait_for(lambda: not processes_under(server.data_dir), timeout=20)
    server.stop()


@pytest.fixture(scope="module")
def spinner(cluster: Kubeshim, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A running pod that spins one CPU and holds 64 MiB."""
    admin = Kubectl("1.33", kubectl_path("1.33"), tmp_path_factory.mktemp("top-setup"), cluster.kubeconfig)
    admin.ok("run", "spinner", "--image=python:3.11", "--restart=Never", "--", "python", "-c", SPIN)
    admin.ok("wait", "--for=condition=Ready", "pod/spinner", "--timeout=60s")
    return "spinner"


@pytest.fixture(params=("1.27", "1.33"), ids=lambda v: f"kubectl-{v}")
def top(request: pytest.FixtureRequest, cluster: Kubeshim, tmp_path: Path) -> Kubectl:
    return Kubectl(request.param, kubectl_path(request.param), tmp_path, cluster.kubeconfig)


def millicores(text: str) -> int:
    return int(text.removesuffix("m")) if text.endswith("m") else int(text) * 1000


def mebibytes(text: str) -> int:
    return int(text.removesuffix("Mi"))


def test_top_pods_shows_cpu_and_memory(top: Kubectl, spinner: str) -> None:
    shown = wait_for(lambda: top.run("top", "pods").returncode == 0 and top.ok("top", "pods"), timeout=30)
    cells = row(shown, spinner)
    assert millicores(cells["CPU(cores)"]) > 100, shown
    assert mebibytes(cells["MEMORY(bytes)"]) >= 64, shown


def test_top_pod_containers(top: Kubectl, spinner: str) -> None:
    shown = wait_for(lambda: top.run("top", "pod", spinner, "--containers").returncode == 0
                     and top.ok("top", "pod", spinner, "--containers"), timeout=30)
    assert shown.split("\n")[1].split()[:2] == [spinner, spinner]


def test_top_nodes_shows_the_node(top: Kubectl, spinner: str) -> None:
    shown = top.ok("top", "nodes")
    cells = row(shown, "kubeshim")
    percent = "%" if top.version == "1.27" else "(%)"  # the header kubectl 1.33 writes: CPU(%)
    assert millicores(cells["CPU(cores)"]) > 0 and cells[f"CPU{percent}"].endswith("%"), shown
    assert mebibytes(cells["MEMORY(bytes)"]) > 64 and cells[f"MEMORY{percent}"].endswith("%"), shown


def test_top_of_a_missing_pod_fails_with_its_not_found(top: Kubectl, spinner: str) -> None:
    assert 'pods "nope" not found' in top.fails("top", "pod", "nope").stderr
