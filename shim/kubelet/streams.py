"""The kubelet's side of `kubectl exec`, `attach` and `port-forward`: which running instance a request reaches,
and how.

Upstream's kubelet finds the container among the runtime's running ones (GetExec: `container not found ("c")`
when it is not running) and asks the runtime to exec; port-forward dials the port inside the pod's network
namespace. kubeshim's pods share the host's network, so a pod's port is the host's port on loopback.
"""
from __future__ import annotations

import asyncio
from typing import Any

from shim.kubelet.runtime.provider import ExecError, Execution, Provider
from shim.registry.services import CommandFailed, Starter, Unreachable


def running_instance(pod: dict[str, Any], container: str) -> str:
    """The runtime id of the container's running instance; Unreachable when none runs."""
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for entry in status.get(key) or []:
            if entry.get("name") == container and (entry.get("state") or {}).get("running"):
                container_id: str = entry.get("containerID") or ""
                if container_id:
                    return container_id.split("://", 1)[-1]
    raise Unreachable(f'container not found ("{container}")')


def known_instance(provider: Provider, pod: dict[str, Any], container: str) -> str:
    """The running instance, which this kubelet's runtime runs too; Unreachable otherwise."""
    instance = running_instance(pod, container)
    try:
        running = not provider.observe(instance).done
    except KeyError:  # an instance this kubelet does not know
        running = False
    if not running:
        raise Unreachable(f'container not found ("{container}")')
    return instance


def exec_in(provider: Provider, pod: dict[str, Any], container: str, command: list[str], stdin: bool,
            tty: bool) -> Starter:
    """How to start `command` in the container's running instance, output through pipes (or its terminal with
    `tty`); Unreachable now when no instance runs."""
    instance = known_instance(provider, pod, container)

    async def start() -> Execution:
        try:
            return await provider.exec(instance, command, stdin=stdin, stdout=True, stderr=not tty, tty=tty)
        except ExecError as exc:
            raise CommandFailed(f"failed to exec in container: {exc}") from None

    return start


def attach_to(provider: Provider, pod: dict[str, Any], container: str, stdin: bool) -> Starter:
    """How to attach to the container's running program (its output, and its stdin with `stdin`; its terminal
    when the container has `tty`); Unreachable now when no instance runs."""
    instance = known_instance(provider, pod, container)
    spec: dict[str, Any] = next((c for c in (pod.get("spec") or {}).get("containers") or []
                                 if c.get("name") == container), {})
    tty = bool(spec.get("tty"))

    async def start() -> Execution:
        try:
            return await provider.attach(instance, stdin=stdin, stdout=True, stderr=not tty)
        except ExecError as exc:
            raise CommandFailed(f"failed to attach to container: {exc}") from None

    return start


async def dial(pod: dict[str, Any], port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the pod's port (the host's, on loopback); OSError in containerd's words when refused."""
    try:
        return await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        reason = exc.strerror.lower() if exc.strerror else str(exc)
        uid = (pod.get("metadata") or {}).get("uid", "")
        raise OSError(f'failed to connect to localhost:{port} inside namespace "{uid}", IPv4: dial tcp4 '
                                 f"127.0.0.1:{port}: connect: {reason} IPv6 dial tcp6: address localhost: no suitable "
                                 "address found ") from None
