"""The pod status the kubelet reports, generated from the spec, the record and the time.

Follows upstream's kubelet: getPhase (kubelet_pods.go) over the generated container statuses, the condition
generators of pkg/kubelet/status/generate.go (Initialized, Ready, ContainersReady with their reasons and
messages, plus PodReadyToStartContainers and PodScheduled), waiting reasons (ContainerCreating,
PodInitializing, CrashLoopBackOff, ErrImagePull/ImagePullBackOff, CreateContainerConfigError,
CreateContainerError) and the rule that a pod never leaves a terminal phase.
"""
from __future__ import annotations

from typing import Any

from shim.kubelet.podstate.records import (ERR_IMAGE_PULL_DISPLAY, KUBELET_CONDITIONS, TERMINAL, ContainerRecord,
                                           Instance, PodRecord, app_containers, effective_policy, go_duration,
                                           init_containers, is_sidecar, restart_policy, should_restart,
                                           terminated_reason)
from shim.kubelet.resources import qos_class
from shim.kubelet.timeutil import rfc3339


def _terminated(inst: Instance) -> dict[str, Any]:
    out: dict[str, Any] = {"exitCode": inst.exit_code if inst.exit_code is not None else 0,
                           "reason": inst.reason or terminated_reason(inst.exit_code or 0, False)}
    if inst.message:
        out["message"] = inst.message
    out["startedAt"] = rfc3339(inst.started_at)
    out["finishedAt"] = rfc3339(inst.finished_at or inst.started_at)
    out["containerID"] = f"kubeshim://{inst.id}"
    return out


def _waiting_state(pod: dict[str, Any], c: dict[str, Any], r: ContainerRecord, default: str,
                   record: PodRecord, now: float, pending_restart: bool) -> dict[str, Any]:
    image = c.get("image", "")
    shown = min(ERR_IMAGE_PULL_DISPLAY, r.image_backoff / 2)
    if r.waiting_reason == "ErrImagePull" and now >= r.failed_at + shown:
        return {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}
    if r.waiting_reason:
        out = {"reason": r.waiting_reason}
        if r.waiting_message:
            out["message"] = r.waiting_message
        return out
    if pending_restart:
        meta = pod.get("metadata") or {}
        return {"reason": "CrashLoopBackOff",
                "message": f"back-off {go_duration(r.delay)} restarting failed container={c['name']} "
                           f"pod={meta.get('name', '')}_{meta.get('namespace', '')}({meta.get('uid', '')})"}
    out = {"reason": default}
    if record.volume_error:
        out["message"] = record.volume_error
    return out


def container_status(pod: dict[str, Any], c: dict[str, Any], record: PodRecord, now: float, *, init: bool,
                     terminal: bool) -> dict[str, Any]:
    r = record.container(c["name"])
    default = "PodInitializing" if init_containers(pod) else "ContainerCreating"
    policy = restart_policy(pod)
    cur = r.current
    state: dict[str, Any]
    last: dict[str, Any] = {}
    if cur is not None and cur.running:
        state = {"running": {"startedAt": rfc3339(cur.started_at)}}
        if r.previous is not None:
            last = {"terminated": _terminated(r.previous)}
    elif cur is not None:
        restartable = should_restart(effective_policy(policy, c, init), cur.exit_code)
        pending = restartable and not terminal and not record.terminating and (now < r.retry_at or bool(
            r.waiting_reason))
        if pending:
            state = {"waiting": _waiting_state(pod, c, r, default, record, now, True)}
            last = {"terminated": _terminated(cur)}
        else:
            state = {"terminated": _terminated(cur)}
            if r.previous is not None:
                last = {"terminated": _terminated(r.previous)}
    else:
        state = {"waiting": _waiting_state(pod, c, r, default, record, now, False)}
    if init and not is_sidecar(c):
        ready = cur is not None and not cur.running and cur.exit_code == 0
    else:
        ready = cur is not None and cur.running and r.ready and not record.terminating
    out: dict[str, Any] = {
        "name": c["name"],
        "state": state,
        "lastState": last,
        "ready": ready,
        "restartCount": r.restart_count,
        "image": c.get("image", ""),
        "imageID": (cur.image_id if cur is not None else "") or "",
        "started": bool(cur is not None and cur.running and r.started),
    }
    if cur is not None:
        out["containerID"] = f"kubeshim://{cur.id}"
    return out


def _phase(pod: dict[str, Any], statuses: dict[str, dict[str, Any]], pod_is_terminal: bool,
           has_initialized: bool) -> str:
    """Upstream's getPhase, over the container statuses we generate."""
    policy = restart_policy(pod)
    pending_init = failed_init = 0
    pending_sidecar = 0
    unknown = running = waiting = stopped = succeeded = 0
    for c in init_containers(pod):
        st = statuses.get(c["name"])
        if st is None:
            if is_sidecar(c):
                unknown += 1
                pending_sidecar += 1
            else:
                pending_init += 1
            continue
        state = st["state"]
        if is_sidecar(c):
            if "running" in state:
                running += 1
                if not st.get("started"):
                    pending_sidecar += 1
            elif "waiting" in state and not st["lastState"].get("terminated"):
                pending_sidecar += 1
                waiting += 1
            continue
        if "running" in state:
            pending_init += 1
        elif "terminated" in state:
            if state["terminated"]["exitCode"] != 0:
                failed_init += 1
        elif "waiting" in state:
            last = st["lastState"].get("terminated")
            if last is not None:
                if last["exitCode"] != 0:
                    failed_init += 1
            else:
                pending_init += 1
        else:
            pending_init += 1
    for c in app_containers(pod):
        st = statuses.get(c["name"])
        if st is None:
            unknown += 1
            continue
        state = st["state"]
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            if state["terminated"]["exitCode"] == 0:
                succeeded += 1
        elif "waiting" in state:
            if st["lastState"].get("terminated") is not None:
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1
    if failed_init > 0 and policy == "Never":
        return "Failed"
    if pending_init > 0 or (pending_sidecar > 0 and not has_initialized) or waiting > 0:
        return "Pending"
    if running > 0 and unknown == 0:
        return "Running"
    if running == 0 and stopped > 0 and unknown == 0:
        if pod_is_terminal:
            return "Succeeded" if stopped == succeeded else "Failed"
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def _all_statuses(pod: dict[str, Any], record: PodRecord, now: float,
                  terminal: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    inits = [container_status(pod, c, record, now, init=True, terminal=terminal) for c in init_containers(pod)]
    apps = [container_status(pod, c, record, now, init=False, terminal=terminal) for c in app_containers(pod)]
    return inits, apps


def _any_stopped(record: PodRecord) -> bool:
    return all(r.current is None or not r.current.running for r in record.containers.values())


def pod_phase(pod: dict[str, Any], record: PodRecord, now: float) -> str:
    return _status_core(pod, record, now)[0]


def _status_core(pod: dict[str, Any], record: PodRecord,
                 now: float) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    pod_is_terminal = bool(record.reason) or (record.terminating and _any_stopped(record))
    inits, apps = _all_statuses(pod, record, now, terminal=pod_is_terminal)
    has_initialized = any(record.container(c["name"]).current is not None for c in app_containers(pod))
    statuses = {s["name"]: s for s in inits + apps}
    phase = _phase(pod, statuses, pod_is_terminal, has_initialized)
    if record.reason:
        phase = "Failed"
    elif pod_is_terminal and phase not in TERMINAL:
        phase = "Failed"  # deleted before it could finish
    api_phase = (pod.get("status") or {}).get("phase")
    if api_phase in TERMINAL:
        phase = api_phase  # pods never leave a terminal phase
    if phase in TERMINAL:
        # Containers will not restart any more: show them terminated rather than in back-off.
        inits, apps = _all_statuses(pod, record, now, terminal=True)
    return phase, inits, apps


def _condition(ctype: str, status: bool, reason: str = "", message: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": ctype, "status": "True" if status else "False"}
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    return out


def _ready_conditions(pod: dict[str, Any], phase: str, inits: list[dict[str, Any]], apps: list[dict[str, Any]],
                      other: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Initialized, Ready, ContainersReady as pkg/kubelet/status/generate.go words them."""
    def names(xs: list[str]) -> str:
        return "[" + " ".join(xs) + "]"

    incomplete = [s["name"] for c, s in zip(init_containers(pod), inits, strict=False)
                  if not (s.get("started") if is_sidecar(c) else s["ready"])]
    any_app_started = any("waiting" not in s["state"] or s["lastState"] for s in apps)
    if phase == "Succeeded":
        initialized = _condition("Initialized", True, "PodCompleted")
    elif any_app_started or not incomplete:
        initialized = _condition("Initialized", True)
    else:
        initialized = _condition("Initialized", False, "ContainersNotInitialized",
                                 f"containers with incomplete status: {names(incomplete)}")
    unready = [s["name"] for c, s in zip(init_containers(pod), inits, strict=False) if is_sidecar(c) and not s["ready"]]
    unready += [s["name"] for s in apps if not s["ready"]]
    if phase == "Succeeded":
        containers_ready = _condition("ContainersReady", False, "PodCompleted")
    elif phase == "Failed":
        containers_ready = _condition("ContainersReady", False, "PodFailed")
    elif unready:
        containers_ready = _condition("ContainersReady", False, "ContainersNotReady",
                                      f"containers with unready status: {names(unready)}")
    else:
        containers_ready = _condition("ContainersReady", True)
    if containers_ready["status"] != "True":
        ready = dict(containers_ready, type="Ready")
    else:
        gates = []
        by_type = {c.get("type"): c for c in other}
        for gate in (pod.get("spec") or {}).get("readinessGates") or []:
            cond = by_type.get(gate.get("conditionType"))
            if cond is None:
                gates.append(f'corresponding condition of pod readiness gate "{gate.get("conditionType")}" '
                             f"does not exist.")
            elif cond.get("status") != "True":
                gates.append(f'the status of pod readiness gate "{gate.get("conditionType")}" is not "True", '
                             f"but {cond.get('status')}")
        ready = _condition("Ready", not gates, "ReadinessGatesNotReady" if gates else "", ", ".join(gates))
    return [initialized, ready, containers_ready]


def pod_status(pod: dict[str, Any], record: PodRecord, now: float, *, host_ip: str = "127.0.0.1",
               pod_ip: str = "127.0.0.1") -> dict[str, Any]:
    """The complete status the kubelet reports for this pod now."""
    old = pod.get("status") or {}
    phase, inits, apps = _status_core(pod, record, now)
    other = [c for c in old.get("conditions") or [] if c.get("type") not in KUBELET_CONDITIONS]
    sandbox = record.sandbox_ready and phase not in TERMINAL
    conditions = other + [_condition("PodReadyToStartContainers", sandbox)]
    conditions += _ready_conditions(pod, phase, inits, apps, other)
    conditions.append(_condition("PodScheduled", True))
    previous = {c.get("type"): c for c in old.get("conditions") or []}
    stamp = rfc3339(now)
    for cond in conditions:
        if cond.get("type") not in KUBELET_CONDITIONS:
            continue
        before = previous.get(cond["type"])
        cond.setdefault("lastProbeTime", None)
        if before is not None and before.get("status") == cond["status"] and before.get("lastTransitionTime"):
            cond["lastTransitionTime"] = before["lastTransitionTime"]
        else:
            cond["lastTransitionTime"] = stamp
    status: dict[str, Any] = {"phase": phase, "conditions": conditions}
    if record.reason:
        status["reason"], status["message"] = record.reason, record.message
    elif old.get("reason") and old.get("phase") == phase:
        status["reason"] = old["reason"]
        if old.get("message"):
            status["message"] = old["message"]
    status["hostIP"] = host_ip
    status["hostIPs"] = [{"ip": host_ip}]
    status["podIP"] = pod_ip
    status["podIPs"] = [{"ip": pod_ip}]
    start = record.start_time if record.start_time is not None else now
    status["startTime"] = old.get("startTime") or rfc3339(start)
    if inits:
        status["initContainerStatuses"] = inits
    status["containerStatuses"] = apps
    status["qosClass"] = qos_class(pod)
    return status
