"""The kubelet's side of a container's attach socket (attachwire.py): one attached session as an Execution.

Its output streams carry what the program writes from now on; its stdin reaches the program when the container
has one; `kill` detaches (the program runs on) and `wait` returns 0 once the session is over: the program ended
(the supervisor closes the connection) or the client detached. The kubelet reports no exit code for attach.
"""
from __future__ import annotations

import asyncio
import contextlib
import os

from shim.kubelet.runtime import attachwire as wire
from shim.kubelet.runtime.provider import ExecError


async def attach(cdir: str, *, stdin: bool, stdout: bool, stderr: bool) -> AttachedSession:
    """Attach to the container whose directory is `cdir`; ExecError when its supervisor serves no socket."""
    try:
        dir_fd = wire.open_dir(cdir)
        try:
            reader, writer = await asyncio.open_unix_connection(wire.address(dir_fd))
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise ExecError(f"cannot attach to the container: {exc.strerror or exc}") from None
    wants = (wire.WANTS_STDIN if stdin else 0) | (wire.WANTS_STDOUT if stdout else 0) | \
        (wire.WANTS_STDERR if stderr else 0)
    writer.write(wire.frame(wire.HELLO, bytes([wants])))
    return AttachedSession(reader, writer, stdin=stdin, stdout=stdout, stderr=stderr)


class AttachedInput:
    """What the client types, as STDIN messages; its end is STDIN_END (what stdinOnce closes on)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer

    def write(self, data: bytes) -> None:
        for start in range(0, len(data), wire.MAX_PAYLOAD):
            self.writer.write(wire.frame(wire.STDIN, data[start:start + wire.MAX_PAYLOAD]))

    async def drain(self) -> None:
        await self.writer.drain()

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.write(wire.frame(wire.STDIN_END))


class AttachedSession:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, stdin: bool, stdout: bool,
                 stderr: bool) -> None:
        self._writer = writer
        self.stdin: AttachedInput | None = AttachedInput(writer) if stdin else None
        self.stdout: asyncio.StreamReader | None = asyncio.StreamReader() if stdout else None
        self.stderr: asyncio.StreamReader | None = asyncio.StreamReader() if stderr else None
        self._over = asyncio.Event()
        self._reading = asyncio.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        decoder = wire.Decoder()
        sinks = {wire.STDOUT: self.stdout, wire.STDERR: self.stderr}
        try:
            while data := await reader.read(65536):
                for kind, payload in decoder.feed(data):
                    sink = sinks.get(kind)
                    if sink is not None:
                        sink.feed_data(payload)
                if decoder.broken:
                    break
        except OSError:
            pass
        finally:
            self._end()

    def _end(self) -> None:
        for sink in (self.stdout, self.stderr):
            if sink is not None:
                sink.feed_eof()
        self._over.set()
        with contextlib.suppress(RuntimeError):
            self._writer.close()

    async def wait(self) -> int:
        await self._over.wait()
        return 0

    def kill(self) -> None:
        """Detach: the program runs on (with stdinOnce, its stdin closes)."""
        self._reading.cancel()
        self._end()

    def resize(self, width: int, height: int) -> None:
        if not self._writer.is_closing() and 0 <= width < 65536 and 0 <= height < 65536:
            self._writer.write(wire.frame(wire.RESIZE, wire.SIZE.pack(width, height)))
