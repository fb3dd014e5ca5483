"""Taking over the raw connection of an HTTP request that asks to `Upgrade` to something other than WebSocket.

ASGI knows two kinds of connection, HTTP requests and WebSockets; `Upgrade: SPDY/3.1` (what client-go's SPDY
executor and port-forwarder send) is neither, and uvicorn runs such a request as a plain HTTP request. kube-apiserver
hijacks the connection there (Go's http.Hijacker). The same seam here: `UpgradingHttpToolsProtocol`, uvicorn's
httptools protocol plus one ASGI extension, `scope["extensions"]["kubeshim.upgrade"]`, offered on requests with
`Connection: Upgrade` and a non-WebSocket `Upgrade`. The request is authenticated, authorized and validated as any
other (its refusals are ordinary responses); when the handler accepts, it awaits the extension with the 101's
headers and gets the connection as a `Duplex`, which it uses until it returns. The protocol switch happens before
the 101 is written, so no byte of the client's reaches uvicorn's HTTP parser after it.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

EXTENSION = "kubeshim.upgrade"

#: (headers of the 101 answer) -> the connection, as bytes in and out
Takeover = Callable[[list[tuple[str, str]]], Awaitable["RawConnection"]]


class _Pipe(asyncio.Protocol):
    """The connection's protocol once taken over: bytes in a queue, write pauses honoured."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[bytes] = asyncio.Queue()
        self.writable = asyncio.Event()
        self.writable.set()
        self.lost = False

    def data_received(self, data: bytes) -> None:
        self.incoming.put_nowait(data)

    def eof_received(self) -> bool | None:
        self.incoming.put_nowait(b"")
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.incoming.put_nowait(b"")
        self.writable.set()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()


class RawConnection:
    """An upgraded connection as a shim.server.streaming.spdy.Duplex."""

    def __init__(self, transport: asyncio.Transport, pipe: _Pipe) -> None:
        self.transport = transport
        self.pipe = pipe

    async def read(self) -> bytes:
        if self.pipe.lost and self.pipe.incoming.empty():
            return b""
        return await self.pipe.incoming.get()

    async def write(self, data: bytes) -> None:
        if self.pipe.lost or self.transport.is_closing():
            raise ConnectionResetError("connection closed")
        self.transport.write(data)
        await self.pipe.writable.wait()

    async def close(self) -> None:
        self.transport.close()


class UpgradingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, offering EXTENSION to requests that ask for a non-WebSocket upgrade."""

    def on_headers_complete(self) -> None:
        upgrade = self._get_upgrade() if self.parser.should_upgrade() else None
        if upgrade is not None and upgrade != b"websocket":
            scope: dict[str, Any] = cast(dict[str, Any], self.scope)
            scope["extensions"] = {**(scope.get("extensions") or {}), EXTENSION: self._takeover}
        super().on_headers_complete()

    def _unsupported_upgrade_warning(self) -> None:
        """Such a request is served as HTTP (and maybe taken over): nothing to warn about."""

    async def _takeover(self, headers: list[tuple[str, str]]) -> RawConnection:
        """Switch the connection to a raw pipe, then write the 101; the request's cycle is over for uvicorn."""
        cycle: Any = self.cycle
        if cycle is None or cycle.response_started:
            raise RuntimeError("the response has started: the connection cannot be taken over")
        cycle.response_started = cycle.response_complete = True
        self._unset_keepalive_if_required()
        self.connections.discard(self)
        pipe = _Pipe()
        transport: asyncio.Transport = self.transport
        transport.set_protocol(pipe)
        with contextlib.suppress(AttributeError):
            self.flow.resume_reading()
        lines = ["HTTP/1.1 101 Switching Protocols", *(f"{name}: {value}" for name, value in headers)]
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        return RawConnection(transport, pipe)


def takeover_of(scope: Any) -> Takeover | None:
    """The request's takeover hook (None: not an upgrade request, or a server without the extension)."""
    hook: Takeover | None = (scope.get("extensions") or {}).get(EXTENSION)
    return hook
