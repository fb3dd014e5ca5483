"""The seam between kubelet logic and how a container runs (virtual-kubelet's provider idea, per container).

The kubelet resolves everything Kubernetes-specific (image -> environment, env vars, volumes, limits) into a
`ContainerSpec`; a provider starts, stops and observes it, runs commands inside it (`exec`: probes, hooks and
later `kubectl exec`) and reads its log (`logs`: bytes, never HTTP). `process.ProcessProvider` is the local
implementation; `fake.FakeProvider` keeps containers in memory, so the pod logic is testable without processes.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Mount:
    source: str  # host path of the materialized volume (or file)
    target: str  # mountPath
    read_only: bool = False


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
    hostname: str | None = None  # the container's own hostname (None: the host's, as for hostNetwork pods)
    run_as_user: int | None = None  # securityContext; None: the kubelet's own identity
    run_as_group: int | None = None
    supplemental_groups: list[int] = field(default_factory=list)
    stdin: bool = False  # the program's stdin takes attached clients' input (`kubectl attach -i`)
    stdin_once: bool = False  # ... until the first of them detaches
    tty: bool = False  # the program runs on a terminal, which carries its output and takes resizes


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


class ExecError(Exception):
    """The command cannot run in the container: it is not running, or the program cannot be started."""


class Writable(Protocol):
    """A command's stdin: a pipe (asyncio.StreamWriter) or a terminal."""

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def close(self) -> None: ...


class Execution(Protocol):
    """A command running inside a container. A stream is None unless `exec` was asked for it, so that a
    caller that only wants the exit code (a probe) holds no pipes, and one that streams (`kubectl exec`)
    reads and writes them while the command runs. On a terminal (`tty`) stdout carries all output."""

    @property
    def stdin(self) -> Writable | None: ...

    @property
    def stdout(self) -> asyncio.StreamReader | None: ...

    @property
    def stderr(self) -> asyncio.StreamReader | None: ...

    async def wait(self) -> int:
        """The exit code, once the command has ended."""
        ...

    def kill(self) -> None:
        """SIGKILL the command and everything it started."""
        ...

    def resize(self, width: int, height: int) -> None:
        """Its terminal's new size (nothing without one)."""
        ...


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

    async def exec(self, container_id: str, command: list[str], *, stdin: bool = False, stdout: bool = False,
                   stderr: bool = False, tty: bool = False) -> Execution:
        """Start `command` in the running container, with its environment and view of the files; raises
        ExecError when it cannot. Ask for the streams you will read or write; the others are closed. With `tty`
        it runs on a terminal of its own, which carries its output."""
        ...

    async def attach(self, container_id: str, *, stdin: bool, stdout: bool, stderr: bool) -> Execution:
        """A session with the running program's own streams (`kubectl attach`): its output from now on, its
        stdin (when the container has one) and its terminal's size; `kill` detaches, `wait` returns 0 once the
        session is over. Raises ExecError when it cannot attach."""
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


async def exec_succeeds(provider: Provider, container_id: str, command: list[str], timeout: float) -> bool:
    """Run `command` in the container to its end: True when it exits 0 within `timeout` (exec probes and
    lifecycle hooks); killed when it takes longer."""
    try:
        execution = await provider.exec(container_id, command)
    except ExecError:
        return False
    try:
        async with asyncio.timeout(timeout):
            return await execution.wait() == 0
    except TimeoutError:
        execution.kill()
        await execution.wait()
        return False
