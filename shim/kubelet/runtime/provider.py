"""The seam between kubelet logic and how a container runs (virtual-kubelet's provider idea, per container).

The kubelet resolves everything Kubernetes-specific (image -> environment, env vars, volumes, limits) into a
`ContainerSpec`; a provider starts, stops and observes it and reads its log (`logs`: bytes, never HTTP).
`ProcessProvider` is the local implementation; a fake provider makes the pod logic testable without processes.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Mount:
    source: str  # host path of the materialized volume (or file)
    target: str  # mountPath
    read_only: bool = False
    nested: bool = False  # lies inside an earlier mount: created inside that volume, not on the host


@dataclass
class ContainerSpec:
    id: str  # the runtime id; the API shows it as "kubeshim://<id>"
    pod_uid: str
    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: str | None = None
    mounts: list[Mount] = field(default_factory=list)
    memory_limit: int | None = None  # bytes
    cpu_limit_millis: int | None = None
    cpu_request_millis: int | None = None
    termination_message_path: str | None = None  # where the program may write its termination message


@dataclass
class Observed:
    """What the runtime knows about one container instance."""

    id: str
    state: str  # "running" | "exited" | "failed" (never started) | "unknown" (vanished)
    pid: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    signal: int = 0
    oom_killed: bool = False
    error: str = ""  # why it failed to start, or how it vanished

    @property
    def done(self) -> bool:
        return self.state != "running"


@dataclass
class LogOptions:
    """Which part of a container instance's log to read (the PodLogOptions query; container chosen apart)."""

    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time: str | None = None  # RFC 3339
    limit_bytes: int | None = None


class Provider(Protocol):
    async def start(self, spec: ContainerSpec) -> Observed:
        """Start and return once the program runs (state running) or definitely failed (state failed)."""
        ...

    async def stop(self, container_id: str, grace: float) -> Observed:
        """SIGTERM, then SIGKILL after grace seconds; returns the final observation."""
        ...

    def observe(self, container_id: str) -> Observed: ...

    async def wait(self, container_id: str) -> Observed:
        """Return when the container is no longer running (works for re-adopted containers too)."""
        ...

    def logs(self, pod_uid: str, container_id: str, opts: LogOptions) -> AsyncIterator[bytes]:
        """The instance's log as opts select it (with `follow`, until the instance has ended and the log is
        drained); also for instances this provider has not seen start, as long as their log is kept."""
        ...

    def termination_message(self, container_id: str) -> str:
        """What the program wrote to its termination-message file (at most 4096 bytes)."""
        ...

    def remove(self, container_id: str) -> None:
        """Forget a finished container and delete its files (logs included)."""
        ...

    def adopt(self, pod_uid: str, container_id: str) -> Observed:
        """Re-attach to a container started before a kubeshim restart."""
        ...

    async def close(self) -> None:
        """The kubelet stops: release helpers; running containers stay (they are re-adopted later)."""

    def forget(self, container_id: str) -> None:
        """Drop bookkeeping only (the pod directory is being deleted as a whole)."""
        ...
