"""The `kubernetes` Service in `default`, its Endpoints and its EndpointSlice, pointing at this server.

Every cluster has them: kube-apiserver's endpoint reconciler keeps them, in-cluster clients find the API through
them, and tools look them up first (e2e.test's BeforeSuite fails without them). Like upstream's reconciler this
one repairs them on an interval, so that an edited or deleted one comes back.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

from shim.clients.base import Client, Resource
from shim.machinery.errors import StatusError
from shim.registry.kinds.services import KUBERNETES_SERVICE_IP

SERVICES = Resource("", "v1", "services")
ENDPOINTS = Resource("", "v1", "endpoints")
ENDPOINTSLICES = Resource("discovery.k8s.io", "v1", "endpointslices")
NAME, NAMESPACE = "kubernetes", "default"
#: the names in-cluster clients reach the API by, which kube-apiserver's serving certificate carries
DNS_NAMES = ("kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local")
#: upstream's default --endpoint-reconciler interval
INTERVAL = 10.0


def service(port: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": NAME, "namespace": NAMESPACE,
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": KUBERNETES_SERVICE_IP, "sessionAffinity": "None",
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]}}


def endpoints(address: str, port: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": NAME, "namespace": NAMESPACE,
                         "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": address}],
                         "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]}


def endpoint_slice(address: str, port: int) -> dict[str, Any]:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {"kubernetes.io/service-name": NAME}},
            "addressType": "IPv6" if ":" in address else "IPv4",
            "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}


async def keep_kubernetes_service(client: Client, host: str, port: int, interval: float = INTERVAL) -> None:
    """Reconcile the three objects now and every `interval` seconds; `host` is the address clients reach this
    server at (a name is resolved: endpoints hold IPs)."""
    address = host if _is_ip(host) else socket.gethostbyname(host)
    while True:
        await reconcile(client, address, port)
        await asyncio.sleep(interval)


async def reconcile(client: Client, address: str, port: int) -> None:
    live = await _get(client, SERVICES)
    wanted = service(port)
    if live is None:
        await _create(client, SERVICES, wanted)
    elif (live.get("spec") or {}).get("ports") != wanted["spec"]["ports"]:
        live["spec"]["ports"] = wanted["spec"]["ports"]
        await client.update(SERVICES, live)
    for resource, body, fields in ((ENDPOINTS, endpoints(address, port), ("subsets",)),
                                   (ENDPOINTSLICES, endpoint_slice(address, port),
                                    ("addressType", "endpoints", "ports"))):
        live = await _get(client, resource)
        if live is None:
            await _create(client, resource, body)
        elif any(live.get(key) != body[key] for key in fields):
            await client.update(resource, {**live, **{key: body[key] for key in fields}})


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def _get(client: Client, resource: Resource) -> dict[str, Any] | None:
    try:
        return await client.get(resource, NAME, NAMESPACE)
    except StatusError as err:
        if err.code != 404:
            raise
        return None


async def _create(client: Client, resource: Resource, body: dict[str, Any]) -> None:
    try:
        await client.create(resource, body, NAMESPACE)
    except StatusError as err:
        if err.code != 409:  # raced with a client that made it: the next round compares it
            raise
