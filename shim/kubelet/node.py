"""The Node object for this machine, its Lease heartbeat and periodic status.

Capacity comes from the host (psutil) unless the config overrides it; allocatable equals capacity (there
are no system reservations to make on a developer machine). Like a real kubelet, liveness is shown by
renewing a Lease in kube-node-lease every heartbeat, and the Node status is re-posted less often.
"""
from __future__ import annotations

import asyncio
import logging
import os
import platform
import shutil
import time
from typing import Any

import psutil

from shim.clients.base import LEASES, NAMESPACES, NODES, Client
from shim.kubelet.config import KubeletConfig
from shim.kubelet.timeutil import micro_time, rfc3339
from shim.machinery.errors import StatusError

log = logging.getLogger(__name__)
LEASE_NAMESPACE = "kube-node-lease"
KUBELET_VERSION = "v1.34.1"
RUNTIME_VERSION = "kubeshim://0.1.0"
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return platform.system()


def capacity(config: KubeletConfig) -> dict[str, str]:
    os.makedirs(config.data_dir, exist_ok=True)
    disk = shutil.disk_usage(config.data_dir).total
    out = {
        "cpu": str(psutil.cpu_count(logical=True) or 1),
        "ephemeral-storage": f"{disk // 1024}Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": f"{psutil.virtual_memory().total // 1024}Ki",
        "pods": str(config.max_pods),
    }
    out.update(config.capacity)
    return out


def conditions(now: float, since: float) -> list[dict[str, Any]]:
    def cond(ctype: str, status: str, reason: str, message: str) -> dict[str, Any]:
        return {"type": ctype, "status": status, "lastHeartbeatTime": rfc3339(now),
                "lastTransitionTime": rfc3339(since), "reason": reason, "message": message}

    return [
        cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ]


def node_status(config: KubeletConfig, now: float, since: float) -> dict[str, Any]:
    cap = capacity(config)
    machine_id = _read("/etc/machine-id") or _read("/var/lib/dbus/machine-id")
    return {
        "capacity": cap,
        "allocatable": dict(cap),
        "conditions": conditions(now, since),
        "addresses": [{"type": "InternalIP", "address": config.host_ip},
                      {"type": "Hostname", "address": config.node_name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": machine_id,
            "systemUUID": _read("/sys/class/dmi/id/product_uuid") or machine_id,
            "bootID": _read("/proc/sys/kernel/random/boot_id"),
            "kernelVersion": platform.release(),
            "osImage": _os_image(),
            "containerRuntimeVersion": RUNTIME_VERSION,
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": _ARCH.get(platform.machine(), platform.machine()),
        },
    }


def node_object(config: KubeletConfig, now: float) -> dict[str, Any]:
    arch = _ARCH.get(platform.machine(), platform.machine())
    labels = {"beta.kubernetes.io/arch": arch, "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": arch,
              "kubernetes.io/hostname": config.node_name, "kubernetes.io/os": "linux"}
    labels.update(config.node_labels)
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": config.node_name, "labels": labels,
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
            "spec": {}, "status": node_status(config, now, now)}


class NodeAgent:
    """Registers the node and keeps it (and its lease) fresh."""

    def __init__(self, client: Client, config: KubeletConfig) -> None:
        self.client = client
        self.config = config
        self.since = time.time()
        self.node: dict[str, Any] = {}

    @property
    def allocatable(self) -> dict[str, str]:
        return dict((self.node.get("status") or {}).get("allocatable") or capacity(self.config))

    async def register(self) -> dict[str, Any]:
        now = time.time()
        body = node_object(self.config, now)
        try:
            self.node = await self.client.create(NODES, body)
        except StatusError as exc:
            if exc.code != 409:
                raise
            current = await self.client.get(NODES, self.config.node_name)
            labels = dict((current.get("metadata") or {}).get("labels") or {})
            labels.update(body["metadata"]["labels"])
            self.node = await self.client.patch(NODES, self.config.node_name, {"metadata": {"labels": labels}})
        await self.post_status()
        return self.node

    async def post_status(self) -> None:
        status = node_status(self.config, time.time(), self.since)
        self.node = await self.client.patch(NODES, self.config.node_name, {"status": status},
                                            subresource="status")

    async def renew_lease(self) -> None:
        name = self.config.node_name
        now = micro_time(time.time())
        try:
            lease = await self.client.get(LEASES, name, LEASE_NAMESPACE)
        except StatusError as exc:
            if exc.code != 404:
                raise
            await self._create_lease(now)
            return
        lease.setdefault("spec", {}).update({"holderIdentity": name, "renewTime": now,
                                             "leaseDurationSeconds": self.config.lease_duration_seconds})
        await self.client.update(LEASES, lease)

    async def _create_lease(self, now: str) -> None:
        name = self.config.node_name
        meta: dict[str, Any] = {"name": name, "namespace": LEASE_NAMESPACE}
        uid = (self.node.get("metadata") or {}).get("uid")
        if uid:
            meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": name, "uid": uid}]
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
                 "spec": {"holderIdentity": name, "leaseDurationSeconds": self.config.lease_duration_seconds,
                          "renewTime": now}}
        try:
            await self.client.create(LEASES, lease, LEASE_NAMESPACE)
        except StatusError as exc:
            if exc.code == 404:  # the namespace is missing: make it, then retry once
                try:
                    await self.client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": LEASE_NAMESPACE}})
                except StatusError:
                    pass
                await self.client.create(LEASES, lease, LEASE_NAMESPACE)
            elif exc.code != 409:
                raise

    async def run(self) -> None:
        """Heartbeat forever (cancel to stop). Registration must have happened."""
        last_status = time.monotonic()
        while True:
            try:
                await self.renew_lease()
                if time.monotonic() - last_status >= self.config.node_status_seconds:
                    await self.post_status()
                    last_status = time.monotonic()
            except asyncio.CancelledError:
                raise
            except StatusError as exc:
                if exc.code == 404 and exc.kind == "nodes":
                    log.warning("node %s disappeared; registering again", self.config.node_name)
                    await self._try(self.register())
                else:
                    log.warning("node heartbeat failed: %s", exc.message)
            except Exception as exc:  # noqa: BLE001 - keep beating; the API may be restarting
                log.warning("node heartbeat failed: %r", exc)
            await asyncio.sleep(self.config.heartbeat_seconds)

    @staticmethod
    async def _try(coro: Any) -> None:
        try:
            await coro
        except Exception as exc:  # noqa: BLE001
            log.warning("node registration failed: %r", exc)
