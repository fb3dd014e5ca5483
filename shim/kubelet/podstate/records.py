"""What the kubelet remembers about a pod and its containers, the transitions the runtime drives, and the
small spec helpers (restart policy, init/app containers) the planner and the status share.

`PodRecord` holds one `ContainerRecord` per container (current and previous `Instance`, restart count,
back-off, probe results) and is persisted by checkpoint.py. The `record_*` functions are the only way it changes
as containers start, fail to start and exit; they implement the crash-loop back-off (first restart immediate,
then base doubling to max, forgiven after a run of 2*max) and the image-pull back-off.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

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
