"""An in-memory Provider: containers "run" until a test ends them, so the pod logic is tested without processes.

Nothing touches the host. The test plays the programs: `exit()` ends a container with an exit code,
`write_log()` appends to its log, `start_errors` makes the next start of a container name fail, `on_exec`
decides what commands exit with, and `stubborn` names containers that ignore SIGTERM (they run out their grace
and are SIGKILLed). What the kubelet asked for is kept for assertions: `stops`, `execs`, `removed`.
Logs honour `tailLines` and `limitBytes`; `follow` waits for the container's end, then yields everything.
"""
from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from shim.kubelet.runtime.provider import ContainerSpec, ExecError, LogOptions, Observed

SIGKILL, SIGTERM = 9, 15


@dataclass
class FakeContainer:
    spec: ContainerSpec
    observed: Observed
    log: bytearray = field(default_factory=bytearray)
    termination_message: str = ""
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class FakeExecution:
    """A command that has already ended with its exit code; asked-for output streams are empty."""

    def __init__(self, code: int, *, stdout: bool, stderr: bool) -> None:
        self.stdin: asyncio.StreamWriter | None = None
        self.stdout = _empty_stream() if stdout else None
        self.stderr = _empty_stream() if stderr else None
        self._code = code

    async def wait(self) -> int:
        return self._code

    def kill(self) -> None:
        """Nothing to kill: the command has ended."""

    def resize(self, width: int, height: int) -> None:
        """No terminal."""


def _empty_stream() -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_eof()
    return reader


class FakeProvider:
    """runtime.provider.Provider in memory (see the module docstring for how a test drives it)."""

    def __init__(self) -> None:
        self.containers: dict[str, FakeContainer] = {}
        #: container name -> why its next start fails (consumed by that start)
        self.start_errors: dict[str, str] = {}
        #: container names whose programs ignore SIGTERM
        self.stubborn: set[str] = set()
        #: (container, command) -> exit code of an exec; every command succeeds by default
        self.on_exec: Callable[[FakeContainer, list[str]], int] = lambda container, command: 0
        self.stops: list[tuple[str, float]] = []
        self.execs: list[tuple[str, list[str]]] = []
        self.removed: list[str] = []
        self.closed = False
        self._pids = itertools.count(1000)

    # -- what a test does -----------------------------------------------------------------------------
    def exit(self, container_id: str, code: int = 0, *, signal: int = 0, oom_killed: bool = False) -> None:
        """The program ends."""
        container = self.containers[container_id]
        if container.observed.done:
            return
        obs = container.observed
        obs.state, obs.exit_code, obs.signal, obs.oom_killed = "exited", code, signal, oom_killed
        obs.finished_at = time.time()
        container.ended.set()

    def write_log(self, container_id: str, data: bytes) -> None:
        self.containers[container_id].log += data

    # -- Provider -------------------------------------------------------------------------------------
    async def start(self, spec: ContainerSpec) -> Observed:
        error = self.start_errors.pop(spec.name, None)
        if error is not None:
            return Observed(spec.id, "failed", error=error)
        obs = Observed(spec.id, "running", pid=next(self._pids), started_at=time.time())
        self.containers[spec.id] = FakeContainer(spec, obs)
        return obs

    async def stop(self, container_id: str, grace: float) -> Observed:
        self.stops.append((container_id, grace))
        container = self.containers.get(container_id)
        if container is None or container.observed.done:
            return self.observe(container_id)
        if container.spec.name in self.stubborn:
            try:
                async with asyncio.timeout(max(0.0, grace)):
                    await container.ended.wait()
            except TimeoutError:
                self.exit(container_id, 128 + SIGKILL, signal=SIGKILL)
        else:
            self.exit(container_id, 128 + SIGTERM, signal=SIGTERM)
        return container.observed

    def observe(self, container_id: str) -> Observed:
        container = self.containers.get(container_id)
        if container is None:
            return Observed(container_id, "unknown", error="container was never started")
        return container.observed

    async def wait(self, container_id: str) -> Observed:
        container = self.containers.get(container_id)
        if container is not None:
            await container.ended.wait()
        return self.observe(container_id)

    async def exec(self, container_id: str, command: list[str], *, stdin: bool = False, stdout: bool = False,
                   stderr: bool = False, tty: bool = False) -> FakeExecution:
        container = self.containers.get(container_id)
        if container is None or container.observed.done:
            raise ExecError(f"container {container_id} is not running")
        self.execs.append((container_id, list(command)))
        return FakeExecution(self.on_exec(container, list(command)), stdout=stdout, stderr=stderr)

    async def attach(self, container_id: str, *, stdin: bool, stdout: bool, stderr: bool) -> FakeExecution:
        """A session that is already over: the fake programs write no output to stream."""
        container = self.containers.get(container_id)
        if container is None or container.observed.done:
            raise ExecError(f"container {container_id} is not running")
        return FakeExecution(0, stdout=stdout, stderr=stderr)

    async def logs(self, pod_uid: str, container_id: str, opts: LogOptions) -> AsyncIterator[bytes]:
        container = self.containers.get(container_id)
        if container is None:
            return
        if opts.follow:
            await container.ended.wait()
        lines = bytes(container.log).splitlines(keepends=True)
        if opts.tail_lines is not None:
            lines = lines[-opts.tail_lines:] if opts.tail_lines else []
        data = b"".join(lines)
        if opts.limit_bytes is not None:
            data = data[:opts.limit_bytes]
        if data:
            yield data

    def termination_message(self, container_id: str) -> str:
        container = self.containers.get(container_id)
        return container.termination_message if container is not None else ""

    def remove(self, container_id: str) -> None:
        self.removed.append(container_id)
        self.containers.pop(container_id, None)

    def adopt(self, pod_uid: str, container_id: str) -> Observed:
        return self.observe(container_id)

    async def close(self) -> None:
        self.closed = True

    def forget(self, container_id: str) -> None:
        self.containers.pop(container_id, None)
