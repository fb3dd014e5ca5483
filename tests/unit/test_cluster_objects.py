"""What every cluster has beside the user's objects: the `kubernetes` Service with its Endpoints and
EndpointSlice, and the root CA ConfigMap in every namespace; both kept by controllers that repair them."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import AsyncIterator

import pytest
from registryhelpers import Api, namespace

from harness import wait_for_async
from shim.clients.local import LocalClient
from shim.controllers import kubernetes_service, rootca
from shim.machinery.errors import StatusError

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    api = await Api(tmp_path).start()
    yield api
    api.store.close()


async def test_the_kubernetes_service_points_at_this_server(api: Api) -> None:
    await kubernetes_service.reconcile(LocalClient(api.verbs), "127.0.0.1", 6443)
    svc = api.get("services", "kubernetes", "default")
    assert svc["spec"]["clusterIP"] == "10.96.0.1"
    assert svc["spec"]["ports"] == [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]
    assert api.get("endpoints", "kubernetes", "default")["subsets"] == [
        {"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]
    piece = api.get("endpointslices", "kubernetes", "default", group="discovery.k8s.io")
    assert piece["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
    assert piece["endpoints"] == [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}]


async def test_a_deleted_kubernetes_endpoints_comes_back_at_the_next_round(api: Api) -> None:
    client = LocalClient(api.verbs)
    await kubernetes_service.reconcile(client, "127.0.0.1", 6443)
    await client.delete(kubernetes_service.ENDPOINTS, "kubernetes", "default")
    await kubernetes_service.reconcile(client, "127.0.0.1", 6443)
    assert api.get("endpoints", "kubernetes", "default")["subsets"][0]["ports"][0]["port"] == 6443


async def test_a_new_port_is_reconciled_into_the_service_and_its_endpoints(api: Api) -> None:
    client = LocalClient(api.verbs)
    await kubernetes_service.reconcile(client, "127.0.0.1", 6443)
    await kubernetes_service.reconcile(client, "127.0.0.1", 7443)
    assert api.get("services", "kubernetes", "default")["spec"]["ports"][0]["targetPort"] == 7443
    assert api.get("endpoints", "kubernetes", "default")["subsets"][0]["ports"][0]["port"] == 7443


async def test_other_services_never_get_the_kubernetes_service_address(api: Api) -> None:
    for i in range(300):
        svc = await api.create("services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"s{i}"},
                                            "spec": {"ports": [{"port": 80}]}}, "default")
        assert svc["spec"]["clusterIP"] != "10.96.0.1"


async def test_every_namespace_gets_the_root_ca_and_an_edit_is_undone(api: Api) -> None:
    client = LocalClient(api.verbs)
    publisher = asyncio.create_task(rootca.publish_root_ca(client, PEM))
    try:
        await api.create("namespaces", namespace("team-a"))

        def published() -> bool:
            try:
                return api.get("configmaps", "kube-root-ca.crt", "team-a")["data"] == {"ca.crt": PEM}
            except StatusError:
                return False
        await wait_for_async(published, 5, "kube-root-ca.crt in team-a")
        cm = api.get("configmaps", "kube-root-ca.crt", "team-a")
        cm["data"] = {"ca.crt": "tampered"}
        await client.update(rootca.CONFIGMAPS, cm)
        await wait_for_async(published, 5, "kube-root-ca.crt restored in team-a")
    finally:
        publisher.cancel()


async def test_an_endpoint_slice_address_must_match_its_address_type(api: Api) -> None:
    bad = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "s"},
           "addressType": "IPv4", "endpoints": [{"addresses": ["fd00::1"]}]}
    with pytest.raises(StatusError) as err:
        await api.create("endpointslices", bad, "default", group="discovery.k8s.io")
    assert err.value.code == 422
    assert "endpoints[0].addresses[0]" in err.value.message
