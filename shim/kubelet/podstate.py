"""The pod state machine, kwok-style: explicit, pure, and testable without processes.

Inputs are the pod (spec + last API status), the kubelet's bookkeeping for it (`PodRecord`: one
`ContainerRecord` per container with the current and previous instance, restart count, back-off and probe
results) and the time. Outputs are what to do next (`plan`) and the full API status (`pod_status`). The pod
worker applies `record_*` transitions as the runtime reports starts, failures and exits.

Semantics follow upstream's kubelet: getPhase and the condition generators in pkg/kubelet/status/generate.go,
waiting reasons (ContainerCreating, PodInitializing, CrashLoopBackOff, ErrImagePull/ImagePullBackOff,
CreateContainerConfigError, CreateContainerError), terminated reasons (Completed, Error, OOMKilled,
ContainerStatusUnknown) and the crash-loop back-off (first restart immediate, then base doubling to max, reset
after a run of 2*max).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from shim.kubelet.resources import qos_class
from shim.kubelet.timeutil import rfc3339

TERMINAL = ("Succeeded", "Failed")
DEADLINE_REASON = "DeadlineExceeded"
DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"
#: Wording for a container whose process disappeared while kubeshim was down (exit code 137 as upstream uses
#: for ContainerStatusUnknown: the real status cannot be known).
VANISHED_REASON = "ContainerStatusUnknown"
VANISHED_MESSAGE = "The container could not be located when kubeshim restarted: its process vanished while " \
                   "kubeshim was not running"
#: After a failed pull, ErrImagePull is shown this long (at most) before ImagePullBackOff takes over.
ERR_IMAGE_PULL_DISPLAY = 1.0
KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")


@dataclass
class Instance:
    """One run of a container."""

    id: str
    started_at: float
    image_id: str = ""
    finished_at: float | None = None
    exit_code: int | None = None
    reason: str = ""
    message: str = ""

    @property
    def running(self) -> bool:
        return self.finished_at is None


@dataclass
class ContainerRecord:
    name: str
    restart_count: int = 0
    current: Instance | None = None
    previous: Instance | None = None
    #: Why the latest attempt to start did not produce a running instance ("" = no such failure).
    waiting_reason: str = ""
    waiting_message: str = ""
    failed_at: float = 0.0
    #: No (re)start before this wall-clock time.
    retry_at: float = 0.0
    #: The delay applied before the pending restart (shown in the CrashLoopBackOff message).
    delay: float = 0.0
    #: The delay the next restart will use (0 = immediate, the first restart).
    backoff: float = 0.0
    image_backoff: float = 0.0
    ready: bool = False
    started: bool = False
    #: Container id of a start in progress (persisted first, so a restart re-adopts instead of duplicating).
    pending: str = ""

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "ContainerRecord":
        raw = dict(raw)
        for key in ("current", "previous"):
            if raw.get(key):
                raw[key] = Instance(**raw[key])
        return cls(**raw)


@dataclass
class PodRecord:
    """The kubelet's own memory of a pod; persisted by checkpoint.py so a restart forgets nothing."""

    uid: str
    namespace: str = ""
    name: str = ""
    start_time: float | None = None
    containers: dict[str, ContainerRecord] = field(default_factory=dict)
    #: The volumes are set up (PodReadyToStartContainers); volume_error says why not.
    sandbox_ready: bool = False
    volume_error: str = ""
    #: A pod-level reason the pod is finished (DeadlineExceeded) with its message.
    reason: str = ""
    message: str = ""
    #: Deletion requested: everything is being stopped and nothing restarts.
    terminating: bool = False
    #: Mount points this pod created on the host (removed with the last pod using them).
    created_paths: list[str] = field(default_factory=list)

    def container(self, name: str) -> ContainerRecord:
        if name not in self.containers:
            self.containers[name] = ContainerRecord(name)
        return self.containers[name]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "PodRecord":
        raw = dict(raw)
        raw["containers"] = {k: ContainerRecord.from_dict(v) for k, v in (raw.get("containers") or {}).items()}
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in raw.items() if k in known})


@dataclass
class Backoff:
    base: float = 10.0
    max: float = 300.0


@dataclass
class Plan:
    start: list[str] = field(default_factory=list)  # containers to (re)start now, in order
    kill: list[str] = field(default_factory=list)  # running containers to stop
    wake_at: float | None = None  # re-plan no later than this
    deadline_exceeded: bool = False


# -- small helpers ------------------------------------------------------------------------------------------

def restart_policy(pod: dict[str, Any]) -> str:
    return (pod.get("spec") or {}).get("restartPolicy") or "Always"


def init_containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return list((pod.get("spec") or {}).get("initContainers") or [])


def app_containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return list((pod.get("spec") or {}).get("containers") or [])


def is_sidecar(container: dict[str, Any]) -> bool:
    """A restartable init container (restartPolicy: Always on an init container)."""
    return container.get("restartPolicy") == "Always"


def effective_policy(pod_policy: str, container: dict[str, Any], init: bool) -> str:
    """Init containers restart only on failure (never under Never); sidecars always restart."""
    if init and is_sidecar(container):
        return "Always"
    if init:
        return "Never" if pod_policy == "Never" else "OnFailure"
    return pod_policy


def should_restart(policy: str, exit_code: int | None) -> bool:
    if policy == "Always":
        return True
    if policy == "OnFailure":
        return exit_code != 0
    return False


def go_duration(seconds: float) -> str:
    """Go's time.Duration String() for whole and fractional seconds: 10s, 1m20s, 5m0s, 500ms."""
    if seconds < 1:
        return f"{int(round(seconds * 1000))}ms"
    total = int(seconds) if float(seconds).is_integer() else seconds
    hours, rem = divmod(total, 3600)
    minutes, secs = divmod(rem, 60)
    sec_text = f"{secs:g}s" if isinstance(secs, float) else f"{secs}s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{sec_text}"
    if minutes:
        return f"{int(minutes)}m{sec_text}"
    return sec_text


def terminated_reason(exit_code: int, oom_killed: bool) -> str:
    if oom_killed:
        return "OOMKilled"
    return "Completed" if exit_code == 0 else "Error"


# -- transitions (the pod worker calls these as the runtime reports) ----------------------------------------

def record_started(rec: ContainerRecord, container_id: str, started_at: float, image_id: str = "") -> None:
    """A new instance is running: the old one becomes lastState and restartCount counts it."""
    if rec.current is not None:
        rec.previous = rec.current
        rec.restart_count += 1
    rec.current = Instance(id=container_id, started_at=started_at, image_id=image_id)
    rec.waiting_reason = rec.waiting_message = ""
    rec.image_backoff = 0.0
    rec.ready = rec.started = False


def record_exit(rec: ContainerRecord, *, finished_at: float, exit_code: int, reason: str, message: str,
                backoff: Backoff) -> None:
    """The running instance ended; schedule the restart delay (used only if the policy restarts it)."""
    inst = rec.current
    if inst is None:
        return
    inst.finished_at, inst.exit_code, inst.reason, inst.message = finished_at, exit_code, reason, message
    rec.ready = rec.started = False
    if finished_at - inst.started_at >= 2 * backoff.max:
        rec.backoff = 0.0  # ran long enough: forgive earlier crashes, as upstream's back-off GC does
    rec.delay = rec.backoff
    rec.retry_at = finished_at + rec.backoff
    rec.backoff = backoff.base if rec.backoff == 0 else min(rec.backoff * 2, backoff.max)


def record_start_failure(rec: ContainerRecord, reason: str, message: str, now: float, backoff: Backoff) -> None:
    """Starting failed before anything ran: ErrImagePull, CreateContainerConfigError or CreateContainerError."""
    rec.waiting_reason, rec.waiting_message, rec.failed_at = reason, message, now
    if reason == "ErrImagePull":
        rec.image_backoff = backoff.base if rec.image_backoff == 0 else min(rec.image_backoff * 2, backoff.max)
        rec.retry_at = now + rec.image_backoff
    else:
        rec.retry_at = now + backoff.base


# -- planning -----------------------------------------------------------------------------------------------

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


# -- status -------------------------------------------------------------------------------------------------

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

    incomplete = [s["name"] for c, s in zip(init_containers(pod), inits)
                  if not (s.get("started") if is_sidecar(c) else s["ready"])]
    any_app_started = any("waiting" not in s["state"] or s["lastState"] for s in apps)
    if phase == "Succeeded":
        initialized = _condition("Initialized", True, "PodCompleted")
    elif any_app_started or not incomplete:
        initialized = _condition("Initialized", True)
    else:
        initialized = _condition("Initialized", False, "ContainersNotInitialized",
                                 f"containers with incomplete status: {names(incomplete)}")
    unready = [s["name"] for c, s in zip(init_containers(pod), inits) if is_sidecar(c) and not s["ready"]]
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
