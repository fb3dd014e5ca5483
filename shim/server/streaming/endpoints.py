"""The HTTP face of the streaming subresources: SPDY upgrades (POST or GET with `Upgrade: SPDY/3.1`), reached
through the resource endpoint once it has authenticated and authorized the request, and WebSocket connections
(pods/exec, attach, portforward and log), which ASGI delivers apart from HTTP requests and which this module
authenticates and authorizes the same way. The registry's handler checks the request and describes the session
(`connect`); what can be refused is refused before the upgrade, as an ordinary Status.
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from shim.machinery import errors
from shim.machinery.errors import StatusError
from shim.registry.services import CommandFailed, Unreachable
from shim.registry.subresource import Subresource
from shim.registry.subresources.connect import PortForward, RemoteCommand
from shim.server import paths
from shim.server.auth import impersonate
from shim.server.streaming import portforward, remotecommand
from shim.server.streaming.channels import (PORTFORWARD_PROTOCOLS, REMOTECOMMAND_PROTOCOLS, Channel, ChannelSocket,
                                            choose)
from shim.server.streaming.spdy import Session, Stream
from shim.server.streaming.upgrade import takeover_of

if TYPE_CHECKING:
    from shim.registry.resource import ResourceInfo
    from shim.server.resources import ApiContext

log = logging.getLogger(__name__)

SPDY_REMOTECOMMAND = ("v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io")
SPDY_PORTFORWARD = ("portforward.k8s.io",)
TUNNELED_SPDY = "SPDY/3.1+"
#: how long the client may take to open its streams (upstream's DefaultStreamCreationTimeout)
STREAM_CREATION_SECONDS = 30.0
STREAM_TYPES = ("error", "stdin", "stdout", "stderr", "resize")


class Detached(Response):
    """What the endpoint returns once the connection was taken over: nothing more is sent."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        return None


def query_of(connection: HTTPConnection) -> Mapping[str, Sequence[str]]:
    query: dict[str, list[str]] = {}
    for key, value in connection.query_params.multi_items():
        query.setdefault(key, []).append(value)
    return query


def spdy_exit_detail(command: list[str]) -> Callable[[int], str]:
    """containerd's words for a non-zero exit (what reaches an SPDY client through the kubelet)."""
    return lambda code: f"error executing command [{' '.join(command)}], exit code {code}"


def websocket_exit_detail(code: int) -> str:
    """kube-apiserver's stream translator's words (what a v5 WebSocket client gets)."""
    return f"command terminated with exit code {code}"


def offered_versions(request: Request) -> list[str]:
    return [p.strip() for value in request.headers.getlist("x-stream-protocol-version") for p in value.split(",")
            if p.strip()]


async def upgrade(request: Request, ctx: ApiContext, info: ResourceInfo, target: paths.Target,
                  handler: Subresource) -> Response:
    """An SPDY session for exec, attach or portforward. In upstream's order: the API server's checks of the pod
    and options, then its upgrade-aware proxy's (anything but an SPDY upgrade is a 400), then the kubelet's."""
    session: RemoteCommand | PortForward | Unreachable
    try:
        session = await handler.connect(ctx.verbs, info, target.namespace, target.name, query_of(request))
    except Unreachable as exc:
        session = exc
    takeover = takeover_of(request.scope)
    connection = request.headers.get("connection", "").lower()
    if takeover is None or "upgrade" not in connection or \
            "spdy/3.1" not in request.headers.get("upgrade", "").lower():
        raise errors.bad_request("Upgrade request required")
    if isinstance(session, Unreachable):  # the kubelet's answer, passed on by the API server's proxy
        return PlainTextResponse(str(session), status_code=500)
    offered = offered_versions(request)
    supported = SPDY_PORTFORWARD if isinstance(session, PortForward) else SPDY_REMOTECOMMAND
    if not offered:
        return PlainTextResponse("unable to upgrade: X-Stream-Protocol-Version is required", status_code=400)
    protocol = next((p for p in offered if p in supported), None)
    if protocol is None:
        return PlainTextResponse(f"unable to upgrade: unable to negotiate protocol: client supports "
                                 f"[{' '.join(offered)}], server accepts [{' '.join(supported)}]", status_code=403,
                                 headers={"X-Accepted-Stream-Protocol-Versions": ", ".join(supported)})
    raw = await takeover([("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1"),
                          ("X-Stream-Protocol-Version", protocol)])
    accept = portforward.accepts if isinstance(session, PortForward) else lambda stream: True
    spdy = Session(raw, accept)
    reading = asyncio.create_task(spdy.run())
    try:
        if isinstance(session, PortForward):
            await portforward.serve_spdy(spdy, session)
        else:
            await _serve_spdy_command(spdy, session, protocol)
    except Exception:  # the connection is ours now: log, never answer
        log.exception("streaming session on %s failed", request.url.path)
    finally:
        await spdy.close()
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
    return Detached()


async def _serve_spdy_command(spdy: Session, command: RemoteCommand, protocol: str) -> None:
    resizable = protocol in ("v4.channel.k8s.io", "v3.channel.k8s.io")
    expected = 1 + command.stdin + command.stdout + command.stderr + (command.tty and resizable)
    streams: dict[str, Stream] = {}
    try:
        async with asyncio.timeout(STREAM_CREATION_SECONDS):
            while len(streams) < expected:
                stream = await spdy.next_stream()
                if stream is None:
                    break
                kind = stream.headers.get("streamtype", "")
                if kind in STREAM_TYPES:
                    streams[kind] = stream
    except TimeoutError:
        pass
    if "error" not in streams or len(streams) < expected:
        return  # the client gave up before opening its streams: nothing was started
    bridge = remotecommand.Streams(streams.get("stdin"), streams.get("stdout"), streams.get("stderr"),
                                   streams["error"], streams.get("resize"), protocol == "v4.channel.k8s.io",
                                   spdy.closed)
    await _run(bridge, command, spdy_exit_detail(command.command))


async def _run(bridge: remotecommand.Streams, command: RemoteCommand, exit_detail: Callable[[int], str]) -> None:
    """Start the command now that its streams are open and serve it, or report why it could not start (the
    kubelet's ServeExec: an internal error)."""
    try:
        execution = await command.start()
    except CommandFailed as exc:
        await remotecommand.write_status(bridge, remotecommand.internal_error(
            f"error executing command in container: {exc}"))
        return
    await remotecommand.serve(bridge, execution, exit_detail)


class WebSocketEndpoint:
    """pods/{name}/exec, attach, portforward and log over WebSocket."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An ASGI app: Starlette's WebSocketRoute hands a class instance the raw connection."""
        await self.serve(WebSocket(scope, receive, send))

    async def serve(self, ws: WebSocket) -> None:
        try:
            info, target, handler = self._authorized(ws)
            if target.subresource == "log":
                await self._log(ws, info, target)
                return
            if handler is None or not handler.connects:
                raise errors.method_not_allowed()
            session: RemoteCommand | PortForward | Unreachable
            try:
                session = await handler.connect(self.ctx.verbs, info, target.namespace, target.name, query_of(ws))
            except Unreachable as exc:  # the stream translator upgrades first, then reports the kubelet's refusal
                session = exc
        except StatusError as err:
            from shim.server.resources import status_response

            await ws.send_denial_response(status_response(err))
            return
        if isinstance(session, PortForward):
            await self._portforward(ws, session)
        else:
            await self._remotecommand(ws, session)

    def _authorized(self, ws: WebSocket) -> tuple[ResourceInfo, paths.Target, Subresource | None]:
        request = cast(Request, ws)  # the authenticator reads headers alone, which a WebSocket has too
        user = impersonate(request, self.ctx.authenticator.authenticate(request), self.ctx.authorizer)
        verbs = self.ctx.verbs
        target = paths.parse(ws.url.path, verbs.resource("", "v1", "namespaces").subresources)
        if target is None or not target.name or not target.subresource:
            raise errors.not_served()
        info = verbs.resource(target.group, target.version, target.plural)
        handler = verbs.route(info, target.subresource, "get")
        self.ctx.authorizer.authorize(user, "get", info, target)
        return info, target, handler

    async def _log(self, ws: WebSocket, info: ResourceInfo, target: paths.Target) -> None:
        """wsstream.Reader: each chunk of the log one message, raw (`binary.k8s.io`) or base64 text."""
        offered = ws.scope.get("subprotocols") or []
        protocol = choose(list(offered), ("binary.k8s.io", "base64.binary.k8s.io", ""))
        if protocol is None:
            raise errors.bad_request(f"requested protocol(s) are not supported: {offered}")
        stream = await self.ctx.verbs.stream(info, target.namespace, target.name, "log", ws.query_params)
        await ws.accept(subprotocol=protocol or None)
        try:
            async for chunk in stream:
                if protocol.startswith("base64."):
                    await ws.send_text(base64.b64encode(chunk).decode())
                else:
                    await ws.send_bytes(chunk)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return
        finally:
            with contextlib.suppress(AttributeError):
                await cast(Any, stream).aclose()
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await ws.close()

    async def _remotecommand(self, ws: WebSocket, command: RemoteCommand | Unreachable) -> None:
        protocol = choose(list(ws.scope.get("subprotocols") or []), REMOTECOMMAND_PROTOCOLS)
        if protocol is None:
            await ws.send_denial_response(PlainTextResponse(
                f"requested protocol(s) are not supported: {ws.scope.get('subprotocols')}", status_code=400))
            return
        await ws.accept(subprotocol=protocol or None)
        socket = ChannelSocket(ws, protocol, 5)
        reading = asyncio.create_task(socket.run())
        channels = [Channel(socket, n) for n in range(5)]
        asked = command if isinstance(command, RemoteCommand) else None
        bridge = remotecommand.Streams(channels[0] if asked and asked.stdin else None,
                                       channels[1] if asked and asked.stdout else None,
                                       channels[2] if asked and asked.stderr else None, channels[3],
                                       channels[4], protocol.startswith(("v4.", "v5.")), socket.closed)
        first = 1 if asked and asked.stdout else 2 if asked and asked.stderr else 3
        await channels[first].write(b"")  # tells the client the streams are open
        try:
            if asked is None:  # what the stream translator makes of the kubelet's refusal
                await remotecommand.write_status(bridge, remotecommand.internal_error(
                    f"unable to upgrade connection: {command}"))
                return
            await _run(bridge, asked, websocket_exit_detail)
        finally:
            await socket.close()
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading

    async def _portforward(self, ws: WebSocket, forward: PortForward) -> None:
        offered = list(ws.scope.get("subprotocols") or [])
        tunneled = [p[len(TUNNELED_SPDY):] for p in offered if p.startswith(TUNNELED_SPDY)]
        if tunneled:
            await self._tunneled_portforward(ws, forward, tunneled)
            return
        protocol = choose(offered, PORTFORWARD_PROTOCOLS)
        if protocol is None or not forward.ports:
            message = 'query parameter "port" is required' if protocol is not None else \
                f"requested protocol(s) are not supported: {offered}"
            await ws.send_denial_response(PlainTextResponse(message, status_code=400))
            return
        await ws.accept(subprotocol=protocol or None)
        socket = ChannelSocket(ws, protocol, 2 * len(forward.ports))
        reading = asyncio.create_task(socket.run())
        try:
            await portforward.serve_channels(socket, forward)
        finally:
            await socket.close()
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading

    async def _tunneled_portforward(self, ws: WebSocket, forward: PortForward, offered: list[str]) -> None:
        """kubectl >= 1.31: SPDY carried in binary WebSocket messages (kube-apiserver's tunneling handler)."""
        if SPDY_PORTFORWARD[0] not in offered:
            await ws.send_denial_response(PlainTextResponse(
                f"unable to upgrade: unable to negotiate protocol: client supports [{' '.join(offered)}], "
                f"server accepts [{' '.join(SPDY_PORTFORWARD)}]", status_code=403))
            return
        await ws.accept(subprotocol=TUNNELED_SPDY + SPDY_PORTFORWARD[0])
        spdy = Session(MessagePipe(ws), portforward.accepts)
        reading = asyncio.create_task(spdy.run())
        try:
            await portforward.serve_spdy(spdy, forward)
        finally:
            await spdy.close()
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading


class MessagePipe:
    """A WebSocket's binary messages as a byte stream (client-go's TunnelingConnection)."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws

    async def read(self) -> bytes:
        try:
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    return b""
                data: bytes | None = message.get("bytes")
                if data:
                    return data
        except (WebSocketDisconnect, RuntimeError):
            return b""

    async def write(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    async def close(self) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self.ws.close()
