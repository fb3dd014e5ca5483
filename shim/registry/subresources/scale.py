"""{resource}/scale: the object seen and resized as an autoscaling/v1 Scale (custom resources with a scale
subresource)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from shim.machinery import errors
from shim.registry.kinds.custom import json_path_value
from shim.registry.options import WriteOptions, Written
from shim.registry.strategy import Obj
from shim.registry.subresource import Kind, Subresource, SubresourceRules

if TYPE_CHECKING:
    from shim.registry.resource import ResourceInfo
    from shim.registry.rest import Verbs


class Scale(Subresource):
    name = "scale"
    verbs = ("get", "patch", "update")
    kind = Kind("autoscaling", "v1", "Scale")

    def get(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str) -> Obj:
        return scale_of(info, verbs.registry.get(info, namespace, name))

    async def update(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str, body: Obj,
                     opts: WriteOptions) -> Written:
        return await self._rescale(verbs, info, namespace, name, lambda _current: body, opts)

    async def patch(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str,
                    mutate: Callable[[Obj], Obj], opts: WriteOptions) -> Written:
        return await self._rescale(verbs, info, namespace, name, mutate, opts)

    async def _rescale(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str,
                       new_scale: Callable[[Obj], Obj], opts: WriteOptions) -> Written:
        """The new Scale (made from the current one) written back into the object; answers the Scale."""
        def rescale(current: Obj) -> Obj:
            return set_scale(info, current, new_scale(scale_of(info, current)))
        written = await verbs.registry.update_with(info, namespace, name, rescale, opts, subresource=self.name,
                                                   rules=SubresourceRules(info.strategy))
        return Written(scale_of(info, written.object), written.warnings)


def scale_of(info: ResourceInfo, obj: Obj) -> Obj:
    """autoscaling/v1 Scale of a custom resource from its CRD's scale paths."""
    paths = _scale_paths(info)
    replicas = json_path_value(obj, paths["specReplicasPath"])
    status_replicas = json_path_value(obj, paths.get("statusReplicasPath", ".status.replicas"))
    meta = obj["metadata"]
    scale: Obj = {"kind": "Scale", "apiVersion": "autoscaling/v1",
                  "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                    "creationTimestamp") if k in meta},
                  "spec": {"replicas": replicas or 0}, "status": {"replicas": status_replicas or 0}}
    selector_path = paths.get("labelSelectorPath")
    if selector_path:
        selector = json_path_value(obj, selector_path)
        if selector:
            scale["status"]["selector"] = selector
    return scale


def _scale_paths(info: ResourceInfo) -> Obj:
    for version in (info.crd or {}).get("spec", {}).get("versions", []):
        if version.get("name") == info.version:
            return (version.get("subresources") or {}).get("scale") or {}
    raise errors.not_found(info.plural + "/scale", "", info.group)


def set_scale(info: ResourceInfo, obj: Obj, scale: Obj) -> Obj:
    """Write spec.replicas of a Scale back into the custom resource."""
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise errors.invalid("Scale", obj["metadata"]["name"], [errors.field_invalid(
            "spec.replicas", replicas, "must be greater than or equal to 0")], "autoscaling")
    parts = _scale_paths(info)["specReplicasPath"].strip(".").split(".")
    node = obj
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = replicas
    rv = (scale.get("metadata") or {}).get("resourceVersion")
    if rv:
        obj["metadata"]["resourceVersion"] = rv
    return obj
