"""The Endpoints and EndpointSlice controllers, one reconcile pass at a time over the in-process registry: the
pods a service selects, ready or not, at the ports its targetPorts name, and what each controller leaves alone."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from registryhelpers import Api
from shim.clients.base import PODS
from shim.clients.local import LocalClient
from shim.controllers.endpoints import EndpointsController
from shim.controllers.endpointslices import EndpointSliceController
from shim.controllers.serviceendpoints import ENDPOINTS, ENDPOINTSLICES, SERVICES, TRIGGER_TIME

Obj = dict[str, Any]
NODE = "node-1"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    api = await Api(tmp_path).start()
    await api.create("nodes", {"apiVersion": "v1", "kind": "Node",
                               "metadata": {"name": NODE, "labels": {"topology.kubernetes.io/zone": "z1"}}})
    yield api
    api.store.close()


@pytest.fixture
def client(api: Api) -> LocalClient:
    return LocalClient(api.verbs)


async def service(client: LocalClient, name: str = "web", **spec: Any) -> Obj:
    spec.setdefault("selector", {"app": "web"})
    spec.setdefault("ports", [{"name": "http", "port": 80, "targetPort": "http"}])
    return await client.create(SERVICES, {"apiVersion": "v1", "kind": "Service",
                                          "metadata": {"name": name, "labels": {"team": "a"}}, "spec": spec},
                               "default")


async def running_pod(client: LocalClient, name: str, ready: bool = True, ip: str = "127.0.0.1",
                      labels: dict[str, str] | None = None, port_name: str = "http", **status: Any) -> Obj:
    pod = await client.create(PODS, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {"app": "web"}},
        "spec": {"nodeName": NODE, "containers": [{"name": "c", "image": "busybox", "ports": [
            {"name": port_name, "containerPort": 8080}]}]}}, "default")
    pod["status"] = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], **status, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": "2026-01-02T03:04:05Z"}]}
    return await client.update(PODS, pod, subresource="status")


async def endpoints_of(client: LocalClient, name: str = "web") -> Obj:
    await EndpointsController(client).reconcile()
    return await client.get(ENDPOINTS, name, "default")


async def slices_of(client: LocalClient, controller: EndpointSliceController | None = None,
                    name: str = "web") -> list[Obj]:
    await (controller or EndpointSliceController(client)).reconcile()
    listed = await client.list(ENDPOINTSLICES, "default", label_selector=f"kubernetes.io/service-name={name}")
    return list(listed["items"])


def ref(pod: Obj) -> Obj:
    return {"kind": "Pod", "namespace": "default", "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}


async def test_endpoints_list_ready_and_not_ready_pods_at_the_named_target_port(client: LocalClient) -> None:
    svc = await service(client)
    a = await running_pod(client, "a")
    b = await running_pod(client, "b", ready=False)
    await running_pod(client, "other", labels={"app": "other"})
    endpoints = await endpoints_of(client)
    address = {"ip": "127.0.0.1", "nodeName": NODE}
    assert endpoints["subsets"] == [{"addresses": [{**address, "targetRef": ref(a)}],
                                     "notReadyAddresses": [{**address, "targetRef": ref(b)}],
                                     "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]
    assert endpoints["metadata"]["labels"] == {"team": "a", "endpoints.kubernetes.io/managed-by": "endpoint-controller"}
    assert endpoints["metadata"]["annotations"][TRIGGER_TIME] == svc["metadata"]["creationTimestamp"]


async def test_finished_pods_and_pods_without_the_named_port_are_not_endpoints(client: LocalClient) -> None:
    await service(client)
    await running_pod(client, "done", phase="Succeeded")
    await running_pod(client, "unnamed", port_name="metrics")
    assert "subsets" not in await endpoints_of(client)


async def test_a_service_without_a_selector_is_left_alone(client: LocalClient) -> None:
    await client.create(SERVICES, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "manual"},
                                   "spec": {"ports": [{"port": 80}]}}, "default")
    mine = await client.create(ENDPOINTS, {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "manual"},
                                           "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]},
                               "default")
    await EndpointsController(client).reconcile()
    await EndpointSliceController(client).reconcile()
    assert (await client.get(ENDPOINTS, "manual", "default")) == mine
    assert await slices_of(client, name="manual") == []


async def test_endpoints_the_controller_made_go_with_their_service(client: LocalClient) -> None:
    await service(client)
    controller = EndpointsController(client)
    await controller.reconcile()
    await client.delete(SERVICES, "web", "default")
    await controller.reconcile()
    assert (await client.list(ENDPOINTS, "default"))["items"] == []


async def test_a_slice_lists_pods_with_conditions_owner_and_labels(client: LocalClient) -> None:
    svc = await service(client)
    a = await running_pod(client, "a")
    b = await running_pod(client, "b", ready=False)
    [slice_] = await slices_of(client)
    assert slice_["metadata"]["generateName"] == "web-" and slice_["addressType"] == "IPv4"
    assert slice_["metadata"]["labels"] == {"team": "a", "kubernetes.io/service-name": "web",
                                            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    assert slice_["metadata"]["ownerReferences"] == [{"apiVersion": "v1", "kind": "Service", "name": "web",
                                                      "uid": svc["metadata"]["uid"], "controller": True,
                                                      "blockOwnerDeletion": True}]
    assert slice_["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    common = {"addresses": ["127.0.0.1"], "nodeName": NODE, "zone": "z1"}
    assert slice_["endpoints"] == [
        {**common, "conditions": {"ready": True, "serving": True, "terminating": False}, "targetRef": ref(a)},
        {**common, "conditions": {"ready": False, "serving": False, "terminating": False}, "targetRef": ref(b)}]
    assert slice_["metadata"]["annotations"][TRIGGER_TIME] == svc["metadata"]["creationTimestamp"]


async def test_a_service_with_no_pods_keeps_one_placeholder_slice(client: LocalClient) -> None:
    await service(client)
    controller = EndpointSliceController(client)
    [placeholder] = await slices_of(client, controller)
    assert not placeholder.get("endpoints") and not placeholder.get("ports")
    assert await slices_of(client, controller) == [placeholder]  # a second pass changes nothing


async def test_a_pod_that_becomes_ready_updates_the_same_slice(client: LocalClient) -> None:
    await service(client)
    pod = await running_pod(client, "a", ready=False)
    controller = EndpointSliceController(client)
    [before] = await slices_of(client, controller)
    pod["status"]["conditions"] = [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-02-03T04:05:06Z"}]
    await client.update(PODS, pod, subresource="status")
    [after] = await slices_of(client, controller)
    assert after["metadata"]["name"] == before["metadata"]["name"]
    assert after["endpoints"][0]["conditions"]["ready"] is True
    assert after["metadata"]["annotations"][TRIGGER_TIME] == "2026-02-03T04:05:06Z"


async def test_a_headless_service_is_labelled_so(client: LocalClient) -> None:
    await service(client, clusterIP="None")
    await running_pod(client, "a")
    [slice_] = await slices_of(client)
    assert slice_["metadata"]["labels"]["service.kubernetes.io/headless"] == ""
    assert (await endpoints_of(client))["metadata"]["labels"]["service.kubernetes.io/headless"] == ""
