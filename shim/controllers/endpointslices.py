"""kube-controller-manager's EndpointSlice controller (k8s.io/endpointslice's reconciler): every Service with a
selector gets discovery.k8s.io/v1 EndpointSlices of its address family listing the pods it selects, with their
ready/serving/terminating conditions, grouped by the ports the service reaches on them, at most 100 endpoints
a slice; a service with no endpoints keeps one empty placeholder slice. Slices are owned by their Service (the
garbage collector removes them with it) and labelled `kubernetes.io/service-name` and
`endpointslice.kubernetes.io/managed-by`; slices of other managers are left alone.

Each pass reads every service, pod and slice (kubeshim's clusters are small) and writes only what differs.
"""
from __future__ import annotations

from typing import Any

from shim.clients.base import NODES, PODS, Client
from shim.controllers.runner import reconcile_on_changes
from shim.controllers.serviceendpoints import ENDPOINTSLICES, HEADLESS, SERVICES, TRIGGER_TIME, Obj, \
    Snapshot, TriggerTimes, find_port, is_ready, key, managed, pod_addresses, rfc3339_nano, sets_hostname, \
    should_be_in_endpoints, target_ref, tolerate
from shim.machinery import names

SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER = "endpointslice-controller.k8s.io"
ZONE = "topology.kubernetes.io/zone"
#: kube-controller-manager's --max-endpoints-per-slice default
MAX_ENDPOINTS = 100
_RESERVED = (SERVICE_NAME, MANAGED_BY, HEADLESS)


def address_types(service: Obj) -> list[str]:
    """The slices' address types: one per IP family of the service."""
    return [family for family in ((service.get("spec") or {}).get("ipFamilies") or ["IPv4"])
            if family in ("IPv4", "IPv6")]


def endpoint_ports(service: Obj, pod: Obj) -> list[Obj]:
    """The ports of the service a pod serves (getEndpointPorts): a port whose named target the pod lacks is
    left out."""
    found = []
    for service_port in (service.get("spec") or {}).get("ports") or []:
        number = find_port(pod, service_port)
        if number is None:
            continue
        port: Obj = {"name": service_port.get("name", ""), "port": number,
                     "protocol": service_port.get("protocol", "TCP")}
        if service_port.get("appProtocol"):
            port["appProtocol"] = service_port["appProtocol"]
        found.append(port)
    return found


def to_endpoint(pod: Obj, node: Obj | None, service: Obj, family: int) -> Obj:
    """podToEndpoint: a terminating pod serves until it stops, but is not ready."""
    serving = is_ready(pod)
    terminating = bool((pod.get("metadata") or {}).get("deletionTimestamp"))
    ready = bool((service.get("spec") or {}).get("publishNotReadyAddresses")) or (serving and not terminating)
    endpoint: Obj = {"addresses": pod_addresses(pod, family),
                     "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
                     "targetRef": target_ref(pod)}
    node_name = (pod.get("spec") or {}).get("nodeName")
    if node_name:
        endpoint["nodeName"] = node_name
    zone = ((node or {}).get("metadata", {}).get("labels") or {}).get(ZONE)
    if zone:
        endpoint["zone"] = zone
    if sets_hostname(pod, service):
        endpoint["hostname"] = pod["spec"]["hostname"]
    return endpoint


def slice_labels(service: Obj) -> dict[str, str]:
    """The service's labels but the reserved ones, the headless mark, its name and the manager."""
    labels = {k: v for k, v in ((service.get("metadata") or {}).get("labels") or {}).items() if k not in _RESERVED}
    if (service.get("spec") or {}).get("clusterIP") in (None, "", "None"):
        labels[HEADLESS] = ""
    labels[SERVICE_NAME] = key(service)[1]
    labels[MANAGED_BY] = CONTROLLER
    return labels


def _port_key(ports: list[Obj]) -> str:
    return repr(sorted(repr(sorted(p.items())) for p in ports))


def _endpoint_order(endpoint: Obj) -> tuple[Any, ...]:
    return tuple(endpoint["addresses"]), endpoint["targetRef"]["name"]


def desired_groups(service: Obj, snapshot: Snapshot, address_type: str) -> dict[str, tuple[list[Obj], list[Obj]]]:
    """Port-set key -> (ports, endpoints) of the pods the service selects."""
    family = 6 if address_type == "IPv6" else 4
    publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    groups: dict[str, tuple[list[Obj], list[Obj]]] = {}
    for pod in snapshot.pods_of(service):
        if not should_be_in_endpoints(pod, True):
            continue
        ports = endpoint_ports(service, pod)
        ports_key = _port_key(ports)
        group = groups.setdefault(ports_key, (ports, []))
        node_name = (pod.get("spec") or {}).get("nodeName") or ""
        node = snapshot.nodes.get(node_name)
        if node is None and not publish:
            continue  # upstream skips a pod whose node does not exist (and retries later)
        endpoint = to_endpoint(pod, node, service, family)
        if endpoint["addresses"]:
            group[1].append(endpoint)
    return {k: (ports, sorted(eps, key=_endpoint_order)) for k, (ports, eps) in groups.items()}


def _chunks(endpoints: list[Obj]) -> list[list[Obj]]:
    return [endpoints[i:i + MAX_ENDPOINTS] for i in range(0, len(endpoints), MAX_ENDPOINTS)] or [[]]


def new_slice(service: Obj, address_type: str, ports: list[Obj], endpoints: list[Obj]) -> Obj:
    meta = service["metadata"]
    prefix = f"{meta['name']}-"
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"generateName": prefix if not names.dns1123_subdomain(prefix + "x") else meta["name"],
                         "namespace": meta.get("namespace", ""), "labels": slice_labels(service),
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": meta["name"],
                                              "uid": meta.get("uid", ""), "controller": True,
                                              "blockOwnerDeletion": True}]},
            "addressType": address_type, "endpoints": endpoints or None, "ports": ports or None}


def owned_by(slice_: Obj, service: Obj) -> bool:
    return any(ref.get("uid") == service["metadata"].get("uid") and ref.get("kind") == "Service"
               and ref.get("apiVersion") == "v1" for ref in slice_["metadata"].get("ownerReferences") or [])


class EndpointSliceController:
    """Keeps the EndpointSlices of every selecting Service, on every change of services, pods, nodes or slices."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.trigger_times = TriggerTimes()

    async def run(self) -> None:
        await reconcile_on_changes(self.client, [SERVICES, PODS, NODES, ENDPOINTSLICES], self.reconcile)

    async def reconcile(self) -> None:
        snapshot = await Snapshot.read(self.client)
        slices = (await self.client.list(ENDPOINTSLICES, label_selector=f"{MANAGED_BY}={CONTROLLER}"))["items"]
        by_service: dict[tuple[str, str], list[Obj]] = {}
        for slice_ in slices:
            service_name = (slice_["metadata"].get("labels") or {}).get(SERVICE_NAME)
            if service_name:
                by_service.setdefault((key(slice_)[0], service_name), []).append(slice_)
        services = {key(s): s for s in snapshot.services}
        for skey, service in services.items():
            if managed(service):
                await self._sync(service, snapshot, by_service.get(skey, []))
        self.trigger_times.forget(set(services))

    async def _sync(self, service: Obj, snapshot: Snapshot, existing: list[Obj]) -> None:
        trigger = self.trigger_times.compute(service, snapshot.pods_of(service))
        wanted_types = address_types(service)
        to_create: list[Obj] = []
        to_update: list[Obj] = []
        to_delete = [s for s in existing if s.get("addressType") not in wanted_types or not owned_by(s, service)]
        for address_type in wanted_types:
            mine = [s for s in existing if s.get("addressType") == address_type and owned_by(s, service)]
            groups = {k: group for k, group in desired_groups(service, snapshot, address_type).items() if group[1]}
            if not groups:
                groups = {_port_key([]): ([], [])}  # the placeholder slice of a service with no endpoints
            for ports_key, (ports, endpoints) in groups.items():
                reusable = [s for s in mine if _port_key(s.get("ports") or []) == ports_key]
                for chunk in _chunks(endpoints):
                    if not reusable:
                        to_create.append(new_slice(service, address_type, ports, chunk))
                        continue
                    current = reusable.pop(0)
                    if _differs(current, service, ports, chunk):
                        to_update.append({**current, "metadata": {**current["metadata"],
                                                                  "labels": slice_labels(service)},
                                          "ports": ports or None, "endpoints": chunk or None})
                to_delete += reusable
            to_delete += [s for s in mine if _port_key(s.get("ports") or []) not in groups]
        for obj in [*to_create, *to_update]:
            _annotate(obj, trigger)
        namespace = key(service)[0]
        for obj in to_create:
            await tolerate(self.client.create(ENDPOINTSLICES, obj, namespace))
        for obj in to_update:
            await tolerate(self.client.update(ENDPOINTSLICES, obj))
        for obj in to_delete:
            await tolerate(self.client.delete(ENDPOINTSLICES, obj["metadata"]["name"], namespace))


def _differs(current: Obj, service: Obj, ports: list[Obj], endpoints: list[Obj]) -> bool:
    return (current.get("endpoints") or []) != endpoints or (current.get("ports") or []) != ports \
        or (current["metadata"].get("labels") or {}) != slice_labels(service)


def _annotate(obj: Obj, trigger: Any) -> None:
    annotations = dict(obj["metadata"].get("annotations") or {})
    if trigger is not None:
        annotations[TRIGGER_TIME] = rfc3339_nano(trigger)
    else:
        annotations.pop(TRIGGER_TIME, None)
    obj["metadata"]["annotations"] = annotations or None
