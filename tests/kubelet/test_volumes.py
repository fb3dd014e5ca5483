"""Volumes: materialization (pure) and visibility at mountPath, through a private mount namespace where the
host allows it and through the symlink fallback."""
from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path

import pytest

from shim.clients.base import CONFIGMAPS, PODS, SECRETS
from shim.kubelet.sources import PodSources
from shim.kubelet.volumes import VolumeError, materialize, write_atomic

from .conftest import Harness, make_pod, wait_for

POD = {"metadata": {"name": "p", "namespace": "ns", "uid": "u-1", "labels": {"b": "2", "a": "1"}},
       "spec": {"containers": [{"name": "c", "resources": {"limits": {"memory": "32Mi"}}}]}}


def _pod_with(volumes: list) -> dict:
    return dict(POD, spec=dict(POD["spec"], volumes=volumes))


def test_configmap_items_modes_and_atomic_layout(tmp_path: Path) -> None:
    pod = _pod_with([{"name": "cfg", "configMap": {"name": "cm", "defaultMode": 0o600,
                                                   "items": [{"key": "a", "path": "sub/a.txt", "mode": 0o644}]}},
                     {"name": "all", "configMap": {"name": "cm"}}])
    cm = {"data": {"a": "A", "b": "B"}, "binaryData": {"bin": base64.b64encode(b"\x00\x01").decode()}}
    paths = materialize(pod, tmp_path, PodSources(configmaps={"cm": cm}), tmp_path / "pvc")
    cfg, everything = Path(paths["cfg"]), Path(paths["all"])
    assert (cfg / "sub" / "a.txt").read_text() == "A"
    assert not (cfg / "b").exists()
    assert oct((cfg / "sub" / "a.txt").stat().st_mode & 0o777) == oct(0o644)
    assert (everything / "bin").read_bytes() == b"\x00\x01"
    assert os.readlink(everything / "a") == "..data/a" and (everything / "..data").is_symlink()
    # An update swaps the whole set; removed keys disappear.
    cm2 = {"data": {"a": "A2"}}
    materialize(pod, tmp_path, PodSources(configmaps={"cm": cm2}), tmp_path / "pvc")
    assert (everything / "a").read_text() == "A2" and not (everything / "b").exists()
    assert len([p for p in everything.iterdir() if p.name.startswith("..") and p.is_dir()
                and not p.is_symlink()]) == 1


def test_missing_and_optional_sources(tmp_path: Path) -> None:
    with pytest.raises(VolumeError) as err:
        materialize(_pod_with([{"name": "v", "configMap": {"name": "nope"}}]), tmp_path, PodSources(), tmp_path)
    assert str(err.value) == 'MountVolume.SetUp failed for volume "v" : configmap "nope" not found'
    with pytest.raises(VolumeError) as err:
        materialize(_pod_with([{"name": "s", "secret": {"secretName": "x", "items": [{"key": "k", "path": "k"}]}}]),
                    tmp_path, PodSources(secrets={"x": {"data": {}}}), tmp_path)
    assert "references non-existent secret key: k" in str(err.value)
    paths = materialize(_pod_with([{"name": "o", "secret": {"secretName": "nope", "optional": True}}]),
                        tmp_path, PodSources(), tmp_path)
    assert [p for p in Path(paths["o"]).iterdir() if not p.name.startswith("..")] == []


def test_downward_projected_hostpath_pvc(tmp_path: Path) -> None:
    host = tmp_path / "host" / "dir"
    pod = _pod_with([
        {"name": "dw", "downwardAPI": {"items": [
            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "mem", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory",
                                                 "divisor": "1Mi"}}]}},
        {"name": "proj", "projected": {"sources": [
            {"configMap": {"name": "cm"}},
            {"secret": {"name": "sec", "items": [{"key": "pw", "path": "secret/pw"}]}},
            {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
            {"configMap": {"name": "kube-root-ca.crt"}}]}},
        {"name": "hp", "hostPath": {"path": str(host), "type": "DirectoryOrCreate"}},
        {"name": "claim", "persistentVolumeClaim": {"claimName": "data"}},
        {"name": "scratch", "emptyDir": {}},
    ])
    sources = PodSources(configmaps={"cm": {"data": {"k": "v"}}},
                         secrets={"sec": {"data": {"pw": base64.b64encode(b"pw!").decode()}}},
                         tokens={("", 3600): "tok"})
    paths = materialize(pod, tmp_path / "pod", sources, tmp_path / "pvc")
    dw, proj = Path(paths["dw"]), Path(paths["proj"])
    assert (dw / "name").read_text() == "p"
    assert (dw / "labels").read_text() == 'a="1"\nb="2"'
    assert (dw / "mem").read_text() == "32"
    assert (proj / "k").read_text() == "v" and (proj / "secret" / "pw").read_text() == "pw!"
    assert (proj / "ns").read_text() == "ns" and (proj / "token").read_text() == "tok"
    assert Path(paths["hp"]) == host and host.is_dir()
    assert Path(paths["claim"]) == tmp_path / "pvc" / "ns" / "data"
    assert Path(paths["scratch"]).is_dir()
    with pytest.raises(VolumeError) as err:
        materialize(_pod_with([{"name": "h", "hostPath": {"path": str(tmp_path / "none"), "type": "Directory"}}]),
                    tmp_path / "pod", sources, tmp_path)
    assert "is not a directory" in str(err.value)


def test_write_atomic_is_noop_when_unchanged(tmp_path: Path) -> None:
    write_atomic(tmp_path / "v", {"a": (b"1", 0o644)})
    first = os.readlink(tmp_path / "v" / "..data")
    write_atomic(tmp_path / "v", {"a": (b"1", 0o644)})
    assert os.readlink(tmp_path / "v" / "..data") == first


async def _volume_pod(harness: Harness, name: str, base: str) -> dict:
    await harness.client.create(CONFIGMAPS, {"metadata": {"name": "app-config"},
                                             "data": {"greeting": "hello from a configmap"}}, "default")
    await harness.client.create(SECRETS, {"metadata": {"name": "app-secret"},
                                          "data": {"key": base64.b64encode(b"s3cret").decode()}}, "default")
    script = (f"cat {base}/config/greeting; echo; cat {base}/info/name; echo; cat {base}/secret/key; echo; "
              f"echo scratch > {base}/scratch/f && cat {base}/scratch/f; "
              f"if touch {base}/config/new 2>/dev/null; then echo writable; else echo readonly; fi")
    container = {"name": "c", "command": ["sh", "-c", script], "volumeMounts": [
        {"name": "config", "mountPath": f"{base}/config", "readOnly": True},
        {"name": "info", "mountPath": f"{base}/info"},
        {"name": "secret", "mountPath": f"{base}/secret"},
        {"name": "scratch", "mountPath": f"{base}/scratch"}]}
    pod = make_pod(name, [container], restartPolicy="Never", volumes=[
        {"name": "config", "configMap": {"name": "app-config"}},
        {"name": "info", "downwardAPI": {"items": [{"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
        {"name": "secret", "secret": {"secretName": "app-secret"}},
        {"name": "scratch", "emptyDir": {}}])
    await harness.create(pod)
    done = await harness.wait_phase(name, "Succeeded", "Failed")
    cid = harness.container_status(done, "c")["containerID"].split("://")[1]
    lines = [line.split(" ", 3)[3] for line in harness.kubelet.provider.log_path(cid).read_text().splitlines()]
    return {"pod": done, "lines": lines}


async def test_volumes_in_private_mount_namespace(harness: Harness) -> None:
    if not harness.caps[0]:
        pytest.skip("this host allows no private mount namespaces")
    base = f"/opt/kubeshim-test-{uuid.uuid4().hex[:8]}"
    await harness.start()
    out = await _volume_pod(harness, "nsvol", base)
    assert out["lines"] == ["hello from a configmap", "nsvol", "s3cret", "scratch", "readonly"]
    # The host sees only empty mount points, and they go away with the pod.
    assert os.listdir(f"{base}/config") == []
    await harness.client.delete(PODS, "nsvol", "default")
    await wait_for(lambda: not os.path.exists(base))  # parents it created go too


async def test_volumes_through_symlink_fallback(harness: Harness, tmp_path: Path) -> None:
    harness.config.mount_mode = "symlink"
    base = str(tmp_path / "mnt")
    await harness.start()
    assert harness.kubelet.namespace_mode is None
    out = await _volume_pod(harness, "linkvol", base)
    # No read-only enforcement without a mount namespace (documented).
    assert out["lines"][:4] == ["hello from a configmap", "linkvol", "s3cret", "scratch"]
    assert os.path.islink(f"{base}/config")
    await harness.client.delete(PODS, "linkvol", "default")
    await wait_for(lambda: not os.path.lexists(f"{base}/config"))


async def test_volume_error_keeps_pod_creating(harness: Harness) -> None:
    await harness.start()
    pod = make_pod("novol", [{"name": "c", "command": ["true"],
                              "volumeMounts": [{"name": "v", "mountPath": "/tmp/never-mounted"}]}],
                   volumes=[{"name": "v", "configMap": {"name": "missing"}}])
    await harness.create(pod)
    seen = await harness.wait_status("novol", lambda p: harness.container_status(p, "c")["state"].get(
        "waiting", {}).get("message"))
    waiting = harness.container_status(seen, "c")["state"]["waiting"]
    assert waiting["reason"] == "ContainerCreating"
    assert waiting["message"] == 'MountVolume.SetUp failed for volume "v" : configmap "missing" not found'
    conds = {c["type"]: c["status"] for c in seen["status"]["conditions"]}
    assert conds["PodReadyToStartContainers"] == "False"
