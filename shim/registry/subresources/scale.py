"""{resource}/scale: the object seen and resized as an autoscaling/v1 Scale, through its strategy's scale
paths (custom resources with a scale subresource; workload kinds later)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from shim.machinery import errors
from shim.registry.options import WriteOptions, Written
from shim.registry.strategy import Obj
from shim.registry.subresource import Kind, Subresource, SubresourceRules

if TYPE_CHECKING:
    from shim.registry.resource import ResourceInfo
    from shim.registry.rest import Verbs


@runtime_checkable
class Scalable(Protocol):
    """A strategy whose objects have a replica count."""

    def scale(self, obj: Obj) -> Obj: ...

    def set_scale(self, obj: Obj, scale: Obj) -> Obj: ...


class Scale(Subresource):
    name = "scale"
    verbs = ("get", "patch", "update")
    kind = Kind("autoscaling", "v1", "Scale")

    def get(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str) -> Obj:
        return _scalable(info).scale(verbs.registry.get(info, namespace, name))

    async def update(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str, body: Obj,
                     opts: WriteOptions) -> Written:
        return await self._rescale(verbs, info, namespace, name, lambda _current: body, opts)

    async def patch(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str,
                    mutate: Callable[[Obj], Obj], opts: WriteOptions) -> Written:
        return await self._rescale(verbs, info, namespace, name, mutate, opts)

    async def _rescale(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str,
                       new_scale: Callable[[Obj], Obj], opts: WriteOptions) -> Written:
        """The new Scale (made from the current one) written back into the object; answers the Scale."""
        strategy = _scalable(info)

        def rescale(current: Obj) -> Obj:
            return strategy.set_scale(current, new_scale(strategy.scale(current)))
        written = await verbs.registry.update_with(info, namespace, name, rescale, opts, subresource=self.name,
                                                   rules=SubresourceRules(info.strategy))
        return Written(strategy.scale(written.object), written.warnings)


def _scalable(info: ResourceInfo) -> Scalable:
    if not isinstance(info.strategy, Scalable):
        raise errors.not_served()
    return info.strategy
