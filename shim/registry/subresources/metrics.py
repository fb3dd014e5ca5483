"""metrics.k8s.io/v1beta1 nodes and pods: NodeMetrics and PodMetrics, read-only, as metrics-server serves them
(sigs.k8s.io/metrics-server pkg/api). kubectl top reads these.

The figures come from the kubelet of this process (Services.usage); an object it has no figures for is left out
of lists and is a 404 of its own resource (`podmetrics.metrics.k8s.io "ns/name" not found`), while a node or pod
that does not exist is the NotFound of nodes or pods, as metrics-server answers from its listers. Lists take
label and field selectors; nothing is stored, so there is no watch.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from shim.machinery import errors, quantity, timeutil
from shim.machinery.protobuf._types import format_duration
from shim.registry.options import ListOptions
from shim.registry.services import Usage
from shim.registry.strategy import Obj
from shim.registry.subresource import Subresource

if TYPE_CHECKING:
    from shim.registry.resource import ResourceInfo
    from shim.registry.rest import Verbs

GROUP = "metrics.k8s.io"


def usage_list(usage: Usage) -> Obj:
    """A ResourceList as metrics-server formats it: CPU in nanocores (DecimalSI), memory in bytes (BinarySI)."""
    return {"cpu": quantity.format_decimal(usage.cpu, -9), "memory": quantity.format_binary(usage.memory)}


def _metadata(obj: Obj) -> Obj:
    """The metadata metrics-server gives a metrics object: the source's name, namespace and labels, created now."""
    meta = obj["metadata"]
    out: Obj = {"name": meta["name"]}
    if meta.get("namespace"):
        out["namespace"] = meta["namespace"]
    out["creationTimestamp"] = timeutil.now_string()
    if meta.get("labels"):
        out["labels"] = meta["labels"]
    return out


def _times(usage: Usage) -> Obj:
    return {"timestamp": timeutil.format_time(timeutil.from_unix(usage.timestamp)),
            "window": format_duration(round(usage.window * 1e9))}


def _selection(opts: ListOptions) -> ListOptions:
    """What metrics-server reads of list options: the selectors (it lists from an informer's cache)."""
    return ListOptions(opts.label_selector, opts.field_selector)


class MetricsResource(Subresource):
    """A read-only metrics resource: get and list, computed at each request."""

    verbs = ("get", "list")
    #: the core resource whose objects are measured
    source = ""

    def measure(self, verbs: Verbs, info: ResourceInfo, obj: Obj) -> Obj | None:
        """The metrics object of `obj`, or None when there are no figures for it."""
        raise NotImplementedError

    def get(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str) -> Obj:
        obj = verbs.registry.get(verbs.resource("", "v1", self.source), namespace, name)
        measured = self.measure(verbs, info, obj)
        if measured is None:
            raise errors.not_found(info.kind.lower(), f"{namespace}/{name}" if namespace else name, GROUP)
        return measured

    async def list(self, verbs: Verbs, info: ResourceInfo, namespace: str, opts: ListOptions) -> Obj:
        source = verbs.resource("", "v1", self.source)
        result = await verbs.registry.list(source, namespace, _selection(opts))
        items = []
        for entry in result.entries:
            measured = self.measure(verbs, info, verbs.registry.decode(source, entry))
            if measured is not None:
                items.append(measured)
        items.sort(key=lambda m: (m["metadata"].get("namespace", ""), m["metadata"]["name"]))
        return {"kind": info.list_kind, "apiVersion": info.api_version, "metadata": {}, "items": items}


class NodeMetrics(MetricsResource):
    source = "nodes"

    def measure(self, verbs: Verbs, info: ResourceInfo, obj: Obj) -> Obj | None:
        source = verbs.services.usage
        usage = source.node(obj["metadata"]["name"]) if source is not None else None
        if usage is None:
            return None
        return {"kind": info.kind, "apiVersion": info.api_version, "metadata": _metadata(obj), **_times(usage),
                "usage": usage_list(usage)}


class PodMetrics(MetricsResource):
    source = "pods"

    def measure(self, verbs: Verbs, info: ResourceInfo, obj: Obj) -> Obj | None:
        """Every running container's usage, in the pod's order; the earliest timestamp stands for the pod, as
        metrics-server takes it."""
        source = verbs.services.usage
        containers = source.pod(obj) if source is not None else None
        if not containers:
            return None
        order = [c.get("name") for c in (obj.get("spec") or {}).get("containers") or []]
        names = sorted(containers, key=lambda n: order.index(n) if n in order else len(order))
        earliest = min(containers.values(), key=lambda u: u.timestamp)
        return {"kind": info.kind, "apiVersion": info.api_version, "metadata": _metadata(obj), **_times(earliest),
                "containers": [{"name": n, "usage": usage_list(containers[n])} for n in names]}
