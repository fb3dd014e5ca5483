"""Fixtures of the fuzz tier: a kubeshim of its own running no controllers (so that nothing but the fuzzer
writes, and a refused request's change cannot hide among theirs), its OpenAPI operations and the namespace the
fuzzer works in; and, for the sample replayed on both, the differential tier's reference stack and kubeshim
(tests/differential/stack.py)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from harness import Kubeshim, start_kubeshim

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE), str(HERE.parent / "differential")]

import runner  # noqa: E402 - this folder's modules and the differential tier's, importable once on the path
import spec  # noqa: E402
import stack  # noqa: E402

k8s_bin, servers, clients = stack.k8s_bin, stack.servers, stack.clients


@pytest.fixture(scope="session")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubeshim]:
    server = start_kubeshim(tmp_path_factory.mktemp("fuzz") / "data", "--no-kubelet", "--controllers", "")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fuzzed_http(fuzzed: Kubeshim) -> Iterator[httpx.Client]:
    with runner.client(fuzzed.url, fuzzed.ca, fuzzed.token) as http:
        resp = http.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace",
                                                    "metadata": {"name": runner.NAMESPACE}})
        assert resp.status_code == 201, resp.text
        yield http


@pytest.fixture(scope="session")
def fuzzed_spec(fuzzed_http: httpx.Client) -> spec.Spec:
    return spec.load(fuzzed_http)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """What the fuzz runs measured: the count, the codes histogram, the operations reached."""
    for name, figures in runner.FIGURES.items():
        terminalreporter.section(name)
        for key, value in figures.items():
            terminalreporter.write_line(f"{key}: {value}")
