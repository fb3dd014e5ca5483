"""Numbered channels over one WebSocket, as k8s.io/apimachinery's wsstream multiplexes them.

Every message starts with its channel: a byte (`v4.channel.k8s.io`, `v5.channel.k8s.io`, `channel.k8s.io`, binary
messages) or an ASCII digit followed by base64 text (`base64.channel.k8s.io` and the `base64.` variants). v5 adds
channel 255, on which the client closes its side of a channel (one byte: the channel's number), so that a remote
`cat` sees the end of its stdin while the session goes on.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib

from starlette.websockets import WebSocket, WebSocketDisconnect

CLOSE_CHANNEL = 255

#: exec and attach: kube-apiserver's (v5, what kubectl >= 1.30 asks for), then the kubelet's older ones
REMOTECOMMAND_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io",
                           "channel.k8s.io", "base64.channel.k8s.io", "")
#: port-forward without SPDY: the kubelet's WebSocket protocol (channel pairs, each opened with its port)
PORTFORWARD_PROTOCOLS = ("v4.channel.k8s.io", "v4.base64.channel.k8s.io", "")


def choose(offered: list[str], supported: tuple[str, ...]) -> str | None:
    """The first protocol the client offered that is supported (upstream's handshake takes the client's order)."""
    return next((p for p in offered or [""] if p in supported), None)


class ChannelSocket:
    """The server's end: one reader per channel the client writes to, writes tagged with their channel."""

    def __init__(self, ws: WebSocket, protocol: str, channels: int) -> None:
        self.ws = ws
        self.base64 = "base64" in protocol
        self.closable = protocol.startswith("v5.")
        self._incoming: list[asyncio.Queue[bytes]] = [asyncio.Queue() for _ in range(channels)]
        self._ended = [False] * channels
        self._lock = asyncio.Lock()
        self.closed = asyncio.Event()

    def _end(self, channel: int) -> None:
        if not self._ended[channel]:
            self._ended[channel] = True
            self._incoming[channel].put_nowait(b"")

    async def run(self) -> None:
        """Read messages until the client goes; then every channel ends."""
        try:
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                data: bytes | None = message.get("bytes")
                if data is None:
                    data = (message.get("text") or "").encode()
                if not data:
                    continue
                channel = data[0] - (ord("0") if self.base64 else 0)
                payload = data[1:]
                if self.closable and data[0] == CLOSE_CHANNEL:
                    if payload and payload[0] < len(self._incoming):
                        self._end(payload[0])
                    continue
                if not 0 <= channel < len(self._incoming) or self._ended[channel]:
                    continue  # wsstream drops frames for channels it does not read
                if self.base64:
                    try:
                        payload = base64.b64decode(payload, validate=True)
                    except binascii.Error:
                        continue
                if payload:
                    self._incoming[channel].put_nowait(payload)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self.closed.set()
            for channel in range(len(self._incoming)):
                self._end(channel)

    async def read(self, channel: int) -> bytes:
        """What the client sent on `channel` next; b"" once it closed it or went."""
        if self._ended[channel] and self._incoming[channel].empty():
            return b""
        return await self._incoming[channel].get()

    async def write(self, channel: int, data: bytes) -> None:
        if self.closed.is_set():
            return
        async with self._lock:
            try:
                if self.base64:
                    await self.ws.send_text(chr(ord("0") + channel) + base64.b64encode(data).decode())
                else:
                    await self.ws.send_bytes(bytes([channel]) + data)
            except (WebSocketDisconnect, RuntimeError, OSError):
                self.closed.set()

    async def close(self) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self.ws.close()
        self.closed.set()


class Channel:
    """One channel of a ChannelSocket, as a source and a sink of bytes."""

    def __init__(self, socket: ChannelSocket, number: int) -> None:
        self.socket = socket
        self.number = number

    async def read(self) -> bytes:
        return await self.socket.read(self.number)

    async def write(self, data: bytes) -> None:
        await self.socket.write(self.number, data)

    async def close(self) -> None:
        """wsstream has no per-channel close towards the client: the session's end closes everything."""
