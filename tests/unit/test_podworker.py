"""The pod worker without processes: a FakeProvider runs the containers, kubeshim's own registry (LocalClient,
in-process) holds the pod, and a real pod informer feeds the worker as the kubelet does. Last, a whole Kubelet
on a FakeProvider, for what passes between its workers through their NodeContext: shared host paths."""
from __future__ import annotations

import asyncio
import base64
import collections
import functools
import os
import time
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from harness import wait_for_async
from localapi import LocalApi
from shim.clients.base import CONFIGMAPS, EVENTS, PODS, SECRETS, Client, Resource
from shim.kubelet.config import KubeletConfig
from shim.kubelet.events import Recorder
from shim.kubelet.images import ImageResolver
from shim.kubelet.informer import Informer
from shim.kubelet.kubelet import Kubelet
from shim.kubelet.nodecontext import NodeContext
from shim.kubelet.podworker import PodWorker
from shim.kubelet.runtime.fake import FakeContainer, FakeProvider


class CountingGets:
    """The real client, with a tally of GETs per (resource, name): what "one source fetch per sync" counts."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self.gets: collections.Counter[tuple[str, str]] = collections.Counter()

    async def get(self, resource: Resource, name: str, namespace: str = "") -> dict[str, Any]:
        self.gets[(resource.plural, name)] += 1
        return await self._client.get(resource, name, namespace)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class Node:
    """A node for one test: its NodeContext (FakeProvider, counting client), the informer and the workers."""

    def __init__(self, api: LocalApi, data_dir: Path) -> None:
        self.api = api
        self.provider = FakeProvider()
        self.client = CountingGets(api.client)
        self.config = KubeletConfig(data_dir=data_dir, backoff_base=0.2, backoff_max=0.8, resync_seconds=0.3)
        self.recorder = Recorder(self.client, "kubelet", self.config.node_name)
        self.context = NodeContext(self.config, self.client, self.provider, ImageResolver(),
                                   self.recorder, None, lambda: {"cpu": "2", "memory": "4Gi"},
                                   lambda path, uid: False, lambda path, uid: False)
        self.workers: dict[str, PodWorker] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.informer = Informer(self.client, PODS, self._on_pod)

    def _on_pod(self, kind: str, pod: dict[str, Any]) -> None:
        worker = self.workers.get(pod["metadata"]["uid"])
        if worker is None:
            return
        if kind == "DELETED":
            worker.api_deleted()
        else:
            worker.update(pod)

    async def start(self) -> None:
        self.tasks += [asyncio.create_task(self.informer.run()), asyncio.create_task(self.recorder.run())]
        await self.informer.synced.wait()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def create(self, name: str, containers: list[dict[str, Any]], **spec: Any) -> PodWorker:
        """Create the pod bound to this node; its worker is built but not running (see `run`)."""
        for c in containers:
            c.setdefault("image", "python:3.11")
            c.setdefault("command", ["prog"])
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
                "spec": {"nodeName": self.config.node_name, "containers": containers, **spec}}
        pod = await self.client.create(PODS, body, "default")
        worker = PodWorker(self.context, pod)
        self.workers[pod["metadata"]["uid"]] = worker
        return worker

    async def run(self, name: str, containers: list[dict[str, Any]], **spec: Any) -> PodWorker:
        worker = await self.create(name, containers, **spec)
        self.tasks.append(asyncio.create_task(worker.run()))
        return worker

    def pod(self, name: str) -> dict[str, Any] | None:
        return self.api.get(PODS, name, "default")

    def status(self, name: str, container: str = "main") -> dict[str, Any]:
        pod = self.pod(name) or {}
        return next((s for s in (pod.get("status") or {}).get("containerStatuses") or [] if s["name"] == container),
                    {})

    async def running(self, name: str, container: str = "main", restarts: int = 0) -> FakeContainer:
        """Wait until the API shows the container running after `restarts` restarts; that fake instance."""
        await wait_for_async(lambda: "running" in self.status(name, container).get("state", {})
                             and self.status(name, container)["restartCount"] == restarts)
        return self.provider.containers[self.status(name, container)["containerID"].split("://")[1]]


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    api = await LocalApi(tmp_path / "state.db").start()
    node = Node(api, tmp_path / "kubelet")
    await node.start()
    yield node
    await node.close()
    await api.close()


async def test_create_running_terminated(node: Node) -> None:
    await node.run("once", [{"name": "main", "command": ["prog", "$(GREETING)"],
                             "env": [{"name": "GREETING", "value": "hi"}]}], restartPolicy="Never")
    main = await node.running("once")
    assert main.spec.argv == ["prog", "hi"]
    assert main.spec.env["HOSTNAME"] == "once" and main.spec.env["GREETING"] == "hi"
    assert (node.pod("once") or {})["status"]["phase"] == "Running"
    node.provider.write_log(main.spec.id, b"bye\n")
    node.provider.exit(main.spec.id, 0)
    await wait_for_async(lambda: (node.pod("once") or {})["status"]["phase"] == "Succeeded")
    terminated = node.status("once")["state"]["terminated"]
    assert terminated["exitCode"] == 0 and terminated["reason"] == "Completed"
    assert terminated["containerID"] == f"kubeshim://{main.spec.id}"


async def test_fallback_to_logs_reads_through_the_provider(node: Node) -> None:
    await node.run("fails", [{"name": "main", "terminationMessagePolicy": "FallbackToLogsOnError"}],
                   restartPolicy="Never")
    main = await node.running("fails")
    node.provider.write_log(main.spec.id, b"".join(b"line %d\n" % i for i in range(100)))
    node.provider.exit(main.spec.id, 2)
    await wait_for_async(lambda: (node.pod("fails") or {})["status"]["phase"] == "Failed")
    terminated = node.status("fails")["state"]["terminated"]
    assert terminated["reason"] == "Error" and terminated["exitCode"] == 2
    assert terminated["message"].splitlines() == [f"line {i}" for i in range(20, 100)]


async def test_restart_back_off(node: Node) -> None:
    """First restart immediate, then the back-off doubles from base (0.2s here) and shows as CrashLoopBackOff."""
    await node.run("crashy", [{"name": "main"}], restartPolicy="Always")
    first = await node.running("crashy")
    node.provider.exit(first.spec.id, 1)
    second = await node.running("crashy", restarts=1)
    assert second.spec.id != first.spec.id
    assert second.observed.started_at - first.observed.finished_at < 0.2
    node.provider.exit(second.spec.id, 1)
    waiting = await wait_for_async(lambda: node.status("crashy")["state"].get("waiting"))
    assert waiting == {"reason": "CrashLoopBackOff", "message": "back-off 200ms restarting failed container=main "
                                                                 f"pod=crashy_default({node.pod('crashy')['metadata']['uid']})"}
    third = await node.running("crashy", restarts=2)
    assert third.observed.started_at - second.observed.finished_at >= 0.2
    node.provider.exit(third.spec.id, 1)
    waiting = await wait_for_async(lambda: node.status("crashy")["state"].get("waiting"))
    assert waiting["message"].startswith("back-off 400ms ")
    assert node.status("crashy")["lastState"]["terminated"]["exitCode"] == 1


async def test_deletion_with_grace(node: Node) -> None:
    """preStop through the provider's exec, SIGTERM, SIGKILL when the grace runs out, the final status, then
    the object and the pod directory go."""
    node.provider.stubborn.add("main")
    worker = await node.run("slow", [{"name": "main", "lifecycle": {"preStop": {"exec": {"command": ["bye"]}}}}],
                            restartPolicy="Never", terminationGracePeriodSeconds=30)
    main = await node.running("slow")
    events = node.api.record(PODS, "slow")
    deleted_at = time.monotonic()
    await node.client.delete(PODS, "slow", "default", grace_period_seconds=1)
    await wait_for_async(lambda: node.pod("slow") is None)
    assert time.monotonic() - deleted_at >= 1.0
    assert node.provider.execs == [(main.spec.id, ["bye"])]
    [(stopped, grace)] = node.provider.stops
    assert stopped == main.spec.id and 0.9 < grace <= 1.0  # what preStop left of the grace
    assert main.observed.exit_code == 137 and main.observed.signal == 9
    await wait_for_async(lambda: events and events[-1].type == "DELETED")
    final = events[-2].object["status"]
    assert final["phase"] == "Failed" and final["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 137
    await wait_for_async(lambda: not worker.dir.exists())
    reasons = {e["reason"] for e in (await node.client.list(EVENTS, "default"))["items"]}
    assert {"Created", "Started", "Killing"} <= reasons


async def test_missing_configmap_is_a_config_error_until_it_exists(node: Node) -> None:
    await node.run("configured", [{"name": "main", "env": [
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "mode"}}}]}])
    waiting = await wait_for_async(lambda: node.status("configured").get("state", {}).get("waiting"))
    assert waiting == {"reason": "CreateContainerConfigError", "message": 'configmap "settings" not found'}
    assert not node.provider.containers
    await node.client.create(CONFIGMAPS, {"metadata": {"name": "settings"}, "data": {"mode": "fast"}}, "default")
    main = await node.running("configured")
    assert main.spec.env["MODE"] == "fast"


async def test_start_failure_is_a_create_container_error(node: Node) -> None:
    node.provider.start_errors["main"] = "exec format error"
    await node.run("broken", [{"name": "main"}], restartPolicy="Never")
    waiting = await wait_for_async(lambda: node.status("broken").get("state", {}).get("waiting"))
    assert waiting == {"reason": "CreateContainerError", "message": "exec format error"}
    await node.running("broken")  # the next attempt, after the back-off, starts it


async def test_exec_probes_and_post_start_run_through_the_provider(node: Node) -> None:
    await node.run("probed", [{"name": "main", "readinessProbe": {"exec": {"command": ["ready?"]}},
                               "lifecycle": {"postStart": {"exec": {"command": ["hello"]}}}}])
    main = await node.running("probed")
    await wait_for_async(lambda: node.status("probed").get("ready"))
    assert (main.spec.id, ["hello"]) in node.provider.execs and (main.spec.id, ["ready?"]) in node.provider.execs


async def test_failed_liveness_exec_restarts_the_container(node: Node) -> None:
    probed: list[str] = []

    def sick_first_instance(container: FakeContainer, command: list[str]) -> int:
        probed.append(container.spec.id)
        return 1 if container.spec.id == probed[0] else 0

    node.provider.on_exec = sick_first_instance
    await node.run("unwell", [{"name": "main", "livenessProbe": {"exec": {"command": ["alive?"]},
                                                                 "failureThreshold": 1}}])
    second = await node.running("unwell", restarts=1)
    first = node.provider.containers[probed[0]]
    assert second.spec.id != first.spec.id and first.observed.signal == 15
    assert node.status("unwell")["lastState"]["terminated"]["exitCode"] == 143


async def test_one_source_fetch_per_sync(node: Node) -> None:
    """Volumes and three container starts in one sync: one GET per referenced object, not one per user."""
    await node.client.create(CONFIGMAPS, {"metadata": {"name": "cfg"}, "data": {"A": "1"}}, "default")
    await node.client.create(SECRETS, {"metadata": {"name": "sec"}, "data": {"B": base64.b64encode(b"2").decode()}},
                             "default")
    uses = {"envFrom": [{"configMapRef": {"name": "cfg"}}, {"secretRef": {"name": "sec"}}]}
    worker = await node.create("sourced", [{"name": n, **uses} for n in ("a", "b", "c")],
                               volumes=[{"name": "v1", "configMap": {"name": "cfg"}},
                                        {"name": "v2", "secret": {"secretName": "sec"}}])
    node.client.gets.clear()
    await worker.sync()
    assert sorted(c.spec.name for c in node.provider.containers.values()) == ["a", "b", "c"]
    assert all(c.spec.env["A"] == "1" and c.spec.env["B"] == "2" for c in node.provider.containers.values())
    assert (worker.dir / "volumes" / "kubernetes.io~configmap" / "v1" / "A").read_text() == "1"
    assert node.client.gets == {("configmaps", "cfg"): 1, ("secrets", "sec"): 1}
    node.client.gets.clear()
    await worker.sync()  # nothing to start, volumes fresh: nothing to fetch
    assert node.client.gets == {}
    worker.api_deleted()
    await worker.sync()


async def test_shared_mount_point_is_handed_over_to_the_pod_still_using_it(tmp_path: Path) -> None:
    """Symlink mode: the pod that made a mount point leaves first; the other pod, still using it, inherits
    its cleanup, and the path goes when that pod goes."""
    api = await LocalApi(tmp_path / "state.db").start()
    config = KubeletConfig(data_dir=tmp_path / "kubelet", resync_seconds=0.3, heartbeat_seconds=0.2)
    kubelet = Kubelet(api.client, config, provider=FakeProvider())
    task = asyncio.create_task(kubelet.run())
    host, mount = tmp_path / "host", tmp_path / "mnt" / "data"
    host.mkdir()

    def running(name: str) -> bool:
        pod = api.get(PODS, name, "default") or {}
        return any("running" in s["state"] for s in (pod.get("status") or {}).get("containerStatuses") or [])

    try:
        for name in ("first", "second"):
            await api.client.create(PODS, {"metadata": {"name": name}, "spec": {
                "nodeName": config.node_name, "volumes": [{"name": "data", "hostPath": {"path": str(host)}}],
                "containers": [{"name": "main", "image": "python:3.11", "command": ["prog"],
                                "volumeMounts": [{"name": "data", "mountPath": str(mount)}]}]}}, "default")
            await wait_for_async(functools.partial(running, name))
        assert os.readlink(mount) == str(host)
        second = next(w for w in kubelet.workers.values() if w.name == "second")
        await api.client.delete(PODS, "first", "default")
        await wait_for_async(lambda: api.get(PODS, "first", "default") is None and len(kubelet.workers) == 1)
        assert os.readlink(mount) == str(host)
        assert set(second.record.created_paths) == {str(mount), str(mount.parent)}
        await api.client.delete(PODS, "second", "default")
        await wait_for_async(lambda: not kubelet.workers)
        assert not os.path.lexists(mount.parent)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await api.close()
