"""pods/exec, attach and portforward: the Status answers given before any upgrade, compared whole.

The reference stack has no kubelet, so what is compared is what kube-apiserver decides itself (pod/strategy.go's
streamLocation and PortForwardLocation, the connect options' decoding): a missing pod, a container the pod lacks
or that the request must name, a pod without a node or on a node that does not exist, whatever the streams,
command, ports or protocol headers asked. Each case records its one request as step `error`.
"""
from __future__ import annotations

from typing import Callable

import pytest

from differ import Pair, Side, response_record

pytestmark = pytest.mark.differential

CASES: dict[str, Callable[[Side], None]] = {}


def case(fn: Callable[[Side], None]) -> Callable[[Side], None]:
    CASES[fn.__name__.replace("_", "-")] = fn
    return fn


def pod(s: Side, *containers: str, node: str | None = None, init: tuple[str, ...] = ()) -> str:
    """A pod with these containers, on `node` (None: not scheduled, as every pod of a server without a kubelet)."""
    spec: dict[str, object] = {"containers": [{"name": c, "image": "busybox"} for c in containers or ("main",)]}
    if init:
        spec["initContainers"] = [{"name": c, "image": "busybox"} for c in init]
    if node:
        spec["nodeName"] = node
    s.json("POST", f"/api/v1/namespaces/{s.ns}/pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                                       "spec": spec})
    return f"/api/v1/namespaces/{s.ns}/pods/p"


def streams(**flags: bool) -> dict[str, str]:
    return {name: "true" if value else "false" for name, value in flags.items()}


def upgrade(s: Side, path: str, params: dict[str, str], headers: dict[str, str]) -> None:
    """A request asking to switch protocols, recorded as `error` (the server refuses before switching)."""
    s.record("error", response_record(s.http.request("GET", path, params=params, headers=headers, timeout=30)))


@case
def exec_on_a_missing_pod(s: Side) -> None:
    s.request("error", "POST", f"/api/v1/namespaces/{s.ns}/pods/p/exec", params={"command": "true", "stdout": "true"})


@case
def exec_on_a_pod_without_a_node(s: Side) -> None:
    s.request("error", "POST", f"{pod(s)}/exec", params={"command": "true", **streams(stdout=True)})


@case
def exec_without_a_command(s: Side) -> None:
    s.request("error", "POST", f"{pod(s)}/exec", params=streams(stdout=True))


@case
def exec_with_every_stream_off(s: Side) -> None:
    s.request("error", "POST", f"{pod(s)}/exec",
              params={"command": "true", **streams(stdin=False, stdout=False, stderr=False)})


@case
def exec_naming_a_container_the_pod_lacks(s: Side) -> None:
    s.request("error", "POST", f"{pod(s)}/exec", params={"command": "true", "container": "nope", "stdout": "true"})


@case
def exec_without_a_container_in_a_pod_of_two(s: Side) -> None:
    s.request("error", "POST", f"{pod(s, 'a', 'b')}/exec", params={"command": "true", "stdout": "true"})


@case
def exec_without_a_container_in_a_pod_with_init_containers(s: Side) -> None:
    s.request("error", "POST", f"{pod(s, 'a', 'b', init=('setup',))}/exec",
              params={"command": "true", "stdout": "true"})


@case
def exec_into_an_init_container_of_a_pod_without_a_node(s: Side) -> None:
    s.request("error", "POST", f"{pod(s, 'a', init=('setup',))}/exec",
              params={"command": "true", "container": "setup", "stdout": "true"})


@case
def exec_on_a_pod_bound_to_a_missing_node(s: Side) -> None:
    s.request("error", "POST", f"{pod(s, node='ghost-node')}/exec", params={"command": "true", "stdout": "true"})


@case
def exec_spdy_upgrade_with_an_unknown_protocol_version(s: Side) -> None:
    upgrade(s, f"{pod(s)}/exec", {"command": "true", "stdout": "true"},
            {"Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": "v99.channel.k8s.io"})


@case
def exec_websocket_with_an_unknown_subprotocol(s: Side) -> None:
    upgrade(s, f"{pod(s)}/exec", {"command": "true", "stdout": "true"},
            {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
             "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": "v99.channel.k8s.io"})


@case
def attach_on_a_pod_without_a_node(s: Side) -> None:
    s.request("error", "POST", f"{pod(s)}/attach", params=streams(stdin=True, stdout=True))


@case
def attach_naming_a_container_the_pod_lacks(s: Side) -> None:
    s.request("error", "POST", f"{pod(s)}/attach", params={"container": "nope", "stdout": "true"})


@case
def portforward_on_a_missing_pod(s: Side) -> None:
    s.request("error", "POST", f"/api/v1/namespaces/{s.ns}/pods/p/portforward", params={"ports": "80"})


@case
def portforward_without_ports(s: Side) -> None:
    s.request("error", "POST", f"{pod(s)}/portforward")


@case
def portforward_to_a_port_that_is_not_a_number(s: Side) -> None:
    s.request("error", "POST", f"{pod(s)}/portforward", params={"ports": "http"})


@case
def portforward_on_a_pod_bound_to_a_missing_node(s: Side) -> None:
    s.request("error", "POST", f"{pod(s, node='ghost-node')}/portforward", params={"ports": "80"})


@case
def portforward_websocket_with_an_unknown_subprotocol(s: Side) -> None:
    upgrade(s, f"{pod(s)}/portforward", {"ports": "80"},
            {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
             "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": "v99.channel.k8s.io"})


@pytest.mark.parametrize("name", sorted(CASES))
def test_streaming_refusal(pair: Pair, name: str) -> None:
    pair.run(CASES[name])
