"""`kubectl get -w` and `kubectl wait`: long-running commands that follow the server's watch streams."""
from __future__ import annotations

import time

import pytest

from kubectl_helpers import Kubectl

pytestmark = pytest.mark.kubectl


def test_get_watch_sees_a_new_object_and_its_change(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "configmap", "before", "-n", ns)
    watcher = kubectl.background("get", "configmaps", "-n", ns, "-w")
    try:
        watcher.wait_for_line(lambda line: line.startswith("before"))
        kubectl.ok("create", "configmap", "during", "-n", ns, "--from-literal=a=1")
        assert watcher.wait_for_line(lambda line: line.startswith("during")).split()[:2] == ["during", "1"]
        kubectl.ok("patch", "configmap", "during", "-n", ns, "--type=merge", "-p", '{"data":{"b":"2"}}')
        assert watcher.wait_for_line(lambda line: line.startswith("during")).split()[:2] == ["during", "2"]
    finally:
        watcher.stop()


def test_get_watch_only_follows_the_named_object(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "configmap", "followed", "-n", ns)
    watcher = kubectl.background("get", "configmap", "followed", "-n", ns, "-w", "-o", "name")
    try:
        watcher.wait_for_line(lambda line: line == "configmap/followed")
        kubectl.ok("create", "configmap", "ignored", "-n", ns)
        kubectl.ok("label", "configmap", "followed", "seen=yes", "-n", ns)
        assert watcher.wait_for_line(lambda line: True) == "configmap/followed"
    finally:
        watcher.stop()


def test_get_watch_output_events_reports_deletion(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "configmap", "short-lived", "-n", ns)
    watcher = kubectl.background("get", "configmaps", "-n", ns, "-w", "--output-watch-events")
    try:
        watcher.wait_for_line(lambda line: "short-lived" in line)
        kubectl.ok("delete", "configmap", "short-lived", "-n", ns)
        line = watcher.wait_for_line(lambda line: line.startswith("DELETED"))
        assert line.split()[:2] == ["DELETED", "short-lived"]
    finally:
        watcher.stop()


def test_wait_for_delete_returns_when_the_object_goes(kubectl: Kubectl, ns: str) -> None:
    """A finalizer holds the object while `kubectl wait` starts watching; releasing it ends the wait."""
    kubectl.create({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "awaited", "namespace": ns, "finalizers": ["example.com/hold"]}})
    kubectl.ok("delete", "configmap", "awaited", "-n", ns, "--wait=false")
    waiter = kubectl.background("wait", "--for=delete", "configmap/awaited", "-n", ns, "--timeout=30s")
    try:
        time.sleep(1)
        assert waiter.process.poll() is None, "the wait must last while the finalizer holds the object"
        kubectl.ok("patch", "configmap", "awaited", "-n", ns, "--type=json",
                   "-p", '[{"op": "remove", "path": "/metadata/finalizers"}]')
        assert waiter.wait_for_line(lambda line: True) == "configmap/awaited condition met"
        assert waiter.process.wait(20) == 0
    finally:
        waiter.stop()


def test_wait_for_delete_times_out_while_the_object_stays(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "configmap", "stays", "-n", ns)
    result = kubectl.fails("wait", "--for=delete", "configmap/stays", "-n", ns, "--timeout=1s")
    assert "timed out waiting for the condition" in result.stderr


def test_wait_for_condition_on_a_crd(kubectl: Kubectl) -> None:
    out = kubectl.ok("wait", "--for=condition=Established", "crd/flyteworkflows.flyte.lyft.com", "--timeout=10s")
    assert out.strip() == "customresourcedefinition.apiextensions.k8s.io/flyteworkflows.flyte.lyft.com condition met"


def test_wait_for_jsonpath_sees_a_later_change(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "configmap", "flag", "--from-literal=state=starting", "-n", ns)
    waiter = kubectl.background("wait", "--for=jsonpath={.data.state}=ready", "configmap/flag", "-n", ns,
                                "--timeout=30s")
    try:
        kubectl.ok("patch", "configmap", "flag", "-n", ns, "--type=merge", "-p", '{"data":{"state":"ready"}}')
        assert waiter.wait_for_line(lambda line: True) == "configmap/flag condition met"
        assert waiter.process.wait(20) == 0
    finally:
        waiter.stop()
