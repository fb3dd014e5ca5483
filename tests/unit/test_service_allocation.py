"""Cluster IPs and node ports allocated as kube-apiserver allocates them: from the service CIDR and the node-port
range, requested ones checked against the range and the other services, and free again once a service goes."""
from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from registryhelpers import WRITE, Api
from shim.machinery.errors import StatusError
from shim.registry.options import DeleteOptions

Obj = dict[str, Any]


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    api = await Api(tmp_path).start()
    yield api
    api.store.close()


def service(name: str, **spec: Any) -> Obj:
    spec.setdefault("ports", [{"port": 80}])
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


async def create(api: Api, obj: Obj) -> Obj:
    return await api.create("services", obj, "default")


async def refusal(api: Api, obj: Obj) -> str:
    with pytest.raises(StatusError) as err:
        await create(api, obj)
    assert err.value.code == 422
    assert api.verbs.registry.store.get("/services", "default", obj["metadata"]["name"]) is None
    return err.value.message


async def test_a_cluster_ip_comes_from_the_service_cidr_past_its_static_band(api: Api) -> None:
    spec = (await create(api, service("web")))["spec"]
    address = ipaddress.ip_address(spec["clusterIP"])
    cidr = ipaddress.ip_network("10.96.0.0/12")
    assert address in cidr and int(address) - int(cidr.network_address) > 256
    assert spec["clusterIPs"] == [spec["clusterIP"]] and spec["ipFamilies"] == ["IPv4"]


async def test_a_headless_service_gets_no_address(api: Api) -> None:
    spec = (await create(api, service("h", clusterIP="None", selector={"a": "b"})))["spec"]
    assert spec["clusterIP"] == "None" and spec["clusterIPs"] == ["None"]


async def test_a_requested_ip_is_given_once_and_again_after_its_service_is_deleted(api: Api) -> None:
    assert (await create(api, service("a", clusterIP="10.96.0.10")))["spec"]["clusterIPs"] == ["10.96.0.10"]
    assert await refusal(api, service("b", clusterIP="10.96.0.10")) == (
        'Service "b" is invalid: spec.clusterIPs: Invalid value: ["10.96.0.10"]: failed to allocate IP 10.96.0.10: '
        "provided IP is already allocated")
    await api.verbs.delete(api.info("services"), "default", "a", DeleteOptions())
    assert (await create(api, service("b", clusterIP="10.96.0.10")))["spec"]["clusterIP"] == "10.96.0.10"


@pytest.mark.parametrize("ip", ["10.0.0.5", "10.96.0.0", "10.111.255.255"])
async def test_a_requested_ip_outside_the_range_is_refused(api: Api, ip: str) -> None:
    assert (await refusal(api, service("s", clusterIP=ip))).endswith(
        f"failed to allocate IP {ip}: the provided network does not match the current range")


async def test_a_malformed_ip_is_refused(api: Api) -> None:
    assert (await refusal(api, service("s", clusterIP="abc"))).endswith(
        'spec.clusterIPs[0]: Invalid value: "abc": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)')


async def test_node_ports_are_allocated_once_per_port_number(api: Api) -> None:
    ports = [{"name": "a", "port": 53, "protocol": "TCP"}, {"name": "b", "port": 53, "protocol": "UDP"},
             {"name": "c", "port": 80}]
    spec = (await create(api, service("np", type="NodePort", ports=ports)))["spec"]
    node_ports = [p["nodePort"] for p in spec["ports"]]
    assert node_ports[0] == node_ports[1] != node_ports[2] and all(30000 <= p <= 32767 for p in node_ports)


async def test_a_requested_node_port_is_checked(api: Api) -> None:
    await create(api, service("a", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    assert (await refusal(api, service("b", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))).endswith(
        "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated")
    assert (await refusal(api, service("c", type="NodePort", ports=[{"port": 80, "nodePort": 80}]))).endswith(
        "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid "
        "ports is 30000-32767")


async def test_a_local_load_balancer_gets_a_health_check_port(api: Api) -> None:
    spec = (await create(api, service("lb", type="LoadBalancer", externalTrafficPolicy="Local")))["spec"]
    assert 30000 <= spec["healthCheckNodePort"] <= 32767 and spec["healthCheckNodePort"] != spec["ports"][0]["nodePort"]


async def test_an_update_keeps_node_ports_and_turning_into_cluster_ip_drops_them(api: Api) -> None:
    created = await create(api, service("np", type="NodePort", ports=[{"name": "http", "port": 80}]))
    node_port = created["spec"]["ports"][0]["nodePort"]
    created["spec"]["ports"] = [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]
    updated = (await api.verbs.update(api.info("services"), "default", "np", created, WRITE)).object
    assert updated["spec"]["ports"][0]["nodePort"] == node_port
    updated["spec"]["type"] = "ClusterIP"
    plain = (await api.verbs.update(api.info("services"), "default", "np", updated, WRITE)).object
    assert "nodePort" not in plain["spec"]["ports"][0]


async def test_an_external_name_service_becoming_cluster_ip_gets_an_address(api: Api) -> None:
    created = await create(api, service("ext", type="ExternalName", externalName="example.com"))
    assert "clusterIP" not in created["spec"]
    created["spec"] = {"type": "ClusterIP", "ports": [{"port": 80}]}
    updated = (await api.verbs.update(api.info("services"), "default", "ext", created, WRITE)).object
    assert ipaddress.ip_address(updated["spec"]["clusterIP"]) in ipaddress.ip_network("10.96.0.0/12")
