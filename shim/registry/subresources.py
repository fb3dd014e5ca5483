"""Subresources that are more than a view of the object: binding, finalize, scale."""
from __future__ import annotations

from typing import Any

from shim.machinery import errors, timeutil
from shim.registry.generic import Registry
from shim.registry.options import WriteOptions
from shim.registry.kinds.custom import json_path_value
from shim.registry.resource import ResourceInfo

Obj = dict[str, Any]


async def bind(registry: Registry, pods: ResourceInfo, namespace: str, binding: Obj,
               opts: WriteOptions | None = None) -> Obj:
    """pods/binding: set spec.nodeName once and mark the pod scheduled (as the scheduler's Bind does)."""
    name = (binding.get("metadata") or {}).get("name", "")
    target = binding.get("target") or {}
    node = target.get("name")
    if not node:
        raise errors.invalid("Binding", name, [errors.field_required("target.name")])
    if target.get("kind") not in (None, "", "Node"):
        raise errors.invalid("Binding", name, [errors.field_not_supported("target.kind", target.get("kind"),
                                                                          ["Node"])])

    def assign(pod: Obj) -> Obj:
        spec = pod.setdefault("spec", {})
        if pod["metadata"].get("deletionTimestamp"):
            raise errors.conflict("pods", name, "pod is being deleted, cannot be assigned to a host")
        if spec.get("nodeName"):
            raise errors.conflict("pods", name, f"pod {name} is already assigned to node "
                                  f"\"{spec['nodeName']}\"")
        uid = (binding.get("metadata") or {}).get("uid")
        if uid and uid != pod["metadata"].get("uid"):
            raise errors.conflict("pods", name, f"Precondition failed: UID in precondition: {uid}, UID in "
                                  f"object meta: {pod['metadata'].get('uid')}")
        spec["nodeName"] = node
        status = pod.setdefault("status", {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": timeutil.now_string()})
        status["conditions"] = conditions
        return pod

    await registry.update_with(pods, namespace, name, assign, opts, subresource="binding")
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


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
