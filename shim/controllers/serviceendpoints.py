"""What the Endpoints and EndpointSlice controllers share (upstream's k8s.io/endpointslice util and the
endpoints controller's helpers): which pods back a service, whether they are ready, the port a service port
reaches on a pod, and the time of the change an update answers (the last-change-trigger-time annotation).

A pod's address is the podIP its kubelet reports: kubeshim's pods share the host's network, so every pod of a
node has the node's address, told apart by its targetRef.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from shim.clients.base import NODES, PODS, Client, Resource
from shim.machinery import timeutil
from shim.machinery.errors import StatusError

Obj = dict[str, Any]
SERVICES = Resource("", "v1", "services")
ENDPOINTS = Resource("", "v1", "endpoints")
ENDPOINTSLICES = Resource("discovery.k8s.io", "v1", "endpointslices")
TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"
HEADLESS = "service.kubernetes.io/headless"


def key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def managed(service: Obj) -> bool:
    """Services the controllers keep endpoints for: a selector, and not ExternalName."""
    spec = service.get("spec") or {}
    return bool(spec.get("selector")) and spec.get("type") != "ExternalName"


def selects(service: Obj, pod: Obj) -> bool:
    if key(service)[0] != key(pod)[0]:
        return False
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in ((service.get("spec") or {}).get("selector") or {}).items())


def is_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def should_be_in_endpoints(pod: Obj, include_terminating: bool) -> bool:
    """Not finished, has an address, and (unless asked) not being deleted (ShouldPodBeInEndpoints)."""
    status = pod.get("status") or {}
    if status.get("phase") in ("Failed", "Succeeded"):
        return False
    if not status.get("podIP") and not status.get("podIPs"):
        return False
    return include_terminating or not (pod.get("metadata") or {}).get("deletionTimestamp")


def ip_family(service: Obj, pod: Obj) -> int:
    """4 or 6: the service's first family, else its cluster IP's, else the pod's."""
    spec = service.get("spec") or {}
    families = spec.get("ipFamilies") or []
    if families:
        return 6 if families[0] == "IPv6" else 4
    for candidate in (spec.get("clusterIP"), (pod.get("status") or {}).get("podIP")):
        try:
            return ipaddress.ip_address(str(candidate)).version
        except ValueError:
            continue
    return 4


def pod_addresses(pod: Obj, family: int) -> list[str]:
    """The pod's IPs of one family, in canonical form."""
    status = pod.get("status") or {}
    found = []
    for entry in status.get("podIPs") or [{"ip": status.get("podIP")}]:
        try:
            address = ipaddress.ip_address(str((entry or {}).get("ip")))
        except ValueError:
            continue
        if address.version == family:
            found.append(str(address))
    return found


def find_port(pod: Obj, service_port: Obj) -> int | None:
    """The container port a service port's targetPort names (a number as it is; a name among the containers'
    ports of the same protocol, then sidecars'), None when the pod has none."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    spec = pod.get("spec") or {}
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    for container in [*(spec.get("containers") or []), *sidecars]:
        for port in container.get("ports") or []:
            if port.get("name") == target and port.get("protocol", "TCP") == service_port.get("protocol", "TCP"):
                return int(port["containerPort"])
    return None


def sets_hostname(pod: Obj, service: Obj) -> bool:
    spec = pod.get("spec") or {}
    return bool(spec.get("hostname")) and spec.get("subdomain") == key(service)[1] and key(pod)[0] == key(service)[0]


def target_ref(pod: Obj) -> Obj:
    meta = pod["metadata"]
    return {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta["name"], "uid": meta.get("uid", "")}


def rfc3339_nano(moment: dt.datetime) -> str:
    """Go's time.RFC3339Nano in UTC: fractional seconds without trailing zeros, none when whole."""
    text = moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


@dataclass
class TriggerTimes:
    """Upstream's TriggerTimeTracker: when the change an endpoints update answers happened. A service seen for
    the first time: its creation; afterwards the earliest of the pods' Ready transitions (and the service's
    creation) that moved past what the last sync saw; None when none did."""

    #: service key -> (its trigger time, pod name -> trigger time) at the last sync
    seen: dict[tuple[str, str], tuple[dt.datetime | None, dict[str, dt.datetime]]] = field(default_factory=dict)

    def compute(self, service: Obj, pods: list[Obj]) -> dt.datetime | None:
        before_service, before_pods = self.seen.get(key(service), (None, {}))
        known = key(service) in self.seen
        now_pods = {key(p)[1]: t for p in pods if (t := _ready_transition(p)) is not None}
        changed = [t for name, t in now_pods.items() if name not in before_pods or t > before_pods[name]]
        created = _time((service.get("metadata") or {}).get("creationTimestamp"))
        if created is not None and (before_service is None or created > before_service):
            changed.append(created)
        self.seen[key(service)] = (created, now_pods)
        if not known:
            return created
        return min(changed) if changed else None

    def forget(self, live: set[tuple[str, str]]) -> None:
        for gone in set(self.seen) - live:
            del self.seen[gone]


def _time(value: Any) -> dt.datetime | None:
    return timeutil.parse_time(value) if isinstance(value, str) and value else None


def _ready_transition(pod: Obj) -> dt.datetime | None:
    ready = next((c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None)
    return _time(ready.get("lastTransitionTime")) if ready else None


@dataclass
class Snapshot:
    """The services, pods and nodes one reconcile pass works from (the informers' caches of upstream)."""

    services: list[Obj]
    pods: list[Obj]
    nodes: dict[str, Obj]

    @classmethod
    async def read(cls, client: Client) -> Snapshot:
        """Pods and nodes are read only when some service selects pods: a cluster of pods without such services
        (a Flyte cluster's task pods) costs a list of services per pass."""
        services = (await client.list(SERVICES))["items"]
        if not any(managed(s) for s in services):
            return cls(services, [], {})
        pods = (await client.list(PODS))["items"]
        nodes = {n["metadata"]["name"]: n for n in (await client.list(NODES))["items"]}
        return cls(services, pods, nodes)

    def pods_of(self, service: Obj) -> list[Obj]:
        return [p for p in self.pods if selects(service, p)]


async def tolerate(write: Awaitable[Any]) -> None:
    """A write that lost a race (the object changed or went, the namespace is terminating) is dropped: the
    watch that follows brings the next pass."""
    try:
        await write
    except StatusError as err:
        if err.code not in (403, 404, 409):
            raise
