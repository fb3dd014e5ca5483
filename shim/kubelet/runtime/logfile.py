"""Reading a CRI-format container log file (see crilog.py) as `LogOptions` select it.

Apart from crilog.py because the supervisor imports that one and must not pay for asyncio. The records'
own timestamps serve `timestamps`, `sinceTime` and `sinceSeconds`; `tailLines` seeks from the end without
reading the whole file; `follow` polls until the caller says the instance has finished, then drains.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO

from shim.kubelet.runtime.crilog import parse_line
from shim.kubelet.runtime.provider import LogOptions
from shim.kubelet.timeutil import parse_time_ns, rfc3339_nano

FOLLOW_POLL_SECONDS = 0.1


def tail_offset(fh: BinaryIO, lines: int) -> int:
    """Offset of the start of the last `lines` complete records."""
    fh.seek(0, 2)
    end = fh.tell()
    if lines == 0:
        return end
    pos, found, block = end, 0, 65536
    while pos > 0:
        step = min(block, pos)
        pos -= step
        fh.seek(pos)
        data = fh.read(step)
        for i in range(len(data) - 1, -1, -1):
            if data[i] == 0x0A:
                if pos + i == end - 1:
                    continue  # the newline that ends the last record
                found += 1
                if found == lines:
                    return pos + i + 1
    return 0


async def read(path: Path, opts: LogOptions, finished: Callable[[], bool]) -> AsyncIterator[bytes]:
    """The log's content; with `follow`, until `finished()` says no more lines will come and all are read."""
    since_ns = None
    if opts.since_time:
        since_ns = parse_time_ns(opts.since_time)
    elif opts.since_seconds:
        since_ns = time.time_ns() - int(opts.since_seconds) * 1_000_000_000
    remaining = opts.limit_bytes
    try:
        fh = open(path, "rb")
    except OSError:
        return
    with fh:
        if opts.tail_lines is not None:
            fh.seek(tail_offset(fh, opts.tail_lines))
        buf = b""
        line_start = True
        done = False
        while True:
            chunk = fh.read(256 * 1024)
            if chunk:
                buf += chunk
                cut = buf.rfind(b"\n") + 1
                ready, buf = buf[:cut], buf[cut:]
                out = []
                for raw in ready.splitlines(keepends=True):
                    rec = parse_line(raw)
                    if rec is None or (since_ns is not None and rec.ts_ns < since_ns):
                        continue
                    piece = rec.content + (b"\n" if rec.full else b"")
                    if opts.timestamps and line_start:
                        piece = rfc3339_nano(rec.ts_ns).encode() + b" " + piece
                    line_start = rec.full
                    out.append(piece)
                if out:
                    data = b"".join(out)
                    if remaining is not None:
                        data = data[:remaining]
                        remaining -= len(data)
                    if data:
                        yield data
                    if remaining is not None and remaining <= 0:
                        return
                continue
            if not opts.follow or done:
                return
            if finished():
                done = True  # one more pass drains what was written before the finish
                continue
            await asyncio.sleep(FOLLOW_POLL_SECONDS)
