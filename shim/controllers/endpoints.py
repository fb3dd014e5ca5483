"""kube-controller-manager's endpoints controller (pkg/controller/endpoint): every Service with a selector gets
an Endpoints object of its name listing the pods it selects, ready ones under `addresses` and the others under
`notReadyAddresses`, with the port each service port reaches on them; services without a selector are left to
whoever writes their Endpoints. An Endpoints this controller made goes when its Service does.

Each pass reads every service and pod (kubeshim's clusters are small) and writes only what differs.
"""
from __future__ import annotations

from typing import Any

from shim.clients.base import PODS, Client
from shim.controllers.runner import reconcile_on_changes
from shim.controllers.serviceendpoints import ENDPOINTS, HEADLESS, SERVICES, TRIGGER_TIME, Obj, Snapshot, \
    TriggerTimes, find_port, ip_family, is_ready, key, managed, pod_addresses, rfc3339_nano, sets_hostname, \
    should_be_in_endpoints, target_ref, tolerate

MANAGED_BY = "endpoints.kubernetes.io/managed-by"
CONTROLLER = "endpoint-controller"

#: an address, whether it is ready, and the ports it serves on (None: a headless service without ports)
Entry = tuple[Obj, bool, Obj | None]


def _entries(service: Obj, pods: list[Obj]) -> list[Entry]:
    """One entry per pod and service port, as syncService collects them before repacking."""
    spec = service.get("spec") or {}
    tolerate_unready = bool(spec.get("publishNotReadyAddresses"))
    entries: list[Entry] = []
    for pod in pods:
        if not should_be_in_endpoints(pod, tolerate_unready):
            continue
        ips = pod_addresses(pod, ip_family(service, pod))
        if not ips:
            continue
        address: Obj = {"ip": ips[0], "nodeName": (pod.get("spec") or {}).get("nodeName", ""),
                        "targetRef": target_ref(pod)}
        if sets_hostname(pod, service):
            address["hostname"] = pod["spec"]["hostname"]
        ready = tolerate_unready or is_ready(pod)
        if not spec.get("ports"):
            if spec.get("clusterIP") == "None":
                entries.append((address, ready, None))
            continue
        for service_port in spec["ports"]:
            number = find_port(pod, service_port)
            if number is None:
                continue
            port: Obj = {"name": service_port.get("name", ""), "port": number,
                         "protocol": service_port.get("protocol", "TCP")}
            if service_port.get("appProtocol"):
                port["appProtocol"] = service_port["appProtocol"]
            entries.append((address, ready, {k: v for k, v in port.items() if v != ""}))
    return entries


def _address_key(address: Obj) -> tuple[str, str]:
    return address["ip"], address["targetRef"]["uid"]


def _port_key(port: Obj) -> tuple[Any, ...]:
    return port.get("name", ""), port["port"], port.get("protocol", ""), port.get("appProtocol", "")


def repack(entries: list[Entry]) -> list[Obj]:
    """Upstream's RepackSubsets: addresses that serve the same set of ports share a subset; an address not ready
    on any port is not ready. Addresses sort by IP then pod uid; ports and subsets by name and number (upstream
    orders those by a hash of their Go values, which has no meaning a client could rely on)."""
    by_port: dict[tuple[Any, ...] | None, dict[tuple[str, str], bool]] = {}
    addresses: dict[tuple[str, str], Obj] = {}
    ports: dict[tuple[Any, ...], Obj] = {}
    for address, ready, port in entries:
        akey = _address_key(address)
        addresses.setdefault(akey, address)
        pkey = None if port is None else _port_key(port)
        if port is not None and pkey is not None:
            ports.setdefault(pkey, port)
        readiness = by_port.setdefault(pkey, {})
        readiness[akey] = readiness.get(akey, True) and ready
    groups: dict[tuple[tuple[tuple[str, str], bool], ...], list[tuple[Any, ...]]] = {}
    for pkey, readiness in by_port.items():
        members = groups.setdefault(tuple(sorted(readiness.items())), [])
        if pkey is not None:
            members.append(pkey)
    subsets = []
    for members_key, port_keys in groups.items():
        subset: Obj = {}
        serving = [addresses[a] for a, ready in members_key if ready]
        waiting = [addresses[a] for a, ready in members_key if not ready]
        if serving:
            subset["addresses"] = serving
        if waiting:
            subset["notReadyAddresses"] = waiting
        if port_keys:
            subset["ports"] = [ports[p] for p in sorted(port_keys, key=repr)]
        subsets.append(subset)
    return sorted(subsets, key=lambda s: [repr(_port_key(p)) for p in s.get("ports") or []])


def desired(service: Obj, pods: list[Obj]) -> tuple[list[Obj], dict[str, str]]:
    """The subsets and labels the service's Endpoints should have."""
    labels = dict((service.get("metadata") or {}).get("labels") or {})
    if (service.get("spec") or {}).get("clusterIP") in (None, "", "None"):
        labels[HEADLESS] = ""
    else:
        labels.pop(HEADLESS, None)
    labels[MANAGED_BY] = CONTROLLER
    return repack(_entries(service, pods)), labels


class EndpointsController:
    """Keeps the Endpoints of every selecting Service, on every change of services, pods or endpoints."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.trigger_times = TriggerTimes()

    async def run(self) -> None:
        await reconcile_on_changes(self.client, [SERVICES, PODS, ENDPOINTS], self.reconcile)

    async def reconcile(self) -> None:
        snapshot = await Snapshot.read(self.client)
        current = {key(e): e for e in (await self.client.list(ENDPOINTS))["items"]}
        services = {key(s): s for s in snapshot.services}
        for skey, service in services.items():
            if managed(service):
                await self._sync(service, snapshot.pods_of(service), current.get(skey))
        for ekey, endpoints in current.items():
            if ekey not in services and ((endpoints["metadata"].get("labels") or {}).get(MANAGED_BY) == CONTROLLER):
                await tolerate(self.client.delete(ENDPOINTS, ekey[1], ekey[0]))
        self.trigger_times.forget(set(services))

    async def _sync(self, service: Obj, pods: list[Obj], live: Obj | None) -> None:
        trigger = self.trigger_times.compute(service, pods)
        subsets, labels = desired(service, pods)
        if live is not None and (live.get("subsets") or []) == subsets and live["metadata"].get("labels") == labels:
            return
        namespace, name = key(service)
        obj = live or {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": namespace}}
        meta = obj["metadata"]
        annotations = dict(meta.get("annotations") or {})
        if trigger is not None:
            annotations[TRIGGER_TIME] = rfc3339_nano(trigger)
        else:
            annotations.pop(TRIGGER_TIME, None)
        meta["annotations"], meta["labels"], obj["subsets"] = annotations or None, labels, subsets
        if live is None:
            await tolerate(self.client.create(ENDPOINTS, obj, namespace))
        else:
            await tolerate(self.client.update(ENDPOINTS, obj))

