"""Serving `GET /api/v1/namespaces/{ns}/pods/{name}/log`: which container instance, then its bytes from the provider.

`read_log` validates like the API server plus the kubelet do (same 400 messages), then returns an async
iterator of bytes, so the server can answer an error before it starts a 200 stream. The container instance is
found through the pod's status (containerID, or lastState's for `previous`), exactly as the real kubelet's
validateContainerLogStatus does; the runtime provider reads that instance's log (`Provider.logs`), which
disappears with the pod directory. `follow` ends when that instance has finished and its log is drained.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from shim.kubelet.runtime.provider import LogOptions, Provider
from shim.kubelet.timeutil import parse_time_ns
from shim.machinery.errors import bad_request, field_invalid, invalid


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
    last_id: str = (last or {}).get("containerID") or ""
    state = found.get("state") or {}
    if previous:
        if not last_id:
            raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        return last_id
    if state.get("running"):
        running_id: str = found.get("containerID", "")
        return running_id
    if state.get("terminated"):
        cid: str = state["terminated"].get("containerID") or last_id
        if not cid:
            raise bad_request(f'container "{container}" in pod "{name}" is terminated')
        return cid
    if last:
        if not last_id:
            raise bad_request(f'container "{container}" in pod "{name}" is terminated')
        return last_id
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
                   provider: Provider) -> AsyncIterator[bytes]:
    """Validate, then return the log stream. Raises StatusError(400) before any byte is produced."""
    _validate(opts)
    container = resolve_container(pod, container)
    if not (pod.get("spec") or {}).get("nodeName"):
        return _empty()
    cid = container_id_for(pod, container, opts.previous)
    return provider.logs((pod.get("metadata") or {}).get("uid", ""), cid.split("://", 1)[-1], opts)


def _validate(opts: LogOptions) -> None:
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


async def fallback_message(provider: Provider, pod_uid: str, container_id: str, max_lines: int = 80,
                           max_bytes: int = 2048) -> str:
    """FallbackToLogsOnError: the last 80 lines of the log, cut to the last 2048 bytes (upstream's limits)."""
    chunks = [chunk async for chunk in provider.logs(pod_uid, container_id, LogOptions(tail_lines=max_lines))]
    return b"".join(chunks)[-max_bytes:].decode("utf-8", "replace")


__all__ = ["LogOptions", "read_log", "resolve_container", "container_id_for", "fallback_message", "options_from_query"]
