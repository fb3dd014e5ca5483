"""pods/{name}/exec: a command run in one of the pod's containers, its streams served by the server."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from shim.registry.services import CommandFailed, Execution
from shim.registry.subresource import Kind, Subresource
from shim.registry.subresources.connect import RemoteCommand, container_of, flag, no_kubelet, scheduled_pod

if TYPE_CHECKING:
    from shim.registry.resource import ResourceInfo
    from shim.registry.rest import Verbs


class Exec(Subresource):
    name = "exec"
    verbs = ("create", "get")
    kind = Kind("", "v1", "PodExecOptions")
    connects = True

    async def connect(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str,
                      query: Mapping[str, Sequence[str]]) -> RemoteCommand:
        pod = verbs.registry.get(info, namespace, name)
        container = container_of(pod, (query.get("container") or [""])[0])
        scheduled_pod(verbs, info, namespace, name)
        command = list(query.get("command") or [])
        stdin, tty = flag(query, "stdin"), flag(query, "tty")
        exec_in = verbs.services.exec_in
        if exec_in is None:
            raise no_kubelet(pod)

        start = exec_in(pod, container, command, stdin, tty)  # raises Unreachable when it does not run

        async def checked() -> Execution:
            if not command:
                raise CommandFailed("you must specify at least one command for the container")
            return await start()

        return RemoteCommand(stdin, flag(query, "stdout"), flag(query, "stderr") and not tty, tty, checked, command)
