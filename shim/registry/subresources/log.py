"""pods/{name}/log: the container's log as a byte stream, read by the kubelet of this process."""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

from shim.machinery import errors
from shim.registry.services import Services
from shim.registry.strategy import Obj
from shim.registry.subresource import Subresource

if TYPE_CHECKING:
    from shim.registry.resource import ResourceInfo
    from shim.registry.rest import Verbs


class Log(Subresource):
    name = "log"
    verbs = ("get",)
    streams = True

    async def stream(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str,
                     options: Mapping[str, str]) -> AsyncIterator[bytes]:
        return await pod_log(verbs.services, verbs.registry.get(info, namespace, name), options)


async def pod_log(services: Services, pod: Obj, options: Mapping[str, str]) -> AsyncIterator[bytes]:
    """The pod's log as PodLogOptions (in their query form) select it, validated before the first byte."""
    if services.pod_logs is None:
        raise errors.bad_request(f"pod {pod['metadata']['name']} has no logs: no kubelet runs here")
    return await services.pod_logs(pod, options)
