"""The CRI container log format: `<RFC3339Nano> <stdout|stderr> <F|P> <content>` per line.

Chosen over plain text because every record carries its own timestamp (needed for `timestamps=true`,
`sinceTime` and `sinceSeconds`) and stream, and because it is what containerd writes, so existing tooling
reads our log files. Lines longer than MAX_LINE are split into P(artial) records ending with an F(ull) one;
output that ends without a newline ends with a P record.
Written by the supervisor (stdlib only: it must start fast), read by logfile.py.
"""
from __future__ import annotations

import collections
import io
import time

from shim.kubelet.timeutil import rfc3339_nano

MAX_LINE = 16 * 1024

#: one parsed log record (ts_ns: int, stream: str, full: bool, content: bytes); collections, not typing, so
#: the supervisor does not pay typing's import (~20 ms) on every container start
Record = collections.namedtuple("Record", "ts_ns stream full content")


class LineWriter:
    """Turns a byte stream from one pipe into CRI records on a shared log file."""

    def __init__(self, out: io.RawIOBase, stream: str) -> None:
        self.out = out
        self.stream = stream.encode()
        self.buf = b""

    def _emit(self, content: bytes, full: bool) -> None:
        stamp = rfc3339_nano(time.time_ns()).encode()
        self.out.write(b"%s %s %s %s\n" % (stamp, self.stream, b"F" if full else b"P", content))

    def feed(self, data: bytes) -> None:
        self.buf += data
        while True:
            nl = self.buf.find(b"\n")
            if nl < 0:
                break
            line, self.buf = self.buf[:nl], self.buf[nl + 1:]
            while len(line) > MAX_LINE:
                self._emit(line[:MAX_LINE], False)
                line = line[MAX_LINE:]
            self._emit(line, True)
        while len(self.buf) > MAX_LINE:
            self._emit(self.buf[:MAX_LINE], False)
            self.buf = self.buf[MAX_LINE:]
        self.out.flush()

    def close(self) -> None:
        """The stream ended: output left without a newline is a P(artial) record, as containerd writes it, so
        that readers (logs, FallbackToLogsOnError) give it back without a newline the program never wrote."""
        if self.buf:
            self._emit(self.buf, False)
            self.buf = b""
        self.out.flush()


def parse_line(line: bytes) -> Record | None:
    """One CRI record; None for a malformed or torn (still being written) line."""
    if not line.endswith(b"\n"):
        return None
    parts = line[:-1].split(b" ", 3)
    if len(parts) < 3:
        return None
    from shim.kubelet.timeutil import parse_time_ns

    try:
        ts = parse_time_ns(parts[0].decode())
    except ValueError:
        return None
    content = parts[3] if len(parts) == 4 else b""
    return Record(ts, parts[1].decode(), parts[2] != b"P", content)
