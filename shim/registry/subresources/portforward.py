"""pods/{name}/portforward: connections to the pod's ports, carried by the server's streams."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from shim.machinery import errors
from shim.registry.subresource import Kind, Subresource
from shim.registry.subresources.connect import PortForward, no_kubelet, scheduled_pod

if TYPE_CHECKING:
    from shim.registry.resource import ResourceInfo
    from shim.registry.rest import Verbs


def ports_of(query: Mapping[str, Sequence[str]]) -> list[int]:
    """The `ports` a WebSocket client names (the kubelet's NewV4Options; SPDY clients name theirs per stream)."""
    ports = []
    for value in query.get("ports") or []:
        if not value:
            raise errors.bad_request('query parameter "port" cannot be empty')
        for part in value.split(","):
            if not part.isdigit() or int(part) > 65535:
                raise errors.bad_request(f'unable to parse "{value}" as a port')
            if int(part) < 1:
                raise errors.bad_request(f'port "{value}" must be > 0')
            ports.append(int(part))
    return ports


def decode_ports(query: Mapping[str, Sequence[str]]) -> None:
    """PodPortForwardOptions' `ports` as the API server decodes the query, before it looks at the pod: each value
    an unsigned number (the kubelet checks the rest)."""
    for value in query.get("ports") or []:
        if value and not (value.isascii() and value.isdigit()):
            raise errors.bad_request(f'cannot convert to []int32: strconv.ParseUint: parsing "{value}": '
                                     "invalid syntax")


class PortForwardHandler(Subresource):
    name = "portforward"
    verbs = ("create", "get")
    kind = Kind("", "v1", "PodPortForwardOptions")
    connects = True

    async def connect(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str,
                      query: Mapping[str, Sequence[str]]) -> PortForward:
        decode_ports(query)
        pod = scheduled_pod(verbs, info, namespace, name)
        if verbs.services.dial_pod is None:
            raise no_kubelet(pod)
        return PortForward(pod, ports_of(query), verbs.services.dial_pod)
