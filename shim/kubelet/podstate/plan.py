"""What to do next for a pod: which containers to start or stop now, and when to look again.

Init containers run one at a time in order (sidecars, restartPolicy Always on an init container, keep
running); app containers start together once init is done; restart policy and back-off decide restarts. A
terminal, terminating or deadline-exceeded pod only stops things.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shim.kubelet.podstate.records import (TERMINAL, PodRecord, app_containers, init_containers, is_sidecar,
                                           restart_policy, should_restart)
from shim.kubelet.podstate.status import pod_phase


@dataclass
class Plan:
    start: list[str] = field(default_factory=list)  # containers to (re)start now, in order
    kill: list[str] = field(default_factory=list)  # running containers to stop
    wake_at: float | None = None  # re-plan no later than this
    deadline_exceeded: bool = False


def deadline_at(pod: dict[str, Any], record: PodRecord) -> float | None:
    ads = (pod.get("spec") or {}).get("activeDeadlineSeconds")
    if ads is None or record.start_time is None:
        return None
    return record.start_time + float(ads)


def plan(pod: dict[str, Any], record: PodRecord, now: float) -> Plan:
    """What to start or stop now, and when to look again."""
    out = Plan()
    running = [n for n, r in record.containers.items() if r.current is not None and r.current.running]
    deadline = deadline_at(pod, record)
    if deadline is not None and not record.reason and now >= deadline and not record.terminating:
        out.deadline_exceeded = True
    if record.terminating or record.reason or out.deadline_exceeded:
        out.kill = running
        return out
    phase = pod_phase(pod, record, now)
    if phase in TERMINAL:
        out.kill = running
        return out
    if deadline is not None:
        out.wake_at = deadline
    if not record.sandbox_ready:
        return out
    policy = restart_policy(pod)

    def consider(c: dict[str, Any], restartable: bool) -> bool:
        """Start c if due; True if it is (or will be) running and needs nothing else now."""
        r = record.container(c["name"])
        cur = r.current
        if cur is not None and cur.running:
            return True
        if cur is not None and not restartable and not r.waiting_reason:
            return False
        if now >= r.retry_at:
            out.start.append(c["name"])
        else:
            out.wake_at = r.retry_at if out.wake_at is None else min(out.wake_at, r.retry_at)
        return True

    # Init containers, one at a time, in order.
    for c in init_containers(pod):
        r = record.container(c["name"])
        cur = r.current
        if is_sidecar(c):
            if cur is not None and cur.running and r.started:
                continue
            consider(c, True)
            if cur is None or not cur.running or not r.started:
                return out
            continue
        if cur is not None and not cur.running and cur.exit_code == 0:
            continue
        if cur is not None and not cur.running and policy == "Never":
            return out  # failed init container: the pod has failed
        if cur is not None and cur.running:
            return out
        consider(c, True)
        return out
    for c in app_containers(pod):
        r = record.container(c["name"])
        cur = r.current
        restartable = cur is None or should_restart(policy, cur.exit_code)
        consider(c, restartable)
    return out
