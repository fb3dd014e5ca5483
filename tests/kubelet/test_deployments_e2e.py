"""Deployments end to end: a real `kubeshim up` whose kubelet runs the pods, driven by kubectl 1.33 as a user
would (create, rollout status, set image, undo, scale, delete with each cascade)."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

from harness import Kubeshim, kubectl_path, processes_under, start_kubeshim, wait_for

pytestmark = pytest.mark.kubelet


class Kubectl:
    def __init__(self, server: Kubeshim, home: Path) -> None:
        self.server = server
        self.home = home
        self.binary = kubectl_path("1.33")

    def env(self) -> dict[str, str]:
        return {**{k: v for k, v in os.environ.items() if not k.startswith("KUBE")},
                "HOME": str(self.home), "KUBECONFIG": str(self.server.kubeconfig)}

    def ok(self, *args: str, timeout: float = 90) -> str:
        result = subprocess.run([self.binary, *args], capture_output=True, text=True, timeout=timeout, env=self.env())
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "-o", "json"))

    def pods(self, selector: str) -> list[dict[str, Any]]:
        return list(self.json("get", "pods", "-l", selector)["items"])


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    data = tmp_path_factory.mktemp("deployments") / "data"
    server = start_kubeshim(data)
    k = Kubectl(server, tmp_path_factory.mktemp("deployments-home"))
    yield k
    k.ok("delete", "deployments,replicasets,pods", "--all", "--grace-period=0", "--force")
    wait_for(lambda: not k.json("get", "pods")["items"], timeout=30)
    wait_for(lambda: not processes_under(data), timeout=30)
    server.stop()


def running(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in pods if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]


def test_create_deployment_runs_three_pods_and_rollout_status_completes(kubectl: Kubectl) -> None:
    kubectl.ok("create", "deployment", "web", "--image=python:3.11", "--replicas=3", "--", "sleep", "3600")
    out = kubectl.ok("rollout", "status", "deployment/web", "--timeout=60s")
    assert 'deployment "web" successfully rolled out' in out
    assert len(running(kubectl.pods("app=web"))) == 3


def test_set_image_rolls_within_max_unavailable_as_a_watch_sees_it(kubectl: Kubectl) -> None:
    kubectl.ok("rollout", "status", "deployment/web", "--timeout=60s")
    watch = subprocess.Popen([kubectl.binary, "get", "pods", "-l", "app=web", "--watch", "--output-watch-events",
                              "-o", "json"], stdout=subprocess.PIPE, text=True, env=kubectl.env())
    try:
        kubectl.ok("set", "image", "deployment/web", "python=python:3.12")
        kubectl.ok("rollout", "status", "deployment/web", "--timeout=90s")
    finally:
        watch.terminate()
    stream, _ = watch.communicate(timeout=10)
    events = [json.loads(doc) for doc in _json_documents(stream)]
    # default strategy, 3 replicas: maxUnavailable 25% rounds down to 0, maxSurge 25% rounds up to 1
    live: dict[str, dict[str, Any]] = {}
    counts = []
    for event in events:
        pod = event["object"]
        if event["type"] == "DELETED" or pod["metadata"].get("deletionTimestamp"):
            live.pop(pod["metadata"]["name"], None)
        else:
            live[pod["metadata"]["name"]] = pod
        ready = sum(1 for p in live.values() if any(c["type"] == "Ready" and c["status"] == "True"
                                                     for c in p["status"].get("conditions") or []))
        counts.append((ready, len(live)))
    during = counts[3:]  # after the watch's initial listing of the 3 pods
    assert during and min(r for r, _ in during) >= 3 and max(n for _, n in during) <= 4, counts
    pods = running(kubectl.pods("app=web"))
    assert len(pods) == 3 and {p["spec"]["containers"][0]["image"] for p in pods} == {"python:3.12"}


def test_rollout_undo_returns_the_old_template(kubectl: Kubectl) -> None:
    kubectl.ok("rollout", "undo", "deployment/web")
    kubectl.ok("rollout", "status", "deployment/web", "--timeout=90s")
    d = kubectl.json("get", "deployment", "web")
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "python:3.11"
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    history = kubectl.ok("rollout", "history", "deployment/web")
    assert "2 " in history and "3 " in history


def test_scale_to_zero_removes_the_pods(kubectl: Kubectl) -> None:
    kubectl.ok("scale", "deployment/web", "--replicas=0")
    wait_for(lambda: not kubectl.pods("app=web"), timeout=30, what="every pod of web gone")
    assert kubectl.json("get", "deployment", "web")["status"].get("replicas", 0) == 0


def test_foreground_deletion_waits_for_the_pods(kubectl: Kubectl) -> None:
    kubectl.ok("create", "deployment", "fg", "--image=python:3.11", "--replicas=2", "--", "sleep", "3600")
    kubectl.ok("rollout", "status", "deployment/fg", "--timeout=60s")
    kubectl.ok("delete", "deployment", "fg", "--cascade=foreground", "--wait=true", timeout=90)
    # the Deployment went only after its ReplicaSet, which went only after its pods
    assert kubectl.pods("app=fg") == []
    assert kubectl.json("get", "replicasets", "-l", "app=fg")["items"] == []


def test_orphan_deletion_leaves_the_replica_set_and_pods_running(kubectl: Kubectl) -> None:
    kubectl.ok("create", "deployment", "orphans", "--image=python:3.11", "--replicas=2", "--", "sleep", "3600")
    kubectl.ok("rollout", "status", "deployment/orphans", "--timeout=60s")
    kubectl.ok("delete", "deployment", "orphans", "--cascade=orphan", "--wait=true")
    [rs] = wait_for(lambda: [r for r in kubectl.json("get", "replicasets", "-l", "app=orphans")["items"]
                             if not r["metadata"].get("ownerReferences")], timeout=20, what="the released rs")
    assert len(running(kubectl.pods("app=orphans"))) == 2
    assert rs["spec"]["replicas"] == 2


def _json_documents(stream: str) -> Iterator[str]:
    """Split kubectl's stream of pretty-printed JSON objects."""
    decoder, i = json.JSONDecoder(), 0
    while i < len(stream):
        while i < len(stream) and stream[i].isspace():
            i += 1
        if i >= len(stream):
            return
        _, end = decoder.raw_decode(stream, i)
        yield stream[i:end]
        i = end
