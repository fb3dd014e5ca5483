"""The kubelet: node registration, one shared pod informer, the scheduler and a worker per pod.

`run_kubelet(client, config)` is the whole public surface for running it; cancel the task to stop. Stopping
leaves containers running: their supervisors outlive kubeshim and the next start re-adopts them. Pods of
deleted namespaces need nothing special: the namespace controller deletes them through the API and the
workers honour the deletion like any other.
"""
from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import Any, AsyncIterator

from shim.clients.base import PODS, Client
from shim.kubelet import cgroups, checkpoint, streams
from shim.kubelet.config import KubeletConfig
from shim.kubelet.events import Recorder
from shim.kubelet.hostsfile import SERVICES, ClusterNames
from shim.kubelet.images import ImageResolver
from shim.kubelet.informer import Informer
from shim.kubelet.logs import LogOptions, read_log
from shim.kubelet.node import NodeAgent, capacity
from shim.kubelet.nodecontext import NodeContext
from shim.kubelet.podworker import PodWorker
from shim.kubelet.runtime import mounts as mountlib
from shim.kubelet.runtime.process import ProcessProvider
from shim.kubelet.runtime.provider import Provider
from shim.kubelet.scheduler import Scheduler
from shim.registry.services import Starter

log = logging.getLogger(__name__)


def host_capabilities(config: KubeletConfig) -> tuple[str | None, cgroups.Setup | None]:
    """(namespace mode, cgroup setup) this host allows, honouring the config's choices."""
    scratch = Path(config.data_dir) / "probe"
    scratch.mkdir(parents=True, exist_ok=True)
    ns_mode = None
    if config.mount_mode in ("auto", "namespace"):
        ns_mode = mountlib.probe(str(scratch), config.python)
        if ns_mode is None and config.mount_mode == "namespace":
            raise RuntimeError("mount_mode 'namespace' was requested but this host allows no mount namespaces")
    shutil.rmtree(scratch, ignore_errors=True)
    cg = cgroups.detect(config.cgroup_name) if config.cgroups != "off" else None
    return ns_mode, cg


class Kubelet:
    def __init__(self, client: Client, config: KubeletConfig, *, provider: Provider | None = None,
                 namespace_mode: str | None = None, cgroup_setup: cgroups.Setup | None = None) -> None:
        self.client = client
        self.config = config
        self.node = NodeAgent(client, config)
        self.images = ImageResolver.from_config(config.image_rules, config.image_rules_file,
                                                Path(config.data_dir) / "images")
        self.namespace_mode = namespace_mode
        self.cgroup_setup = cgroup_setup
        self._provider = provider
        self._context: NodeContext | None = None
        self.workers: dict[str, PodWorker] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.informer = Informer(client, PODS, self._on_pod)
        self.services = Informer(client, SERVICES, self._on_service)
        self.cluster_names = ClusterNames(lambda: self.services.store.values(), lambda: self.informer.store.values(),
                                          config.host_ip, config.cluster_domain)
        self._hosts_refresh_pending = False
        self.recorder = Recorder(client, "kubelet", config.node_name)
        self.scheduler = Scheduler(client, config.node_name, lambda: list(self.informer.store.values()),
                                   lambda: self.node.node, Recorder(client, "default-scheduler", config.node_name))
        self._ready = asyncio.Event()

    async def prepare(self) -> None:
        """Probe what this host allows (unless given) and make the runtime provider; before anything starts a
        container or reads a log, so that neither gets a provider made without namespaces or cgroups."""
        if self._provider is not None:
            return
        if self.namespace_mode is None and self.cgroup_setup is None:
            self.namespace_mode, self.cgroup_setup = await asyncio.to_thread(host_capabilities, self.config)
            log.info("kubelet: mount namespaces=%s cgroups=%s", self.namespace_mode,
                     self.cgroup_setup and self.cgroup_setup["version"])
        self._provider = ProcessProvider(self.config.pods_dir, python=self.config.python,
                                         namespace_mode=self.namespace_mode, cgroup_setup=self.cgroup_setup,
                                         memory_poll_seconds=self.config.memory_poll_seconds)

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            raise RuntimeError("the kubelet has no runtime provider before prepare()")
        return self._provider

    @property
    def context(self) -> NodeContext:
        """What every pod worker gets of this kubelet (made once the provider exists)."""
        if self._context is None:
            self._context = NodeContext(self.config, self.client, self.provider, self.images, self.recorder,
                                        self.namespace_mode, self.allocatable, self.path_busy, self.hand_over_path,
                                        self.cluster_names.entries)
        return self._context

    def allocatable(self) -> dict[str, Any]:
        return (self.node.node.get("status") or {}).get("allocatable") or capacity(self.config)

    def path_user(self, path: str, exclude_uid: str) -> PodWorker | None:
        """Another pod with running (or starting) containers that covers this host path or a path below it."""
        return next((w for uid, w in self.workers.items() if uid != exclude_uid and w.covers(str(path))), None)

    def path_busy(self, path: str, exclude_uid: str) -> bool:
        return self.path_user(path, exclude_uid) is not None

    def hand_over_path(self, path: str, from_uid: str) -> bool:
        """A mount point pod `from_uid` made and another pod still covers: that pod now owns its cleanup."""
        heir = self.path_user(path, from_uid)
        if heir is not None:
            heir.own_path(path)
        return heir is not None

    async def read_log(self, pod: dict[str, Any], container: str, opts: LogOptions) -> AsyncIterator[bytes]:
        return await read_log(pod, container, opts, provider=self.provider)

    def exec_in(self, pod: dict[str, Any], container: str, command: list[str], stdin: bool, tty: bool) -> Starter:
        """`kubectl exec`: the command in the container's running instance (streams.exec_in)."""
        return streams.exec_in(self.provider, pod, container, command, stdin, tty)

    def attach_to(self, pod: dict[str, Any], container: str, stdin: bool) -> Starter:
        """`kubectl attach`: the streams of the container's running program (streams.attach_to)."""
        return streams.attach_to(self.provider, pod, container, stdin)

    # -- pods -----------------------------------------------------------------------------------------------
    def _on_pod(self, kind: str, pod: dict[str, Any]) -> None:
        if self.config.schedule:
            self.scheduler.on_event(kind, pod)
        spec = pod.get("spec") or {}
        if spec.get("subdomain") and spec.get("hostname"):  # may name a headless Service's pod
            self._names_changed()
        if (pod.get("spec") or {}).get("nodeName") != self.config.node_name:
            return
        uid = (pod.get("metadata") or {}).get("uid", "")
        worker = self.workers.get(uid)
        if kind == "DELETED":
            if worker is not None:
                worker.api_deleted()
            return
        if worker is None:
            self._spawn(pod)
        else:
            worker.update(pod)

    # -- names in pods' /etc/hosts --------------------------------------------------------------------------
    def _on_service(self, kind: str, service: dict[str, Any]) -> None:
        self._names_changed()

    def _names_changed(self) -> None:
        """Rewrite every pod's hosts file once the current burst of events is handled (a relist is one)."""
        self.cluster_names.invalidate()
        if not self._hosts_refresh_pending:
            self._hosts_refresh_pending = True
            asyncio.get_running_loop().call_soon(self._refresh_hosts)

    def _refresh_hosts(self) -> None:
        self._hosts_refresh_pending = False
        for worker in list(self.workers.values()):
            try:
                worker.refresh_hosts()
            except OSError as exc:  # a pod directory going away under a deleted pod
                log.debug("hosts file of pod %s not rewritten: %r", worker.name, exc)

    def _spawn(self, pod: dict[str, Any]) -> None:
        uid = (pod.get("metadata") or {}).get("uid", "")
        worker = PodWorker(self.context, pod)
        self.workers[uid] = worker

        async def run() -> None:
            try:
                await worker.run()
            finally:
                if self.workers.get(uid) is worker and worker.gone:
                    self.workers.pop(uid, None)
                    self.tasks.pop(uid, None)

        self.tasks[uid] = asyncio.create_task(run(), name=f"pod-{uid}")

    async def cleanup_orphans(self) -> None:
        """Pod directories whose pod no longer exists (deleted while kubeshim was down): stop and remove."""
        if not self.config.pods_dir.exists():
            return
        for entry in list(self.config.pods_dir.iterdir()):
            if not entry.is_dir() or entry.name in self.workers:
                continue
            record = checkpoint.load(entry)
            if record is not None:
                for r in record.containers.values():
                    for inst in (r.previous, r.current):
                        if inst is None:
                            continue
                        obs = self.provider.adopt(entry.name, inst.id)
                        if not obs.done:
                            await self.provider.stop(inst.id, 2.0)
                        self.provider.forget(inst.id)
                for path in mountlib.innermost_first(record.created_paths):
                    if not self.path_busy(path, record.uid):
                        mountlib.release(path)
            await asyncio.to_thread(shutil.rmtree, entry, True)

    # -- main -----------------------------------------------------------------------------------------------
    async def run(self) -> None:
        await self.prepare()
        self.config.pods_dir.mkdir(parents=True, exist_ok=True)
        delay = 0.2
        while True:  # a remote API server may not be up yet
            try:
                await self.node.register()
                break
            except Exception as exc:  # noqa: BLE001
                log.warning("node registration failed (retrying in %.1fs): %r", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        background = [asyncio.create_task(self.recorder.run(), name="events"),
                      asyncio.create_task(self.scheduler.recorder.run(), name="scheduler-events"),
                      asyncio.create_task(self.node.run(), name="node-heartbeat"),
                      asyncio.create_task(self.services.run(), name="service-informer")]
        if self.config.schedule:
            background.append(asyncio.create_task(self.scheduler.run(), name="scheduler"))
        try:
            await self.services.synced.wait()  # a pod's first /etc/hosts already names every Service
            background.append(asyncio.create_task(self.informer.run(), name="pod-informer"))
            await self.informer.synced.wait()
            await self.cleanup_orphans()
            self._ready.set()
            await asyncio.gather(*background)
        finally:
            for t in background + list(self.tasks.values()):
                t.cancel()
            await asyncio.gather(*background, *self.tasks.values(), return_exceptions=True)
            await self.provider.close()


async def run_kubelet(client: Client, config: KubeletConfig) -> None:
    """Run a kubelet for config.node_name against any API reachable through client; cancel to stop."""
    await Kubelet(client, config).run()
