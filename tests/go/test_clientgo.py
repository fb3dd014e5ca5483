"""The go tier: tests/clientgo (client-go + controller-runtime) against a live kubeshim, in two builds.

- Flyte's versions (go.mod: client-go v0.34.1, controller-runtime v0.22.4), WatchList off by default;
- the same build with the WatchList gate switched on through its environment variable
  (KUBE_FEATURE_WatchListClient=true) and client-go's watch-list consistency detector, for the informer tests;
- the newest client-go (go.latest.mod, selected with -modfile), where WatchList is on by default.

The streaming tests (exec and port-forward through client-go) get a second kubeshim, with its kubelet
(KUBESHIM_NODE_KUBECONFIG). Go's module and build caches stay at their defaults (~/go/pkg/mod,
~/.cache/go-build), so a warm run only links.
See tests/clientgo/README.md.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from harness import require_tool, start_kubeshim

pytestmark = pytest.mark.go

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "tests" / "clientgo"
WATCH_WINDOW = 500  # small enough for the 410 tests to outrun with a few hundred writes
GO_TIMEOUT = 1200  # a cold build of both module graphs on 2 cores takes several minutes


@pytest.fixture(scope="module")
def go(request: pytest.FixtureRequest) -> str:
    return require_tool(shutil.which("go"), "the Go toolchain (`go`) is not on PATH")


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, go: str) -> Iterator:
    """A kubeshim of its own: a small watch window (410 reachable) and 1 s bookmarks (bookmark tests are quick)."""
    data = tmp_path_factory.mktemp("clientgo") / "data"
    shim = start_kubeshim(data, "--no-kubelet", "--watch-window", str(WATCH_WINDOW),
                                         "--bookmark-interval", "1")
    yield shim
    shim.stop()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, go: str) -> Iterator:
    """A kubeshim that runs pods, for the exec and port-forward tests."""
    shim = start_kubeshim(tmp_path_factory.mktemp("clientgo-node") / "data")
    yield shim
    shim.stop()


def run_go_test(go: str, server, node, *args: str, **env: str) -> None:
    environ = {**os.environ, "KUBESHIM_KUBECONFIG": str(server.kubeconfig), "KUBESHIM_WATCH_WINDOW": str(WATCH_WINDOW),
               "KUBESHIM_NODE_KUBECONFIG": str(node.kubeconfig), **env}
    cmd = [go, "test", "-count=1", *args, "./..."]
    try:
        proc = subprocess.run(cmd, cwd=SUITE, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=GO_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        pytest.fail(f"`{' '.join(cmd)}` timed out after {GO_TIMEOUT}s\n{out[-20000:]}")
    print(proc.stdout)
    assert proc.returncode == 0, f"`{' '.join(cmd)}` exited {proc.returncode}:\n{proc.stdout[-20000:]}"


def test_clientgo_flyte_versions(go: str, server, node) -> None:
    """client-go v0.34.1 + controller-runtime v0.22.4: every test (WatchList tests flip the gate themselves)."""
    run_go_test(go, server, node)


def test_clientgo_flyte_versions_watchlist_env(go: str, server, node) -> None:
    """v0.34.1 with KUBE_FEATURE_WatchListClient=true: informers sync through watch-list, cross-checked against
    an exact list by client-go's consistency detector (it panics on a difference)."""
    run_go_test(go, server, node, "-run", "WatchList|Informer",
                KUBE_FEATURE_WatchListClient="true", KUBE_WATCHLIST_INCONSISTENCY_DETECTOR="true")


def test_clientgo_latest(go: str, server, node) -> None:
    """The newest client-go and controller-runtime (go.latest.mod): WatchList on by default."""
    run_go_test(go, server, node, "-modfile=go.latest.mod")
