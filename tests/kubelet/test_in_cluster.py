"""Software inside a pod talks to the cluster as it would anywhere: the official Python client's
`load_incluster_config()` finds the service-account token, the cluster CA and KUBERNETES_SERVICE_HOST/PORT that
admission and the kubelet gave the pod, and acts as the pod's service account under RBAC. The token is bound to
the pod and stops working once the pod is gone."""
from __future__ import annotations

import json
import socket
import ssl
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import Kubeshim, start_kubeshim, wait_for

pytestmark = pytest.mark.kubelet

NS = "team"
CLIENT_SCRIPT = textwrap.dedent("""
    import json, time
    from kubernetes import client, config
    config.load_incluster_config()
    api = client.CoreV1Api()
    seen = {"own": sorted(p.metadata.name for p in api.list_namespaced_pod("team").items)}
    try:
        api.list_namespaced_pod("default")
        seen["other"] = 200
    except client.ApiException as err:
        seen["other"] = err.status
    print(json.dumps(seen), flush=True)
    time.sleep(3600)
""")


class Cluster:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.server: Kubeshim = start_kubeshim(data_dir)
        self.verify = ssl.create_default_context(cafile=self.server.ca)
        self.api = httpx.Client(base_url=self.server.url, verify=self.verify, timeout=10,
                                headers={"Authorization": f"Bearer {self.server.token}"})

    def create(self, path: str, obj: dict[str, Any]) -> dict[str, Any]:
        response = self.api.post(path, json=obj)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def as_bearer(self, token: str, path: str) -> int:
        with httpx.Client(base_url=self.server.url, verify=self.verify, timeout=10) as plain:
            return plain.get(path, headers={"Authorization": f"Bearer {token}"}).status_code


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path / "kubeshim")
    yield cluster
    cluster.api.close()
    cluster.server.stop()


def grant_pod_reading(cluster: Cluster) -> None:
    """The namespace's default account may list pods there, and nowhere else."""
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}"
    cluster.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    cluster.create(f"{rbac}/roles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "pod-reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]})
    cluster.create(f"{rbac}/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "pod-reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": NS}]})


def log_line(cluster: Cluster, name: str) -> dict[str, Any] | None:
    response = cluster.api.get(f"/api/v1/namespaces/{NS}/pods/{name}/log")
    text = response.text.strip() if response.status_code == 200 else ""
    return json.loads(text.splitlines()[0]) if text else None


def projected_token(cluster: Cluster, pod: dict[str, Any]) -> str:
    """The token the kubelet wrote into the pod's kube-api-access volume, read as the node's admin would."""
    volumes = cluster.data_dir / "kubelet" / "pods" / pod["metadata"]["uid"] / "volumes"
    [token] = volumes.glob("*/kube-api-access-*/token")
    return token.read_text()


def test_a_pod_reaches_the_api_as_its_service_account_until_it_is_deleted(cluster: Cluster) -> None:
    grant_pod_reading(cluster)
    pod = cluster.create(f"/api/v1/namespaces/{NS}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"},
        "spec": {"containers": [{"name": "main", "image": "python:3.11",
                                 "command": [sys.executable, "-c", CLIENT_SCRIPT]}]}})
    assert wait_for(lambda: log_line(cluster, "client"), timeout=60, what="the pod's report") == {
        "own": ["client"], "other": 403}

    token = projected_token(cluster, pod)
    assert cluster.as_bearer(token, f"/api/v1/namespaces/{NS}/pods") == 200
    response = cluster.api.delete(f"/api/v1/namespaces/{NS}/pods/client", params={"gracePeriodSeconds": "1"})
    assert response.status_code == 200
    wait_for(lambda: cluster.api.get(f"/api/v1/namespaces/{NS}/pods/client").status_code == 404, timeout=30,
             what="the pod gone")
    assert cluster.as_bearer(token, f"/api/v1/namespaces/{NS}/pods") == 401


def test_a_services_endpoints_list_its_running_pod_at_the_address_the_kubelet_reports(cluster: Cluster) -> None:
    cluster.create("/api/v1/namespaces/default/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    pod = cluster.create("/api/v1/namespaces/default/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "main", "image": "python:3.11", "ports": [{"name": "http",
                                                                                     "containerPort": 8080}],
                                 "command": [sys.executable, "-c", "import time; time.sleep(3600)"]}]}})

    def ready_endpoints() -> dict[str, Any] | None:
        body = cluster.api.get("/api/v1/namespaces/default/endpoints/web").json()
        subsets = body.get("subsets") or []
        return body if subsets and subsets[0].get("addresses") else None

    endpoints = wait_for(ready_endpoints, timeout=60, what="the pod ready in the service's endpoints")
    running = cluster.api.get("/api/v1/namespaces/default/pods/web").json()
    [address] = endpoints["subsets"][0]["addresses"]
    assert address["ip"] == running["status"]["podIP"]
    assert address["targetRef"]["uid"] == pod["metadata"]["uid"]
    assert endpoints["subsets"][0]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]

    def ready_in_slices() -> bool:
        slices = cluster.api.get("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
                                 params={"labelSelector": "kubernetes.io/service-name=web"}).json()["items"]
        return [(e["addresses"], e["conditions"]["ready"]) for s in slices for e in s.get("endpoints") or []] == [
            ([address["ip"]], True)]

    wait_for(ready_in_slices, timeout=30, what="the pod ready in the service's EndpointSlice")


@pytest.mark.parametrize("name", ["127.0.0.1", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"])
def test_the_serving_certificate_is_valid_for_the_names_pods_reach_the_api_by(cluster: Cluster, name: str) -> None:
    """KUBERNETES_SERVICE_HOST, and the `kubernetes` Service's names, as kube-apiserver's certificate has them."""
    with socket.create_connection(("127.0.0.1", cluster.server.port), timeout=10) as raw:
        with cluster.verify.wrap_socket(raw, server_hostname=name) as tls:
            assert tls.version() is not None


def test_service_account_admission_can_be_turned_off(tmp_path: Path) -> None:
    """`--disable-admission-plugins ServiceAccount`, as kube-apiserver's flag: no account check, no token volume."""
    server = start_kubeshim(tmp_path / "kubeshim", "--no-kubelet", "--disable-admission-plugins", "ServiceAccount")
    try:
        with httpx.Client(base_url=server.url, verify=ssl.create_default_context(cafile=server.ca), timeout=10,
                          headers={"Authorization": f"Bearer {server.token}"}) as api:
            response = api.post("/api/v1/namespaces/default/pods", json={
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                "spec": {"serviceAccountName": "ghost", "containers": [{"name": "c", "image": "busybox"}]}})
            assert response.status_code == 201, response.text
            assert "volumes" not in response.json()["spec"]
    finally:
        server.stop()
