"""The messages of a container's attach socket (`attach.sock` in its directory), which its supervisor serves and
through which the kubelet attaches (`kubectl attach`, `kubectl run -i`).

A socket rather than pipes held by kubeshim, because the supervisor outlives kubeshim: a restarted kubeshim
attaches to the containers it re-adopted exactly as to the ones it started. Each message is a kind byte, a
big-endian 32-bit length and the payload. The client opens with HELLO (which streams it wants), then sends
STDIN, STDIN_END (its input ended) and RESIZE (two 16-bit numbers: width, height); the supervisor sends STDOUT
and STDERR (the terminal's output is STDOUT) from the moment the client attached, and closes the connection once
the program has ended. Standard library only: the supervisor imports it at every container start.
"""
from __future__ import annotations

import os
import struct

SOCKET = "attach.sock"
HEADER = struct.Struct(">BI")
SIZE = struct.Struct(">HH")

HELLO, STDIN, STDIN_END, RESIZE, STDOUT, STDERR = b"hicroe"
#: HELLO's one-byte payload: the streams the client asks for
WANTS_STDIN, WANTS_STDOUT, WANTS_STDERR = 1, 2, 4
#: the most one message may carry: longer input or output is split
MAX_PAYLOAD = 1 << 20


def frame(kind: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


class Decoder:
    """Bytes as they arrive -> whole messages; `broken` once a peer sent a length no message may have."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.broken = False

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.buffer += data
        messages = []
        while len(self.buffer) >= HEADER.size and not self.broken:
            kind, length = HEADER.unpack_from(self.buffer)
            if length > MAX_PAYLOAD:
                self.broken = True
                break
            if len(self.buffer) < HEADER.size + length:
                break
            messages.append((kind, bytes(self.buffer[HEADER.size:HEADER.size + length])))
            del self.buffer[:HEADER.size + length]
        return messages


def address(dir_fd: int) -> str:
    """The socket's path through an open descriptor of the container directory: a unix socket's path is limited
    to 107 bytes, which a data directory deep in a temporary tree exceeds."""
    return f"/proc/self/fd/{dir_fd}/{SOCKET}"


def open_dir(cdir: str) -> int:
    return os.open(cdir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
