"""Commands on a pseudo-terminal (`kubectl exec -t`): the command's session gets the terminal's other end as its
controlling terminal, as runc gives a container's console, so a shell has job control, ^C interrupts the
foreground job and a resize reaches it as SIGWINCH. Output and input both go through the terminal's master end,
which this process reads and writes without blocking its event loop.
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import functools
import os
import signal
import struct
import termios
from collections.abc import Callable


def _take_terminal(follower: int, enter: Callable[[], None] | None) -> None:
    """In the child: a session of its own whose controlling terminal is `follower`, then into the container
    (`enter`). Done here rather than with start_new_session, because uvloop's child sets up its session and stdio
    only after this hook has run."""
    os.setsid()
    fcntl.ioctl(follower, termios.TIOCSCTTY, 0)
    if enter is not None:
        enter()


async def start(argv: list[str], env: dict[str, str], cwd: str | None, *, stdin: bool,
                enter: Callable[[], None] | None = None) -> TerminalExecution:
    """Run argv on a new terminal (entering the container with `enter` in the child); raises what the spawn
    raises when it cannot start."""
    master, follower = os.openpty()
    try:
        # preexec_fn, not a helper program: the helper would have to exist inside the container's own root
        proc = await asyncio.create_subprocess_exec(*argv, env=env, cwd=cwd, stdin=follower, stdout=follower,
                                                    stderr=follower,
                                                    preexec_fn=functools.partial(_take_terminal, follower, enter))
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(follower)
    return TerminalExecution(proc, master, stdin)


class TerminalInput:
    """What the client types, written to the terminal as it accepts it."""

    def __init__(self, execution: TerminalExecution) -> None:
        self.execution = execution
        self.pending = bytearray()
        self.drained = asyncio.Event()
        self.drained.set()

    def write(self, data: bytes) -> None:
        if self.execution.closed:
            raise BrokenPipeError(errno.EPIPE, "the terminal is closed")
        if not self.pending:
            asyncio.get_running_loop().add_writer(self.execution.master, self._writable)
        self.pending += data
        self.drained.clear()

    def _writable(self) -> None:
        try:
            written = os.write(self.execution.master, self.pending)
        except BlockingIOError:
            return
        except OSError:
            written = len(self.pending)
        del self.pending[:written]
        if not self.pending:
            asyncio.get_running_loop().remove_writer(self.execution.master)
            self.drained.set()

    async def drain(self) -> None:
        await self.drained.wait()

    def close(self) -> None:
        """The client's input ended; the terminal stays (closing it would hang the command up)."""


class TerminalExecution:
    """A command on a terminal: stdout is the terminal's output, there is no stderr."""

    def __init__(self, proc: asyncio.subprocess.Process, master: int, stdin: bool) -> None:
        self._proc = proc
        self.master = master
        self.closed = False
        os.set_blocking(master, False)
        self.stdout: asyncio.StreamReader | None = asyncio.StreamReader()
        self.stderr: asyncio.StreamReader | None = None
        self.stdin: TerminalInput | None = TerminalInput(self) if stdin else None
        asyncio.get_running_loop().add_reader(master, self._readable)

    def _readable(self) -> None:
        assert self.stdout is not None
        try:
            data = os.read(self.master, 64 * 1024)
        except BlockingIOError:
            return
        except OSError:  # EIO: every process holding the terminal has gone
            data = b""
        if data:
            self.stdout.feed_data(data)
            return
        self.stdout.feed_eof()
        self._close()

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            loop = asyncio.get_running_loop()
            loop.remove_reader(self.master)
            loop.remove_writer(self.master)
            if self.stdin is not None:
                self.stdin.drained.set()
            os.close(self.master)

    async def wait(self) -> int:
        return await self._proc.wait()

    def kill(self) -> None:
        """SIGKILL the command's group if it runs, and hang the terminal up (what it left behind gets SIGHUP)."""
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)
        if self.stdout is not None and not self.closed:
            self.stdout.feed_eof()
        self._close()

    def resize(self, width: int, height: int) -> None:
        """TIOCSWINSZ: the kernel tells the terminal's foreground job with SIGWINCH."""
        if not self.closed:
            with contextlib.suppress(OSError):
                fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
