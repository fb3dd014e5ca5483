"""kubectl's merging commands: client-side apply, server-side apply, diff and strategic merge patch."""
from __future__ import annotations

from pathlib import Path

import yaml

from kubectl_helpers import Kubectl


def _pod(ns: str, image: str, env_value: str = "1") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": ns, "labels": {"app": "web"}},
            "spec": {"nodeName": "elsewhere", "containers": [
                {"name": "app", "image": image, "env": [{"name": "MODE", "value": env_value}]},
                {"name": "sidecar", "image": "busybox:1.36"}]}}


def _write(path: Path, obj: dict) -> str:
    path.write_text(yaml.safe_dump(obj))
    return str(path)


def test_client_side_apply_twice_changes_only_the_changed_field(kubectl: Kubectl, ns: str, tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": ns},
          "data": {"colour": "blue", "size": "m"}}
    kubectl.ok("apply", "-f", _write(manifest, cm))
    kubectl.ok("annotate", "configmap", "settings", "-n", ns, "owner=ops")
    cm["data"]["colour"] = "green"
    assert "configured" in kubectl.ok("apply", "-f", _write(manifest, cm))
    live = kubectl.get_json("configmap", "settings", "-n", ns)
    assert live["data"] == {"colour": "green", "size": "m"}
    assert live["metadata"]["annotations"]["owner"] == "ops"
    assert "kubectl.kubernetes.io/last-applied-configuration" in live["metadata"]["annotations"]


def test_client_side_apply_removes_a_field_dropped_from_the_manifest(kubectl: Kubectl, ns: str,
                                                                       tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "trim", "namespace": ns},
          "data": {"keep": "1", "drop": "2"}}
    kubectl.ok("apply", "-f", _write(manifest, cm))
    del cm["data"]["drop"]
    kubectl.ok("apply", "-f", _write(manifest, cm))
    assert kubectl.get_json("configmap", "trim", "-n", ns)["data"] == {"keep": "1"}


def test_server_side_apply_creates_then_updates_with_its_field_manager(kubectl: Kubectl, ns: str,
                                                                      tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa", "namespace": ns},
          "data": {"a": "1"}}
    assert "serverside-applied" in kubectl.ok("apply", "--server-side", "-f", _write(manifest, cm))
    cm["data"]["a"] = "2"
    kubectl.ok("apply", "--server-side", "-f", _write(manifest, cm))
    live = kubectl.get_json("configmap", "ssa", "-n", ns, "--show-managed-fields")
    assert live["data"] == {"a": "2"}
    appliers = [m for m in live["metadata"]["managedFields"] if m["operation"] == "Apply"]
    assert [m["manager"] for m in appliers] == ["kubectl"]
    assert appliers[0]["fieldsV1"]["f:data"] == {"f:a": {}}


def test_server_side_apply_conflicts_with_another_manager_until_forced(kubectl: Kubectl, ns: str,
                                                                       tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned", "namespace": ns},
          "data": {"a": "1"}}
    kubectl.ok("apply", "--server-side", "-f", _write(manifest, cm))
    kubectl.ok("patch", "configmap", "owned", "-n", ns, "--type", "merge", "-p", '{"data":{"a":"9"}}')
    failed = kubectl.fails("apply", "--server-side", "-f", str(manifest))
    assert "conflict" in failed.stderr and ".data.a" in failed.stderr
    kubectl.ok("apply", "--server-side", "--force-conflicts", "-f", str(manifest))
    assert kubectl.get_json("configmap", "owned", "-n", ns)["data"] == {"a": "1"}


def test_diff_shows_the_pending_change_and_exits_1(kubectl: Kubectl, ns: str, tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "diffed", "namespace": ns},
          "data": {"level": "low"}}
    kubectl.ok("apply", "-f", _write(manifest, cm))
    assert kubectl.run("diff", "-f", str(manifest)).returncode == 0
    cm["data"]["level"] = "high"
    result = kubectl.run("diff", "-f", _write(manifest, cm))
    assert result.returncode == 1, result.stderr
    assert "-  level: low" in result.stdout and "+  level: high" in result.stdout
    assert kubectl.get_json("configmap", "diffed", "-n", ns)["data"] == {"level": "low"}


def test_strategic_patch_merges_containers_by_name(kubectl: Kubectl, ns: str) -> None:
    kubectl.create(_pod(ns, "python:3.11"))
    kubectl.ok("patch", "pod", "web", "-n", ns, "--type", "strategic", "-p",
               '{"spec":{"containers":[{"name":"app","image":"python:3.12"}]}}')
    containers = kubectl.get_json("pod", "web", "-n", ns)["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("app", "python:3.12"), ("sidecar", "busybox:1.36")]
    assert containers[0]["env"] == [{"name": "MODE", "value": "1"}]


def test_strategic_patch_delete_directive_removes_a_list_element(kubectl: Kubectl, ns: str) -> None:
    kubectl.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": ns},
                    "spec": {"ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]}})
    kubectl.ok("patch", "service", "svc", "-n", ns, "--type", "strategic", "-p",
               '{"spec":{"ports":[{"port":80,"$patch":"delete"}]}}')
    ports = kubectl.get_json("service", "svc", "-n", ns)["spec"]["ports"]
    assert [p["port"] for p in ports] == [443]


def test_strategic_patch_on_a_custom_resource_is_unsupported_media_type(kubectl: Kubectl, ns: str) -> None:
    kubectl.create({"apiVersion": "flyte.lyft.com/v1alpha1", "kind": "FlyteWorkflow",
                    "metadata": {"name": "wf", "namespace": ns}, "spec": {"nodes": {}}})
    failed = kubectl.fails("patch", "flyteworkflow", "wf", "-n", ns, "--type", "strategic", "-p",
                           '{"spec":{"x":1}}')
    assert "application/strategic-merge-patch+json is not supported" in failed.stderr
    assert "accepted media types include: application/json-patch+json, application/merge-patch+json" in failed.stderr
