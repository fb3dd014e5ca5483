"""Fixtures for the kubelet tier: a real Kubelet (real processes, signals, cgroups) on the real registry.

The API is kubeshim's own, in-process (tests/localapi.py): a SQLite Store, the generic Registry and the
Catalog behind the LocalClient every controller uses, with no HTTP in between. Tests read current objects
synchronously from the registry and observe what the kubelet wrote through real watches.
"""
from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import pytest

from harness import wait_for_async
from localapi import LocalApi
from shim.clients.base import PODS, WatchEvent
from shim.kubelet import cgroups
from shim.kubelet.config import KubeletConfig
from shim.kubelet.kubelet import Kubelet, host_capabilities

CGROUP_NAME = f"kubeshim-test-{os.getpid()}"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Everything here runs real processes: mark it `kubelet` (select with -m kubelet). Kubelet tests that start
    no process (state machine, env, volumes as files, scheduling decisions...) live in tests/unit."""
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.kubelet)


@pytest.fixture(scope="session")
def capabilities(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """What this host allows, probed once: (namespace mode, cgroup setup)."""
    config = KubeletConfig(data_dir=tmp_path_factory.mktemp("probe"), cgroup_name=CGROUP_NAME)
    caps = host_capabilities(config)
    yield caps
    setup = caps[1]
    if setup:
        for parent in setup["parents"].values():
            _rmdir_tree(parent)


def _rmdir_tree(path: str) -> None:
    """cgroup directories can only be rmdir'ed, children first."""
    if not os.path.isdir(path):
        return
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            _rmdir_tree(entry.path)
    try:
        os.rmdir(path)
    except OSError:
        pass


def make_pod(name: str, containers: list[dict[str, Any]], namespace: str = "default",
             **spec: Any) -> dict[str, Any]:
    for c in containers:
        c.setdefault("image", "python:3.11")
    body = {"containers": containers, **spec}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace}, "spec": body}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[LocalApi]:
    local = await LocalApi(tmp_path / "state.db").start()
    yield local
    await local.close()


class Harness:
    def __init__(self, api: LocalApi, config: KubeletConfig, caps: Any) -> None:
        self.api = api
        self.client = api.client
        self.config = config
        self.caps = caps
        self.kubelet: Kubelet | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self, **kwargs: Any) -> Kubelet:
        ns_mode, cg = self.caps
        kwargs.setdefault("namespace_mode", ns_mode if self.config.mount_mode != "symlink" else None)
        kwargs.setdefault("cgroup_setup", cg if self.config.cgroups != "off" else None)
        self.kubelet = Kubelet(self.client, self.config, **kwargs)
        self.task = asyncio.create_task(self.kubelet.run())
        await wait_for_async(lambda: self.kubelet._ready.is_set() or (self.task.done() and self.task.result()))
        return self.kubelet

    async def stop(self) -> None:
        """Stop the kubelet only (containers keep running, as when kubeshim exits)."""
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
            self.task = None

    async def create(self, pod: dict[str, Any]) -> dict[str, Any]:
        return await self.client.create(PODS, pod, pod["metadata"].get("namespace", "default"))

    def pod(self, name: str, namespace: str = "default") -> dict[str, Any] | None:
        return self.api.get(PODS, name, namespace)

    def record(self, name: str, namespace: str = "default") -> list[WatchEvent]:
        """The pod's watch events from now on (see LocalApi.record)."""
        return self.api.record(PODS, name, namespace)

    async def wait_phase(self, name: str, *phases: str, timeout: float = 10.0) -> dict[str, Any]:
        return await wait_for_async(
            lambda: (p := self.pod(name)) and p.get("status", {}).get("phase") in phases and p, timeout)

    async def wait_status(self, name: str, check: Callable[[dict[str, Any]], Any],
                          timeout: float = 10.0) -> dict[str, Any]:
        def probe() -> Any:
            p = self.pod(name)
            try:
                return p and check(p) and p
            except (KeyError, StopIteration):
                return None

        return await wait_for_async(probe, timeout)

    def container_status(self, pod: dict[str, Any], name: str, init: bool = False) -> dict[str, Any]:
        key = "initContainerStatuses" if init else "containerStatuses"
        return next(s for s in pod["status"][key] if s["name"] == name)


@pytest.fixture
async def harness(tmp_path: Path, capabilities: Any, api: LocalApi) -> AsyncIterator[Harness]:
    config = KubeletConfig(data_dir=tmp_path / "data", backoff_base=0.3, backoff_max=1.2, resync_seconds=0.5,
                           heartbeat_seconds=0.2, node_status_seconds=0.5, cgroup_name=CGROUP_NAME,
                           memory_poll_seconds=0.05)
    h = Harness(api, config, capabilities)
    yield h
    await h.stop()
    # Kill whatever a test left running (tests that want survivors stop them themselves).
    await _reap(config)


async def _reap(config: KubeletConfig) -> None:
    from shim.kubelet import checkpoint
    from shim.kubelet.runtime import mounts
    from shim.kubelet.runtime.process import ProcessProvider

    provider = ProcessProvider(config.pods_dir)
    if not config.pods_dir.exists():
        return
    for pod_dir in config.pods_dir.iterdir():
        cdirs = pod_dir / "containers"
        if not cdirs.exists():
            continue
        for cdir in cdirs.iterdir():
            obs = provider.adopt(pod_dir.name, cdir.name)
            if not obs.done:
                await provider.stop(cdir.name, 0)
        record = checkpoint.load(pod_dir)
        for path in reversed(record.created_paths) if record else []:
            mounts.release(path)


__all__ = ["make_pod", "Harness", "LocalApi", "cgroups"]
