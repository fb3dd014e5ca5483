"""The port-forward protocols (k8s.io/kubelet's cri/streaming/portforward), carrying connections to a pod's ports.

SPDY (`portforward.k8s.io`, also when kubectl >= 1.31 tunnels it through a WebSocket): the client opens a pair of
streams per connection, `streamType` error and data, with the same `requestID` and the `port` header; the server
connects to the port and copies both ways; a failure is written as text on the error stream. WebSocket
(`v4.channel.k8s.io`): the ports are named in the query, channel 2i carries port i's data and 2i+1 its errors, and
each of the two starts with the port number (two bytes, little-endian).
"""
from __future__ import annotations

import asyncio
import contextlib
import struct

from shim.registry.subresources.connect import PortForward
from shim.server.streaming.channels import Channel, ChannelSocket
from shim.server.streaming.remotecommand import Sink
from shim.server.streaming.spdy import Duplex, Session, Stream

#: how long the second stream of a pair may take (upstream's streamCreationTimeout)
PAIR_TIMEOUT = 30.0


def accepts(stream: Stream) -> bool:
    """httpStreamReceived's checks: a port header that is a port above 0, and a stream type it knows."""
    port = stream.headers.get("port", "")
    return (port.isdigit() and 0 < int(port) <= 65535
            and stream.headers.get("streamtype") in ("error", "data"))


def _request_id(stream: Stream) -> str:
    """The pair a stream belongs to; clients that send no requestID number the error stream, then the data one."""
    request_id = stream.headers.get("requestid", "")
    if request_id:
        return request_id
    return str(stream.id if stream.headers.get("streamtype") == "error" else stream.id - 2)


async def serve_spdy(session: Session, forward: PortForward) -> None:
    """Forward every stream pair the client opens, until the session ends."""
    pairs: dict[str, dict[str, Stream]] = {}
    tasks: set[asyncio.Task[None]] = set()

    def expire(request_id: str) -> None:
        pair = pairs.pop(request_id, None)
        if pair and "error" in pair:
            tasks.add(asyncio.create_task(pair["error"].write(
                f"timed out waiting for streams of request {request_id}".encode())))

    try:
        while (stream := await session.next_stream()) is not None:
            request_id = _request_id(stream)
            pair = pairs.setdefault(request_id, {})
            kind = stream.headers["streamtype"]
            if kind in pair:
                await stream.write(f"error processing stream for request {request_id}: "
                                   f"{kind} stream already assigned".encode())
                continue
            if not pair:
                asyncio.get_running_loop().call_later(PAIR_TIMEOUT, expire, request_id)
            pair[kind] = stream
            if len(pair) == 2:
                del pairs[request_id]
                port = int(pair["data"].headers["port"])
                task = asyncio.create_task(_forward(forward, port, pair["data"], pair["error"]))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _forward(forward: PortForward, port: int, data: Stream, error: Stream) -> None:
    try:
        if await forward_one(forward, port, data, error):
            return
        await data.reset()
        await error.reset()
    finally:
        await data.close()
        await error.close()


async def forward_one(forward: PortForward, port: int, data: Duplex, error: Sink) -> bool:
    """One connection to `port`, copied both ways with `data` until either side ends; False (with the reason
    written to `error`) when the port cannot be reached."""
    uid = (forward.pod.get("metadata") or {}).get("uid", "")
    try:
        reader, writer = await forward.dial(forward.pod, port)
    except OSError as exc:
        await error.write(f"error forwarding port {port} to pod {uid}, uid : {exc}".encode())
        return False
    upstream = asyncio.create_task(_client_to_port(data, writer))
    downstream = asyncio.create_task(_port_to_client(reader, data))
    try:
        done, _ = await asyncio.wait([upstream, downstream], return_when=asyncio.FIRST_COMPLETED)
        await asyncio.wait([upstream, downstream], timeout=1.0)  # containerd's grace for the other direction
    finally:
        for task in (upstream, downstream):
            task.cancel()
        await asyncio.gather(upstream, downstream, return_exceptions=True)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return True


async def _client_to_port(data: Duplex, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while chunk := await data.read():
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


async def _port_to_client(reader: asyncio.StreamReader, data: Duplex) -> None:
    with contextlib.suppress(OSError):
        while chunk := await reader.read(64 * 1024):
            await data.write(chunk)


async def serve_channels(socket: ChannelSocket, forward: PortForward) -> None:
    """The kubelet's WebSocket protocol: each named port once, over its channel pair."""
    pairs = [(port, Channel(socket, 2 * i), Channel(socket, 2 * i + 1)) for i, port in enumerate(forward.ports)]
    for port, data, error in pairs:
        prefix = struct.pack("<H", port)
        await data.write(prefix)
        await error.write(prefix)
    await asyncio.gather(*(forward_one(forward, port, data, error) for port, data, error in pairs))
