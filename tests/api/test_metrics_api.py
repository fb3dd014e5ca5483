"""metrics.k8s.io/v1beta1 as metrics-server serves it, through raw HTTP: discovery, and the answers when there
are no figures (the session's server runs no kubelet; tests/kubectl/test_kubectl_top.py reads real ones)."""
from __future__ import annotations

import httpx

from apihelpers import expect_http

METRICS = "/apis/metrics.k8s.io/v1beta1"


def test_metrics_group_is_discovered(http: httpx.Client) -> None:
    groups = {g["name"]: g for g in http.get("/apis").json()["groups"]}
    assert groups["metrics.k8s.io"]["preferredVersion"]["groupVersion"] == "metrics.k8s.io/v1beta1"


def test_metrics_resources_are_read_only(http: httpx.Client) -> None:
    assert http.get(METRICS).json()["resources"] == [
        {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics", "verbs": ["get", "list"]},
        {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics", "verbs": ["get", "list"]}]


def test_metrics_of_a_missing_pod_are_the_pods_not_found(http: httpx.Client, ns: str) -> None:
    status = expect_http(http.get(f"{METRICS}/namespaces/{ns}/pods/nope"), 404, "NotFound")
    assert (status["message"], status["details"]) == ('pods "nope" not found', {"name": "nope", "kind": "pods"})


def test_pod_without_figures_is_podmetrics_not_found(http: httpx.Client, ns: str) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "idle"},
           "spec": {"containers": [{"name": "main", "image": "busybox"}]}}
    assert http.post(f"/api/v1/namespaces/{ns}/pods", json=pod).status_code == 201
    status = expect_http(http.get(f"{METRICS}/namespaces/{ns}/pods/idle"), 404, "NotFound")
    assert status["message"] == f'podmetrics.metrics.k8s.io "{ns}/idle" not found'
    assert status["details"] == {"name": f"{ns}/idle", "group": "metrics.k8s.io", "kind": "podmetrics"}


def test_pods_without_figures_are_left_out_of_lists(http: httpx.Client, ns: str) -> None:
    assert http.get(f"{METRICS}/namespaces/{ns}/pods").json() == {
        "kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {}, "items": []}


def test_metrics_of_a_missing_node_are_the_nodes_not_found(http: httpx.Client) -> None:
    status = expect_http(http.get(f"{METRICS}/nodes/nope"), 404, "NotFound")
    assert status["message"] == 'nodes "nope" not found'


def test_metrics_cannot_be_watched(http: httpx.Client) -> None:
    status = expect_http(http.get(f"{METRICS}/pods", params={"watch": "true"}), 405, "MethodNotAllowed")
    assert status["message"] == 'watch is not supported on resources of kind "pods.metrics.k8s.io"'


def test_metrics_cannot_be_written(http: httpx.Client, ns: str) -> None:
    expect_http(http.post(f"{METRICS}/namespaces/{ns}/pods", json={}), 405, "MethodNotAllowed")
