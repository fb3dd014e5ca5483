"""In-process API plus the workload controllers, for tests that drive them without HTTP and without a kubelet
(pods stay Pending unless a test writes their status, as a kubelet would)."""
from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, TypeVar

from localapi import LocalApi
from shim.clients.base import PODS
from shim.controllers.clock import Clock
from shim.controllers.selection import Selection
from shim.controllers.workloads import run_workloads
from shim.kubelet.timeutil import rfc3339

T = TypeVar("T")


@contextlib.asynccontextmanager
async def workloads(tmp_path: Path, controllers: list[str] | None = None,
                    clock: Clock | None = None) -> AsyncIterator[LocalApi]:
    api = await LocalApi(tmp_path / "state.db").start()
    chosen = Selection.parse(controllers or ["*"])
    served = lambda r: api.catalog.lookup(r.group, r.version, r.plural) is not None  # noqa: E731
    kwargs: dict[str, Any] = {"clock": clock} if clock else {}
    task = asyncio.create_task(run_workloads(api.client, served, chosen, **kwargs))
    try:
        yield api
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await api.close()


async def pods_of(api: LocalApi, namespace: str = "default", selector: str = "") -> list[dict[str, Any]]:
    return list((await api.client.list(PODS, namespace, label_selector=selector))["items"])


async def mark_ready(api: LocalApi, pod: dict[str, Any], at: float) -> None:
    """Write the status a kubelet writes for a running, ready pod."""
    meta = pod["metadata"]
    status = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True",
                                                  "lastTransitionTime": rfc3339(at)}]}
    await api.client.patch(PODS, meta["name"], {"status": status}, namespace=meta["namespace"], subresource="status")


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 10.0, what: str = "") -> T:
    """Await `check` every 20ms until it returns something truthy, and return that; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        last = await check()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or check}: last {last!r}")
        await asyncio.sleep(0.02)


async def live_pods(api: LocalApi, n: int, selector: str = "") -> list[dict[str, Any]]:
    """Wait until exactly `n` pods (not being deleted) match `selector`, and return them."""
    async def check() -> tuple[list[dict[str, Any]]] | None:
        pods = [p for p in await pods_of(api, selector=selector) if not p["metadata"].get("deletionTimestamp")]
        return (pods,) if len(pods) == n else None
    return (await eventually(check, what=f"{n} pods matching {selector!r}"))[0]


@contextlib.asynccontextmanager
async def fake_kubelet(api: LocalApi, ready: bool = True) -> AsyncIterator[None]:
    """Stand in for a kubelet: every new pod is marked Running (and Ready unless `ready` is False)."""
    async def run() -> None:
        seen: set[str] = set()
        async for event in api.client.watch(PODS, "", resource_version=str(api.store.revision)):
            pod = event.object
            uid = pod["metadata"].get("uid", "")
            if event.type == "ADDED" and uid not in seen:
                seen.add(uid)
                if ready:
                    await mark_ready(api, pod, time.time())
                else:
                    await api.client.patch(PODS, pod["metadata"]["name"], {"status": {"phase": "Running"}},
                                           namespace=pod["metadata"]["namespace"], subresource="status")

    task = asyncio.create_task(run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
