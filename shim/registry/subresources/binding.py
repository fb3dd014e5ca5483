"""pods/{name}/binding and the `bindings` resource: assign a pod to a node once, as a scheduler's Bind does."""
from __future__ import annotations

from typing import TYPE_CHECKING

from shim.machinery import errors, timeutil
from shim.registry.options import WriteOptions, Written
from shim.registry.strategy import Obj
from shim.registry.subresource import Kind, Subresource, SubresourceRules, metadata_of, success

if TYPE_CHECKING:
    from shim.registry.resource import ResourceInfo
    from shim.registry.rest import Verbs


class Binding(Subresource):
    """Sets spec.nodeName and the PodScheduled condition; the pod is the URL's (pods/binding) or the body's."""

    name = "binding"
    verbs = ("create",)
    kind = Kind("", "v1", "Binding")

    async def create(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str, body: Obj,
                     opts: WriteOptions) -> Written:
        meta = metadata_of(body)
        meta.setdefault("name", name)
        if name and meta["name"] != name:
            raise errors.bad_request("name in binding does not match the pod name in the URL")
        pod_name = meta["name"]
        target = body.get("target") or {}
        if not isinstance(target, dict):
            raise errors.bad_request("target must be an object")
        node = target.get("name")
        if not node:
            raise errors.invalid("Binding", pod_name, [errors.field_required("target.name")])
        if target.get("kind") not in (None, "", "Node"):
            raise errors.invalid("Binding", pod_name, [errors.field_not_supported("target.kind", target.get("kind"),
                                                                                  ["Node"])])

        def assign(pod: Obj) -> Obj:
            spec = pod.setdefault("spec", {})
            if pod["metadata"].get("deletionTimestamp"):
                raise errors.conflict("pods", pod_name, "pod is being deleted, cannot be assigned to a host")
            if spec.get("nodeName"):
                raise errors.conflict("pods", pod_name, f"pod {pod_name} is already assigned to node "
                                      f"\"{spec['nodeName']}\"")
            uid = meta.get("uid")
            if uid and uid != pod["metadata"].get("uid"):
                raise errors.conflict("pods", pod_name, f"Precondition failed: UID in precondition: {uid}, UID "
                                      f"in object meta: {pod['metadata'].get('uid')}")
            spec["nodeName"] = node
            status = pod.setdefault("status", {})
            conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
            conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                               "lastTransitionTime": timeutil.now_string()})
            status["conditions"] = conditions
            return pod

        pods = verbs.resource("", "v1", "pods")
        written = await verbs.registry.update_with(pods, namespace, pod_name, assign, opts, subresource=self.name,
                                                   rules=SubresourceRules(pods.strategy))
        return Written(success(), written.warnings)
