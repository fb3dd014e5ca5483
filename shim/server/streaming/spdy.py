"""SPDY/3.1, the server side of what client-go's SPDY round tripper and moby/spdystream speak.

A session runs over any byte stream (`Duplex`): the raw connection after `Upgrade: SPDY/3.1`, or the binary
messages of a WebSocket when kubectl tunnels port-forward's SPDY through one (`SPDY/3.1+portforward.k8s.io`).
The client opens every stream (SYN_STREAM with headers such as `streamType`); the server answers SYN_REPLY when it
takes the stream, RST_STREAM when it does not. Header blocks are zlib-compressed with the protocol's dictionary, one
compression context per direction for the whole session. spdystream does no flow control (it ignores
WINDOW_UPDATE and SETTINGS), so neither does this; PINGs the client starts are echoed.
"""
from __future__ import annotations

import asyncio
import contextlib
import struct
import zlib
from collections.abc import Callable
from typing import Protocol

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
#: RST_STREAM status codes
PROTOCOL_ERROR, REFUSED_STREAM, CANCEL = 1, 3, 5
MAX_DATA = 32 * 1024  # bytes per DATA frame written (the format allows 16 MiB)
MAX_FRAME = 16 * 1024 * 1024


def _dictionary() -> bytes:
    """The header compression dictionary of the SPDY/3 specification (section 2.6.10.1): length-prefixed header
    names and common values, then a run of status codes, texts and tokens."""
    words = ("options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges "
             "age allow authorization cache-control connection content-base content-encoding content-language "
             "content-length content-location content-md5 content-range content-type date etag expect expires from "
             "host if-match if-modified-since if-none-match if-range if-unmodified-since last-modified location "
             "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after server te trailer "
             "transfer-encoding upgrade user-agent vary via warning www-authenticate method get status").split()
    words += ["200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"]
    tail = ("100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
            "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
            "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
            "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
            "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
            "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
    return b"".join(struct.pack(">I", len(w)) + w.encode() for w in words) + tail.encode()


DICTIONARY = _dictionary()


class Duplex(Protocol):
    """A byte stream in both directions."""

    async def read(self) -> bytes:
        """The next bytes; b"" once the peer is gone."""
        ...

    async def write(self, data: bytes) -> None: ...

    async def close(self) -> None: ...


class ProtocolError(Exception):
    """The peer sent something that is not SPDY/3.1: the session ends."""


def encode_headers(compressor: zlib._Compress, headers: dict[str, str]) -> bytes:
    block = struct.pack(">I", len(headers))
    for name, value in headers.items():
        raw_name, raw_value = name.lower().encode(), value.encode()
        block += struct.pack(">I", len(raw_name)) + raw_name + struct.pack(">I", len(raw_value)) + raw_value
    return compressor.compress(block) + compressor.flush(zlib.Z_SYNC_FLUSH)


def decode_headers(decompressor: zlib._Decompress, data: bytes) -> dict[str, str]:
    """A header block, names lowercased; repeated values joined by NUL as the format carries them."""
    try:
        block = decompressor.decompress(data)
    except zlib.error as exc:
        raise ProtocolError(f"bad header block: {exc}") from None
    headers: dict[str, str] = {}
    try:
        (count,), at = struct.unpack_from(">I", block), 4
        for _ in range(count):
            (size,) = struct.unpack_from(">I", block, at)
            name = block[at + 4:at + 4 + size].decode().lower()
            at += 4 + size
            (size,) = struct.unpack_from(">I", block, at)
            headers[name] = block[at + 4:at + 4 + size].decode()
            at += 4 + size
    except (struct.error, UnicodeDecodeError) as exc:
        raise ProtocolError(f"bad header block: {exc}") from None
    return headers


def control_frame(kind: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload


def data_frame(stream_id: int, flags: int, data: bytes) -> bytes:
    return struct.pack(">II", stream_id & 0x7FFFFFFF, (flags << 24) | len(data)) + data


class Stream:
    """One client-opened stream: its headers, what the client sends on it, and the server's half."""

    def __init__(self, session: Session, stream_id: int, headers: dict[str, str]) -> None:
        self.session = session
        self.id = stream_id
        self.headers = headers
        self._incoming: asyncio.Queue[bytes] = asyncio.Queue()
        self._ended = False  # the client's half: FIN or reset seen
        self._closed = False  # our half: FIN or reset sent

    def _receive(self, data: bytes, fin: bool) -> None:
        if self._ended:
            return
        if data:
            self._incoming.put_nowait(data)
        if fin:
            self._end()

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self._incoming.put_nowait(b"")

    async def read(self) -> bytes:
        """The next data the client sent; b"" once it closed its half (or the stream or session ended)."""
        if self._ended and self._incoming.empty():
            return b""
        return await self._incoming.get()

    async def write(self, data: bytes) -> None:
        if self._closed:
            return
        for start in range(0, len(data), MAX_DATA):
            await self.session.send(data_frame(self.id, 0, data[start:start + MAX_DATA]))

    async def close(self) -> None:
        """Close our half (an empty DATA frame with FIN), as spdystream's Stream.Close does."""
        if not self._closed:
            self._closed = True
            await self.session.send(data_frame(self.id, FLAG_FIN, b""))

    async def reset(self, status: int = CANCEL) -> None:
        if not self._closed:
            self._closed = True
            self._end()
            await self.session.send(control_frame(RST_STREAM, 0, struct.pack(">II", self.id, status)))


class Session:
    """The server's end of one SPDY/3.1 connection. `accept(stream)` decides on each new stream: True answers
    SYN_REPLY and queues it for `next_stream`, False resets it."""

    def __init__(self, io: Duplex, accept: Callable[[Stream], bool] = lambda stream: True) -> None:
        self.io = io
        self.accept = accept
        self.streams: dict[int, Stream] = {}
        self._new: asyncio.Queue[Stream | None] = asyncio.Queue()
        self._compressor = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zdict=DICTIONARY)
        self._decompressor = zlib.decompressobj(zdict=DICTIONARY)
        self._write_lock = asyncio.Lock()
        self._buffer = bytearray()
        self.closed = asyncio.Event()

    async def send(self, frame: bytes) -> None:
        if self.closed.is_set():
            return
        async with self._write_lock:
            try:
                await self.io.write(frame)
            except (OSError, RuntimeError):
                self.closed.set()

    async def _reply(self, stream: Stream) -> None:
        async with self._write_lock:  # compress and write in one step: the peer inflates in frame order
            payload = struct.pack(">I", stream.id) + encode_headers(self._compressor, {})
            with contextlib.suppress(OSError, RuntimeError):
                await self.io.write(control_frame(SYN_REPLY, 0, payload))

    async def next_stream(self) -> Stream | None:
        """The next stream the client opened and `accept` took; None once the session is over."""
        if self.closed.is_set() and self._new.empty():
            return None
        return await self._new.get()

    async def run(self) -> None:
        """Read frames until the client goes (EOF, GOAWAY) or breaks the protocol; then end every stream."""
        try:
            while True:
                header = await self._take(8)
                if header is None:
                    break
                first, second = struct.unpack(">II", header)
                flags, length = second >> 24, second & 0xFFFFFF
                if length > MAX_FRAME:
                    raise ProtocolError("frame too large")
                payload = await self._take(length)
                if payload is None:
                    break
                if first & 0x80000000:
                    if not await self._control((first >> 16) & 0x7FFF, first & 0xFFFF, flags, payload):
                        break
                else:
                    stream = self.streams.get(first & 0x7FFFFFFF)
                    if stream is not None:
                        stream._receive(payload, bool(flags & FLAG_FIN))
        except ProtocolError:
            pass
        finally:
            self.closed.set()
            for stream in self.streams.values():
                stream._end()
            self._new.put_nowait(None)

    async def _take(self, size: int) -> bytes | None:
        while len(self._buffer) < size:
            chunk = await self.io.read()
            if not chunk:
                return None
            self._buffer += chunk
        taken = bytes(self._buffer[:size])
        del self._buffer[:size]
        return taken

    async def _control(self, version: int, kind: int, flags: int, payload: bytes) -> bool:
        """Handle one control frame; False ends the session."""
        if version != VERSION:
            raise ProtocolError(f"unsupported SPDY version {version}")
        if kind == SYN_STREAM:
            if len(payload) < 10:
                raise ProtocolError("short SYN_STREAM")
            stream_id = struct.unpack_from(">I", payload)[0] & 0x7FFFFFFF
            stream = Stream(self, stream_id, decode_headers(self._decompressor, payload[10:]))
            if stream_id in self.streams or stream_id % 2 == 0:
                await self.send(control_frame(RST_STREAM, 0, struct.pack(">II", stream_id, PROTOCOL_ERROR)))
                return True
            if not self.accept(stream):
                await stream.reset(REFUSED_STREAM)
                return True
            self.streams[stream_id] = stream
            await self._reply(stream)
            if flags & FLAG_FIN:
                stream._end()
            self._new.put_nowait(stream)
        elif kind == HEADERS:
            stream_id = struct.unpack_from(">I", payload)[0] & 0x7FFFFFFF if len(payload) >= 4 else 0
            decode_headers(self._decompressor, payload[4:])  # keeps the inflate context in step
            if stream_id in self.streams and flags & FLAG_FIN:
                self.streams[stream_id]._end()
        elif kind == RST_STREAM:
            stream_id = struct.unpack_from(">I", payload)[0] & 0x7FFFFFFF if len(payload) >= 4 else 0
            reset = self.streams.pop(stream_id, None)
            if reset is not None:
                reset._closed = True
                reset._end()
        elif kind == PING:
            if len(payload) == 4 and struct.unpack(">I", payload)[0] % 2 == 1:  # the client's: echo it
                await self.send(control_frame(PING, 0, payload))
        elif kind == GOAWAY:
            return False
        return True  # SETTINGS, WINDOW_UPDATE and anything newer: spdystream ignores them too

    async def close(self) -> None:
        """End the session: every stream's half closed, then the connection."""
        for stream in list(self.streams.values()):
            await stream.close()
        self.closed.set()
        with contextlib.suppress(OSError, RuntimeError):
            await self.io.close()
