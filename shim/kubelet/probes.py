"""Startup, liveness and readiness probes (exec, httpGet, tcpSocket) with upstream's thresholds.

One asyncio task per (container instance, probe kind). A probe's result only changes after
successThreshold consecutive successes or failureThreshold consecutive failures; the pod worker is told
through a callback and decides what it means (Ready/ContainersReady, or a restart for liveness and startup).
Exec probes run through the runtime provider's exec, so they see the container's environment and files.
"""
from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1,
            "failureThreshold": 3}


@dataclass
class ProbeTarget:
    """Where and how to probe one container instance."""

    #: (command, timeout) -> did it exit 0 in time, run inside the container (runtime.provider.exec_succeeds)
    run_command: Callable[[list[str], float], Awaitable[bool]]
    host: str = "127.0.0.1"
    ports: dict[str, int] = field(default_factory=dict)  # named container ports


def _setting(probe: dict[str, Any], key: str) -> float:
    """A probe setting; unset (or 0, which the API defaults away) means upstream's default."""
    value = probe.get(key)
    if value is None or (value == 0 and key != "initialDelaySeconds"):
        return float(DEFAULTS[key])
    return float(value)


def _port(value: Any, target: ProbeTarget) -> int:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    if value in target.ports:
        return target.ports[value]
    raise ValueError(f"unknown port: {value}")


async def http_probe(spec: dict[str, Any], target: ProbeTarget, timeout: float) -> bool:
    host = spec.get("host") or target.host
    port = _port(spec.get("port"), target)
    scheme = (spec.get("scheme") or "HTTP").upper()
    path = spec.get("path") or "/"
    if not path.startswith("/"):
        path = "/" + path
    headers = {"Host": f"{host}:{port}", "User-Agent": "kube-probe/1.34", "Accept": "*/*",
               "Connection": "close"}
    for h in spec.get("httpHeaders") or []:
        headers[h.get("name", "")] = h.get("value", "")
    context = None
    if scheme == "HTTPS":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE

    async def go() -> bool:
        reader, writer = await asyncio.open_connection(host, port, ssl=context)
        try:
            request = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            writer.write(request.encode())
            await writer.drain()
            line = await reader.readline()
            parts = line.split()
            return len(parts) >= 2 and 200 <= int(parts[1]) < 400
        finally:
            writer.close()

    try:
        async with asyncio.timeout(timeout):
            return await go()
    except (OSError, ValueError, TimeoutError, ssl.SSLError):
        return False


async def tcp_probe(spec: dict[str, Any], target: ProbeTarget, timeout: float) -> bool:
    try:
        port = _port(spec.get("port"), target)
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(spec.get("host") or target.host, port)
        writer.close()
        return True
    except (OSError, ValueError, TimeoutError):
        return False


async def run_once(probe: dict[str, Any], target: ProbeTarget) -> bool:
    timeout = _setting(probe, "timeoutSeconds")
    if probe.get("exec"):
        return await target.run_command(list(probe["exec"].get("command") or []), timeout)
    if probe.get("httpGet"):
        return await http_probe(probe["httpGet"], target, timeout)
    if probe.get("tcpSocket"):
        return await tcp_probe(probe["tcpSocket"], target, timeout)
    return True  # grpc and unknown handlers are not implemented: treated as passing


async def run_probe(kind: str, probe: dict[str, Any], target: ProbeTarget,
                    report: Callable[[str, bool], None], *, initial: bool | None = None) -> None:
    """Probe forever (cancel to stop); report(kind, result) on every change of the thresholded result."""
    await asyncio.sleep(_setting(probe, "initialDelaySeconds"))
    period = _setting(probe, "periodSeconds")
    success_threshold = int(_setting(probe, "successThreshold"))
    failure_threshold = int(_setting(probe, "failureThreshold"))
    state = initial
    successes = failures = 0
    while True:
        ok = await run_once(probe, target)
        if ok:
            successes, failures = successes + 1, 0
            if state is not True and successes >= success_threshold:
                state = True
                report(kind, True)
        else:
            failures, successes = failures + 1, 0
            if state is not False and failures >= failure_threshold:
                state = False
                report(kind, False)
        await asyncio.sleep(period)
