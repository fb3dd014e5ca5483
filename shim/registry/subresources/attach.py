"""pods/{name}/attach: the streams of a container's own program (its stdin when the container has `stdin: true`,
its terminal when `tty: true`), served by the server."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from shim.registry.strategy import Obj
from shim.registry.subresource import Kind, Subresource
from shim.registry.subresources.connect import RemoteCommand, container_of, flag, no_kubelet, scheduled_pod

if TYPE_CHECKING:
    from shim.registry.resource import ResourceInfo
    from shim.registry.rest import Verbs


class Attach(Subresource):
    name = "attach"
    verbs = ("create", "get")
    kind = Kind("", "v1", "PodAttachOptions")
    connects = True

    async def connect(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str,
                      query: Mapping[str, Sequence[str]]) -> RemoteCommand:
        pod = verbs.registry.get(info, namespace, name)
        container = container_of(pod, (query.get("container") or [""])[0])
        scheduled_pod(verbs, info, namespace, name)
        attach_to = verbs.services.attach_to
        if attach_to is None:
            raise no_kubelet(pod)
        spec: Obj = next((c for c in (pod.get("spec") or {}).get("containers") or [] if c.get("name") == container), {})
        # whether the program runs in a terminal was fixed at its start: the container's, not the request's
        tty, stdin = bool(spec.get("tty")), flag(query, "stdin")

        return RemoteCommand(stdin, flag(query, "stdout"), flag(query, "stderr") and not tty, tty,
                             attach_to(pod, container, stdin), [])
