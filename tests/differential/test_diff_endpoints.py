"""Endpoints and EndpointSlices as kube-controller-manager's controllers keep them, from pods a scenario makes
look running (no kubelet on either side: each pod's status is written through pods/status, on a Node object
the scenario makes, so that both controllers see the same pods)."""
from __future__ import annotations

import time
from typing import Any

import pytest

from differ import Pair, Side

pytestmark = pytest.mark.differential

Obj = dict[str, Any]
DEADLINE = 30.0


def running(s: Side, name: str, node: str, ready: bool, labels: dict[str, str], port_name: str = "http") -> None:
    """A pod bound to `node` whose status says it runs at 10.244.0.x, ready or not."""
    pods = f"/api/v1/namespaces/{s.ns}/pods"
    pod = s.json("POST", pods, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
                                "spec": {"nodeName": node, "containers": [{
                                    "name": "c", "image": "busybox:1.36",
                                    "ports": [{"name": port_name, "containerPort": 8080}]}]}})
    ip = f"10.244.0.{sum(map(ord, name)) % 200 + 2}"
    pod["status"] = {"phase": "Running", "hostIP": "10.0.0.1", "podIP": ip, "podIPs": [{"ip": ip}],
                     "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                     "lastTransitionTime": "2026-01-02T03:04:05Z"}]}
    s.json("PUT", f"{pods}/{name}/status", pod)


def settled(s: Side, path: str, done: Any) -> Obj:
    """GET `path` until `done(body)` holds (the controller caught up), within the deadline."""
    deadline = time.monotonic() + DEADLINE
    while True:
        resp = s.request(None, "GET", path)
        body = resp.json() if resp.status_code == 200 else None
        if body is not None and done(body):
            return dict(body)
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not settle: {resp.status_code} {resp.text[:500]}")
        time.sleep(0.2)


def node(s: Side) -> str:
    name = f"node-{s.ns}"
    s.json("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node",
                                     "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": "z1"}}})
    return name


def without_noise(obj: Obj) -> Obj:
    """What a controller decided: no managedFields, resourceVersion or generation (how many passes it took depends
    on how the pod writes interleaved with them), and no apiVersion/kind (which a list's items carry on kubeshim
    only, whoever wrote them)."""
    meta = {k: v for k, v in obj["metadata"].items() if k not in ("managedFields", "resourceVersion", "generation")}
    return {**{k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}, "metadata": meta}


def test_endpoints_and_slices_of_a_selecting_service(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        where = node(s)
        try:
            s.json("POST", f"/api/v1/namespaces/{s.ns}/services", {
                "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": {"team": "a"}},
                "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
            running(s, "ready", where, True, {"app": "web"})
            running(s, "waiting", where, False, {"app": "web"})
            running(s, "unnamed", where, True, {"app": "web"}, port_name="metrics")
            running(s, "elsewhere", where, True, {"app": "other"})

            def complete(body: Obj) -> bool:
                subsets = body.get("subsets") or []
                return sum(len(x.get("addresses") or []) + len(x.get("notReadyAddresses") or [])
                           for x in subsets) == 2

            s.record("endpoints", without_noise(settled(s, f"/api/v1/namespaces/{s.ns}/endpoints/web", complete)))
            slices = settled(s, f"/apis/discovery.k8s.io/v1/namespaces/{s.ns}/endpointslices"
                                "?labelSelector=kubernetes.io/service-name=web",
                             lambda b: sum(len(x.get("endpoints") or []) for x in b["items"]) == 3)
            s.record("slices", sorted((without_noise(x) for x in slices["items"]), key=lambda x: str(x["ports"])))
        finally:
            s.request(None, "DELETE", f"/api/v1/nodes/{where}")
    pair.run(scenario)


def test_a_service_with_no_pods_gets_a_placeholder_slice(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.json("POST", f"/api/v1/namespaces/{s.ns}/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "lonely"},
            "spec": {"selector": {"app": "none"}, "ports": [{"port": 80}]}})
        slices = settled(s, f"/apis/discovery.k8s.io/v1/namespaces/{s.ns}/endpointslices", lambda b: b["items"])
        s.record("slices", [without_noise(x) for x in slices["items"]])
        s.record("endpoints", without_noise(settled(s, f"/api/v1/namespaces/{s.ns}/endpoints/lonely",
                                                    lambda b: True)))
    pair.run(scenario)
