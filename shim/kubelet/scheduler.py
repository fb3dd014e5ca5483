"""A single-node scheduler: bind pending pods to this node when their requests fit.

Only pods for the default scheduler (schedulerName "default-scheduler" or empty) with no spec.nodeName.
Candidates are tried highest spec.priority first, then oldest first; a pod that does not fit does not block
smaller ones behind it (as upstream's scheduling queue). A pod that does not fit gets PodScheduled=False,
reason Unschedulable, with upstream's message shape (`0/1 nodes are available: 1 Insufficient cpu.`), and is
retried whenever a pod on the node finishes or goes away. Binding goes through the Binding subresource, as a
real scheduler's does, so the API server sets spec.nodeName and the PodScheduled condition.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

from shim.clients.base import PODS, Client
from shim.machinery import quantity
from shim.kubelet.events import NORMAL, WARNING, Recorder
from shim.kubelet.resources import pod_requests
from shim.kubelet.timeutil import rfc3339
from shim.machinery.errors import StatusError

log = logging.getLogger(__name__)
DEFAULT_SCHEDULER = "default-scheduler"


async def bind(client: Client, pod: dict[str, Any], node: str) -> None:
    meta = pod.get("metadata") or {}
    ns = meta.get("namespace", "")
    binding: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Binding",
        "metadata": {"name": meta.get("name", ""), "namespace": ns, "uid": meta.get("uid")},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
    if not binding["metadata"]["uid"]:
        del binding["metadata"]["uid"]
    await client.create(PODS, binding, ns, subresource="binding")  # as kube-scheduler binds: pods/{name}/binding


def is_terminal(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def wants_scheduling(pod: dict[str, Any]) -> bool:
    spec = pod.get("spec") or {}
    return (not spec.get("nodeName") and (spec.get("schedulerName") or DEFAULT_SCHEDULER) == DEFAULT_SCHEDULER
            and not (pod.get("metadata") or {}).get("deletionTimestamp") and not is_terminal(pod))


def _allocatable_amounts(allocatable: dict[str, Any]) -> dict[str, int]:
    out = {}
    for name, value in allocatable.items():
        try:
            out[name] = quantity.millicores(value) if name == "cpu" else quantity.to_bytes(value)
        except ValueError:
            continue
    return out


def unfit_reasons(pod: dict[str, Any], node_labels: dict[str, str], allocatable: dict[str, Any],
                  bound: list[dict[str, Any]]) -> list[str]:
    """Why the pod does not fit (empty list = it fits), worded like the scheduler's filter plugins."""
    spec = pod.get("spec") or {}
    selector = spec.get("nodeSelector") or {}
    if any(node_labels.get(k) != v for k, v in selector.items()):
        return ["node(s) didn't match Pod's node affinity/selector"]
    alloc = _allocatable_amounts(allocatable)
    used: dict[str, int] = {}
    for other in bound:
        for name, amount in pod_requests(other).items():
            used[name] = used.get(name, 0) + amount
    reasons = []
    if len(bound) + 1 > alloc.get("pods", 110):
        reasons.append("Too many pods")
    for name, amount in sorted(pod_requests(pod).items()):
        if amount <= 0:
            continue
        if amount > alloc.get(name, 0) - used.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


def unschedulable_message(reasons: list[str]) -> str:
    counts = ", ".join(f"1 {r}" for r in sorted(reasons))
    return f"0/1 nodes are available: {counts}."


def _order(pod: dict[str, Any]) -> tuple[int, str, str]:
    meta = pod.get("metadata") or {}
    return (-int((pod.get("spec") or {}).get("priority") or 0), meta.get("creationTimestamp") or "",
            meta.get("name") or "")


class Scheduler:
    """Fed by the shared pod informer; schedules on every change that could matter."""

    def __init__(self, client: Client, node_name: str, pods: Callable[[], list[dict[str, Any]]],
                 node: Callable[[], dict[str, Any]], recorder: Recorder | None = None) -> None:
        self.client = client
        self.recorder = recorder or Recorder(client, "default-scheduler", node_name)
        self.node_name = node_name
        self.pods = pods
        self.node = node
        self.kick = asyncio.Event()
        #: Pods bound by us whose binding the informer has not shown yet (counted as using resources).
        self.assumed: dict[str, dict[str, Any]] = {}
        self._reported: dict[str, str] = {}

    def on_event(self, kind: str, pod: dict[str, Any]) -> None:
        uid = (pod.get("metadata") or {}).get("uid", "")
        if kind == "DELETED" or (pod.get("spec") or {}).get("nodeName"):
            self.assumed.pop(uid, None)
        if kind == "DELETED":
            self._reported.pop(uid, None)
        self.kick.set()

    async def run(self) -> None:
        while True:
            await self.kick.wait()
            self.kick.clear()
            try:
                await self.schedule_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.exception("scheduling pass failed")
                await asyncio.sleep(1.0)
                self.kick.set()

    async def schedule_once(self) -> None:
        pods = self.pods()
        node = self.node()
        labels = (node.get("metadata") or {}).get("labels") or {}
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        bound = [p for p in pods if (p.get("spec") or {}).get("nodeName") == self.node_name and not is_terminal(p)]
        bound += [p for uid, p in self.assumed.items()]
        pending = sorted((p for p in pods if wants_scheduling(p)
                          and (p.get("metadata") or {}).get("uid") not in self.assumed), key=_order)
        for pod in pending:
            reasons = unfit_reasons(pod, labels, allocatable, bound)
            if reasons:
                await self._unschedulable(pod, unschedulable_message(reasons))
                continue
            try:
                await bind(self.client, pod, self.node_name)
            except StatusError as exc:
                if exc.code not in (404, 409):
                    log.warning("binding %s failed: %s", (pod.get("metadata") or {}).get("name"), exc.message)
                continue
            meta = pod.get("metadata") or {}
            self.recorder.pod_event(pod, NORMAL, "Scheduled", f"Successfully assigned {meta.get('namespace')}/"
                                    f"{meta.get('name')} to {self.node_name}")
            uid = meta.get("uid", "")
            self.assumed[uid] = pod
            self._reported.pop(uid, None)
            bound.append(pod)

    async def _unschedulable(self, pod: dict[str, Any], message: str) -> None:
        meta = pod.get("metadata") or {}
        uid = meta.get("uid", "")
        conditions = (pod.get("status") or {}).get("conditions") or []
        current = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
        if self._reported.get(uid) == message or (
                current and current.get("status") == "False" and current.get("message") == message):
            return
        since = current.get("lastTransitionTime") if current and current.get("status") == "False" else None
        cond = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                "lastTransitionTime": since or rfc3339(time.time()), "reason": "Unschedulable", "message": message}
        others = [c for c in conditions if c.get("type") != "PodScheduled"]
        status: dict[str, Any] = {"conditions": others + [cond]}
        if not (pod.get("status") or {}).get("phase"):
            status["phase"] = "Pending"
        try:
            await self.client.patch(PODS, meta.get("name", ""), {"status": status},
                                    namespace=meta.get("namespace", ""), subresource="status")
            self._reported[uid] = message
            self.recorder.pod_event(pod, WARNING, "FailedScheduling", message)
        except StatusError as exc:
            log.debug("could not mark %s unschedulable: %s", meta.get("name"), exc.message)
