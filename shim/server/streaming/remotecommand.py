"""The remote command protocol of exec and attach (k8s.io/kubelet's cri/streaming/remotecommand), over any
transport: stdin, stdout and stderr carry the program's bytes, resize carries JSON terminal sizes
(`{"Width":80,"Height":24}`, one after another), and error carries the outcome once the program has ended: with
v4 and v5 a metav1.Status (`Success`, or `NonZeroExitCode` with the code as the `ExitCode` cause), before v4 the
message of a failure and nothing on success. A client that goes away ends the command: nothing keeps running for
a session nobody reads.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from shim.registry.services import Execution

#: how long output may keep coming once the program has ended (a background child holding the terminal open)
DRAIN_SECONDS = 2.0


class Source(Protocol):
    async def read(self) -> bytes:
        """The next bytes; b"" once the client closed it."""
        ...


class Sink(Protocol):
    async def write(self, data: bytes) -> None: ...

    async def close(self) -> None: ...


@dataclass
class Streams:
    """A session's streams, as the transport opened them (None: not asked for)."""

    stdin: Source | None
    stdout: Sink | None
    stderr: Sink | None
    error: Sink
    resize: Source | None
    #: v4 and later: the outcome is a Status object; before: the failure's message alone
    json_status: bool
    #: set once the client has gone
    gone: asyncio.Event


def success() -> dict[str, Any]:
    return {"metadata": {}, "status": "Success"}


def non_zero_exit(code: int, detail: str) -> dict[str, Any]:
    """The Status of a command that exited with `code` (remotecommand's NonZeroExitCodeReason)."""
    return {"metadata": {}, "status": "Failure", "message": f"command terminated with non-zero exit code: {detail}",
            "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def internal_error(message: str) -> dict[str, Any]:
    """apierrors.NewInternalError: what the API server reports when the kubelet could not serve the stream."""
    return {"metadata": {}, "status": "Failure", "message": f"Internal error occurred: {message}",
            "reason": "InternalError", "details": {"causes": [{"message": message}]}, "code": 500}


async def write_status(streams: Streams, status: dict[str, Any]) -> None:
    if streams.json_status:
        await streams.error.write(json.dumps(status, separators=(",", ":")).encode())
    elif status.get("status") != "Success":
        await streams.error.write(status.get("message", "").encode())


async def serve(streams: Streams, execution: Execution, exit_detail: Callable[[int], str]) -> None:
    """Bridge the session's streams and the running program until it ends (or the client goes), then report."""
    outputs = [asyncio.create_task(_copy_out(source, sink))
               for source, sink in ((execution.stdout, streams.stdout), (execution.stderr, streams.stderr))
               if source is not None]
    inputs = []
    if streams.stdin is not None and execution.stdin is not None:
        inputs.append(asyncio.create_task(_copy_in(streams.stdin, execution)))
    if streams.resize is not None:
        inputs.append(asyncio.create_task(_resizes(streams.resize, execution)))
    waiting = asyncio.create_task(execution.wait())
    gone = asyncio.create_task(streams.gone.wait())
    try:
        await asyncio.wait([waiting, gone], return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done():  # the client went first
            execution.kill()
            await waiting
            return
        code = waiting.result()
        code = 128 - code if code < 0 else code  # killed by a signal: the shell's convention, as runc reports it
        if outputs:
            await asyncio.wait(outputs, timeout=DRAIN_SECONDS)
        await write_status(streams, success() if code == 0 else non_zero_exit(code, exit_detail(code)))
    finally:
        execution.kill()  # ended already: a terminal is hung up, a pipe-only command has nothing left to kill
        for task in [*outputs, *inputs, gone, waiting]:
            task.cancel()
        for task in [*outputs, *inputs, gone, waiting]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _copy_out(source: asyncio.StreamReader, sink: Sink | None) -> None:
    """The program's output to the client (read and dropped when the client did not ask for it)."""
    while True:
        try:
            data = await source.read(64 * 1024)
        except OSError:  # a terminal whose last writer is gone reads EIO: that is its end
            return
        if not data:
            return
        if sink is not None:
            await sink.write(data)


async def _copy_in(source: Source, execution: Execution) -> None:
    assert execution.stdin is not None
    try:
        while data := await source.read():
            execution.stdin.write(data)
            await execution.stdin.drain()
    except (OSError, RuntimeError):
        return
    with contextlib.suppress(OSError, RuntimeError):
        execution.stdin.close()


async def _resizes(source: Source, execution: Execution) -> None:
    """TerminalSize objects as a JSON stream (Go's json.Decoder reads them back to back)."""
    decoder = json.JSONDecoder()
    buffer = ""
    while data := await source.read():
        buffer += data.decode("utf-8", "replace")
        while buffer.strip():
            try:
                size, end = decoder.raw_decode(buffer.lstrip())
            except json.JSONDecodeError:
                break  # the rest of the object is still on its way
            buffer = buffer.lstrip()[end:]
            if isinstance(size, dict):
                width, height = size.get("Width") or size.get("width"), size.get("Height") or size.get("height")
                if isinstance(width, int) and isinstance(height, int) and width >= 0 and height >= 0:
                    execution.resize(width, height)
