"""Serving `GET /api/v1/namespaces/{ns}/pods/{name}/log` from the CRI log files the supervisors write.

`read_log` validates like the API server plus the kubelet do (same 400 messages), then returns an async
iterator of bytes, so the server can answer an error before it starts a 200 stream. The container instance is
found through the pod's status (containerID, or lastState's for `previous`), exactly as the real kubelet's
validateContainerLogStatus does; the file is `<pods>/<uid>/containers/<id>/container.log` and disappears with
the pod directory. `follow` ends when that instance has finished and its log is drained.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, BinaryIO

from shim.kubelet.runtime.crilog import parse_line
from shim.kubelet.runtime.process import container_dir, instance_finished
from shim.kubelet.timeutil import parse_time_ns, rfc3339_nano
from shim.machinery.errors import bad_request

FOLLOW_POLL_SECONDS = 0.1


@dataclass
class LogOptions:
    """The PodLogOptions query parameters (container is passed separately)."""

    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time: str | None = None  # RFC 3339
    limit_bytes: int | None = None


def _bool(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes")


def _int(query: Any, key: str) -> int | None:
    value = query.get(key)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request(f'strconv.ParseInt: parsing "{value}": invalid syntax') from None


def options_from_query(query: Any) -> tuple[str, LogOptions]:
    """(container, options) from the query parameters of GET pods/{name}/log."""
    opts = LogOptions(follow=_bool(query.get("follow")), previous=_bool(query.get("previous")),
                      timestamps=_bool(query.get("timestamps")), tail_lines=_int(query, "tailLines"),
                      since_seconds=_int(query, "sinceSeconds"), since_time=query.get("sinceTime") or None,
                      limit_bytes=_int(query, "limitBytes"))
    if opts.since_time:
        try:
            parse_time_ns(opts.since_time)
        except ValueError:
            raise bad_request(f'parsing time "{opts.since_time}" as "2006-01-02T15:04:05Z07:00": cannot parse') \
                from None
    return query.get("container") or "", opts


def _names(containers: list[dict[str, Any]]) -> list[str]:
    return [c.get("name", "") for c in containers]


def resolve_container(pod: dict[str, Any], container: str) -> str:
    """The API server's choice of container (pod/rest LogLocation), with its error messages."""
    spec = pod.get("spec") or {}
    name = (pod.get("metadata") or {}).get("name", "")
    apps = _names(spec.get("containers") or [])
    inits = _names(spec.get("initContainers") or [])
    ephemeral = _names(spec.get("ephemeralContainers") or [])
    if not container:
        if len(apps) == 1:
            return apps[0]
        if not apps:
            raise bad_request(f"a container name must be specified for pod {name}")
        message = f"a container name must be specified for pod {name}, choose one of: [{' '.join(apps)}]"
        if inits:
            message += f" or one of the init containers: [{' '.join(inits)}]"
        if ephemeral:
            message += f" or one of the ephemeral containers: [{' '.join(ephemeral)}]"
        raise bad_request(message)
    if container not in apps + inits + ephemeral:
        raise bad_request(f"container {container} is not valid for pod {name}")
    return container


def container_id_for(pod: dict[str, Any], container: str, previous: bool) -> str:
    """Upstream's validateContainerLogStatus: which instance's log to read, or a 400 saying why none."""
    status = pod.get("status") or {}
    name = (pod.get("metadata") or {}).get("name", "")
    found = None
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        found = next((s for s in status.get(key) or [] if s.get("name") == container), None)
        if found:
            break
    if found is None:
        raise bad_request(f'container "{container}" in pod "{name}" is not available')
    last = (found.get("lastState") or {}).get("terminated")
    state = found.get("state") or {}
    if previous:
        if not last or not last.get("containerID"):
            raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        return last["containerID"]
    if state.get("running"):
        return found.get("containerID", "")
    if state.get("terminated"):
        cid = state["terminated"].get("containerID") or (last or {}).get("containerID")
        if not cid:
            raise bad_request(f'container "{container}" in pod "{name}" is terminated')
        return cid
    if last:
        if not last.get("containerID"):
            raise bad_request(f'container "{container}" in pod "{name}" is terminated')
        return last["containerID"]
    if state.get("waiting"):
        reason = state["waiting"].get("reason", "")
        if reason == "ErrImagePull":
            raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: image can\'t be pulled')
        if reason == "ImagePullBackOff":
            raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: '
                              f"trying and failing to pull image")
        raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
    raise bad_request(f'container "{container}" in pod "{name}" is waiting to start - no logs yet')


async def read_log(pod: dict[str, Any], container: str, opts: LogOptions, *,
                   pods_dir: Path) -> AsyncIterator[bytes]:
    """Validate, then return the log stream. Raises StatusError(400) before any byte is produced."""
    _validate(opts)
    container = resolve_container(pod, container)
    if not (pod.get("spec") or {}).get("nodeName"):
        return _empty()
    cid = container_id_for(pod, container, opts.previous)
    cid = cid.split("://", 1)[-1]
    cdir = container_dir(pods_dir, (pod.get("metadata") or {}).get("uid", ""), cid)
    return _stream(cdir, opts)


def _validate(opts: LogOptions) -> None:
    from shim.machinery.errors import field_invalid, invalid

    causes = []
    if opts.tail_lines is not None and opts.tail_lines < 0:
        causes.append(field_invalid("tailLines", opts.tail_lines, "must be greater than or equal to 0"))
    if opts.limit_bytes is not None and opts.limit_bytes < 1:
        causes.append(field_invalid("limitBytes", opts.limit_bytes, "must be greater than 0"))
    if opts.since_seconds is not None and opts.since_seconds < 1:
        causes.append(field_invalid("sinceSeconds", opts.since_seconds, "must be greater than 0"))
    if opts.since_seconds is not None and opts.since_time:
        causes.append({"reason": "FieldValueForbidden", "field": "sinceSeconds",
                       "message": "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"})
    if causes:
        raise invalid("PodLogOptions", "", causes)


async def _empty() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover


def _tail_offset(fh: BinaryIO, lines: int) -> int:
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


async def _stream(cdir: Path, opts: LogOptions) -> AsyncIterator[bytes]:
    path = cdir / "container.log"
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
            fh.seek(_tail_offset(fh, opts.tail_lines))
        buf = b""
        line_start = True
        finished = False
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
            if not opts.follow or finished:
                return
            if instance_finished(cdir):
                finished = True  # one more pass drains what was written before the finish
                continue
            await asyncio.sleep(FOLLOW_POLL_SECONDS)




def fallback_message(log_path: Path, max_lines: int = 80, max_bytes: int = 2048) -> str:
    """FallbackToLogsOnError: the last 80 lines of the log, cut to the last 2048 bytes (upstream's limits)."""
    try:
        with open(log_path, "rb") as fh:
            fh.seek(_tail_offset(fh, max_lines))
            data = fh.read()
    except OSError:
        return ""
    pieces = []
    for raw in data.splitlines(keepends=True):
        rec = parse_line(raw)
        if rec is not None:
            pieces.append(rec.content + (b"\n" if rec.full else b""))
    text = b"".join(pieces)[-max_bytes:]
    return text.decode("utf-8", "replace")


__all__ = ["LogOptions", "read_log", "resolve_container", "container_id_for", "fallback_message", "options_from_query"]
