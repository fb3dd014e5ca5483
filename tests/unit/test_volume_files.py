"""Volumes materialized as files under the pod's directory (configMap, secret, downwardAPI, projected,
hostPath, PVC, emptyDir); tests/kubelet/test_volumes.py checks what a container sees at mountPath."""
from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from shim.kubelet.sources import PodSources
from shim.kubelet.volumes import VolumeError, materialize, write_atomic


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
