"""End to end through a real `kubeshim up` (API server + kubelet) with the official Python client."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from harness import start_kubeshim, wait_for


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    server = start_kubeshim(tmp_path_factory.mktemp("kubelet-e2e") / "data")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def core(cluster: Any) -> Iterator[Any]:
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(str(cluster.kubeconfig)))
    yield api
    # Leave nothing behind on the host (processes, mount points) before the server stops.
    api.delete_collection_namespaced_pod("default", grace_period_seconds=0)
    wait_for(lambda: not api.list_namespaced_pod("default").items, timeout=10)


def pod(name: str, command: list[str], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "main", "image": "busybox", "command": command}], **spec}}


def test_node_is_ready(core: Any) -> None:
    node = wait_for(lambda: next(iter(core.list_node().items), None), 20)
    ready = {c.type: c.status for c in node.status.conditions}["Ready"]
    assert node.metadata.name == "kubeshim" and ready == "True"


def test_pod_runs_logs_and_fails(core: Any) -> None:
    core.create_namespaced_pod("default", pod("e2e-fail", ["sh", "-c", "echo out; echo err >&2; exit 4"],
                                              restartPolicy="Never"))
    done = wait_for(lambda: (p := core.read_namespaced_pod("e2e-fail", "default")).status.phase == "Failed" and p, 20)
    term = done.status.container_statuses[0].state.terminated
    assert (term.exit_code, term.reason) == (4, "Error")
    assert done.spec.node_name == "kubeshim"
    assert core.read_namespaced_pod_log("e2e-fail", "default") == "out\nerr\n"
    assert core.read_namespaced_pod_log("e2e-fail", "default", tail_lines=1) == "err\n"
    from kubernetes.client.exceptions import ApiException

    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod_log("e2e-fail", "default", container="nope")
    assert err.value.status == 400 and "container nope is not valid for pod e2e-fail" in err.value.body


def test_graceful_delete_finishes(core: Any) -> None:
    core.create_namespaced_pod("default", pod("e2e-del", ["sleep", "1000"], terminationGracePeriodSeconds=2))
    wait_for(lambda: core.read_namespaced_pod("e2e-del", "default").status.phase == "Running", 20)
    core.delete_namespaced_pod("e2e-del", "default")
    from kubernetes.client.exceptions import ApiException

    def gone() -> bool:
        try:
            core.read_namespaced_pod("e2e-del", "default")
            return False
        except ApiException as exc:
            return exc.status == 404

    wait_for(gone, timeout=10)


def test_unschedulable_pod(core: Any) -> None:
    body = pod("e2e-huge", ["true"])
    body["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "1000"}}
    core.create_namespaced_pod("default", body)
    cond = wait_for(lambda: next((c for c in core.read_namespaced_pod("e2e-huge", "default").status.conditions or []
                                  if c.type == "PodScheduled" and c.status == "False"), None), 20)
    assert cond.reason == "Unschedulable" and cond.message == "0/1 nodes are available: 1 Insufficient cpu."
    core.delete_namespaced_pod("e2e-huge", "default", grace_period_seconds=0)


TOKEN_CLIENT = """
import json, os, ssl, urllib.request
token = open('/var/run/secrets/kubeshim-e2e/token').read()
url = f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{os.environ['KUBERNETES_SERVICE_PORT']}"
request = urllib.request.Request(url + '/apis/authentication.k8s.io/v1/selfsubjectreviews', method='POST',
                                 data=json.dumps({'apiVersion': 'authentication.k8s.io/v1',
                                                  'kind': 'SelfSubjectReview'}).encode(),
                                 headers={'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'})
user = json.load(urllib.request.urlopen(request, context=ssl._create_unverified_context()))['status']['userInfo']
print(user['username'], *user['extra']['authentication.kubernetes.io/pod-name'])
"""


def test_a_pod_calls_the_api_with_its_projected_token(core: Any) -> None:
    """The kubelet's projected service-account token: a JWT bound to the pod, accepted by the API server."""
    import sys
    body = pod("e2e-token", [sys.executable, "-c", TOKEN_CLIENT], restartPolicy="Never", volumes=[
        {"name": "token", "projected": {"sources": [{"serviceAccountToken": {"path": "token",
                                                                             "expirationSeconds": 3607}}]}}])
    body["spec"]["containers"][0].update(image="python:3.11", volumeMounts=[
        {"name": "token", "mountPath": "/var/run/secrets/kubeshim-e2e", "readOnly": True}])
    core.create_namespaced_pod("default", body)
    done = wait_for(lambda: (p := core.read_namespaced_pod("e2e-token", "default")).status.phase
                    in ("Succeeded", "Failed") and p, 30)
    log = core.read_namespaced_pod_log("e2e-token", "default")
    assert done.status.phase == "Succeeded", log
    assert log == "system:serviceaccount:default:default e2e-token\n"
