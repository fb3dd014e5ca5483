"""Resource usage of this node and its containers, for metrics.k8s.io (what cAdvisor and the kubelet's summary
API give metrics-server on a real node).

A container's figures come from its cgroups where the kubelet made them (cumulative CPU time, memory working
set: usage less inactive file pages, as cAdvisor counts it), else from psutil over its process tree (CPU time of
the processes and of the children they reaped, resident memory). The node's come from psutil (busy CPU time
since boot, memory in use). CPU is a rate: the CPU time between two samples over the time between them. The
first window starts when the container (or the node) started, where the cumulative CPU time was zero, so a
container has figures once it has run for MIN_WINDOW; later samples are kept every RESOLUTION seconds, the
metric resolution metrics-server scrapes at by default.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from shim.registry.services import Usage

RESOLUTION = 15.0
MIN_WINDOW = 1.0
#: figures of a container nobody asked about for this long are dropped (it has probably ended)
FORGET_AFTER = 600.0
NODE = "node"


@dataclass(frozen=True)
class Sample:
    at: float  # Unix time of the reading
    cpu_ns: int  # CPU time used since `started`
    memory: int  # working set, bytes
    started: float  # when the cumulative CPU time was zero


class Rates:
    """CPU rates from cumulative samples, per key (a container id, or the node)."""

    def __init__(self) -> None:
        self._kept: dict[str, list[Sample]] = {}
        self._asked: dict[str, float] = {}

    def usage(self, key: str, sample: Sample) -> Usage | None:
        """The usage over the longest window that ends at `sample` and starts at a kept sample at least
        MIN_WINDOW older; None when there is none yet."""
        kept = self._kept.get(key)
        if not kept or kept[0].started != sample.started:  # first seen, or restarted: count from its start
            kept = [Sample(sample.started, 0, 0, sample.started)]
        base = next((k for k in reversed(kept) if sample.at - k.at >= MIN_WINDOW), None)
        if sample.at - kept[-1].at >= RESOLUTION:
            kept = (kept + [sample])[-2:]
        self._kept[key] = kept
        self._asked[key] = sample.at
        self._forget(sample.at)
        if base is None:
            return None
        window = sample.at - base.at
        return Usage(sample.at, window, int(max(0, sample.cpu_ns - base.cpu_ns) / window), sample.memory)

    def _forget(self, now: float) -> None:
        for key in [k for k, at in self._asked.items() if now - at > FORGET_AFTER]:
            self._kept.pop(key, None)
            self._asked.pop(key, None)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError:
        return None


def _stat(text: str | None, key: str) -> int | None:
    """The value of `key` in a cgroup key-value file (cpu.stat, memory.stat)."""
    for line in (text or "").splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return None


def cgroup_usage(plan: dict[str, Any]) -> tuple[int, int] | None:
    """(cumulative CPU ns, memory working set) from a container's cgroups, None where they cannot be read."""
    dirs = plan.get("dirs") or {}
    if plan.get("version") == 2 and "unified" in dirs:
        udir = dirs["unified"]
        usec = _stat(_read(os.path.join(udir, "cpu.stat")), "usage_usec")
        current = _read(os.path.join(udir, "memory.current"))
        inactive = _stat(_read(os.path.join(udir, "memory.stat")), "inactive_file") or 0
        if usec is None or current is None or not current.strip().isdigit():
            return None
        return usec * 1000, max(0, int(current) - inactive)
    if plan.get("version") == 1 and "cpu" in dirs and "memory" in dirs:
        cpu = _read(os.path.join(dirs["cpu"], "cpuacct.usage"))
        usage = _read(os.path.join(dirs["memory"], "memory.usage_in_bytes"))
        inactive = _stat(_read(os.path.join(dirs["memory"], "memory.stat")), "total_inactive_file") or 0
        if cpu is None or usage is None or not cpu.strip().isdigit() or not usage.strip().isdigit():
            return None
        return int(cpu), max(0, int(usage) - inactive)
    return None


def process_usage(pid: int) -> tuple[int, int] | None:
    """(cumulative CPU ns, resident memory) of a process tree; None when its root is gone."""
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
        reaped = root.cpu_times()
        cpu = reaped.children_user + reaped.children_system
        memory = 0
        for proc in tree:
            try:
                times = proc.cpu_times()
                cpu += times.user + times.system
                memory += proc.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return int(cpu * 1e9), memory


def _json(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


class StatsCollector:
    """The kubelet's answer to shim.registry.services.UsageSource, read from the container directories the
    runtime keeps (spec.json names a container's cgroups, pid.json its process and start)."""

    def __init__(self, node_name: str, pods_dir: Path) -> None:
        self.node_name = node_name
        self.pods_dir = Path(pods_dir)
        self.rates = Rates()

    def node(self, name: str) -> Usage | None:
        if name != self.node_name:
            return None
        times = psutil.cpu_times()
        busy = sum(times) - times.idle - getattr(times, "iowait", 0.0)
        memory = psutil.virtual_memory()
        return self.rates.usage(NODE, Sample(time.time(), int(busy * 1e9), memory.total - memory.available,
                                             psutil.boot_time()))

    def pod(self, pod: dict[str, Any]) -> dict[str, Usage] | None:
        meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
        if spec.get("nodeName") != self.node_name:
            return None
        out = {}
        for cs in status.get("containerStatuses") or []:
            container_id = (cs.get("containerID") or "").partition("://")[2]
            if not container_id or "running" not in (cs.get("state") or {}):
                continue
            usage = self._container(meta.get("uid", ""), container_id)
            if usage is not None:
                out[cs["name"]] = usage
        return out or None

    def _container(self, pod_uid: str, container_id: str) -> Usage | None:
        cdir = self.pods_dir / pod_uid / "containers" / container_id
        identity = _json(cdir / "pid.json")
        pid, started = identity.get("pid"), identity.get("started_at")
        if not isinstance(pid, int) or not isinstance(started, (int, float)):
            return None
        now = time.time()
        plan = _json(cdir / "spec.json").get("cgroup")
        figures = (cgroup_usage(plan) if isinstance(plan, dict) else None) or process_usage(pid)
        if figures is None:
            return None
        return self.rates.usage(container_id, Sample(now, figures[0], figures[1], float(started)))
