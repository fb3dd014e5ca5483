"""Pod volumes materialized as directories under `<data>/pods/<uid>/volumes/<plugin>/<name>`.

Plugin directory names follow the real kubelet's (kubernetes.io~configmap, ...), so anyone who knows
/var/lib/kubelet finds their way. ConfigMap, Secret, projected and downwardAPI contents are written the way
upstream's AtomicWriter does: files live in a timestamped `..<ts>` directory, `..data` is a symlink to it
and every user-visible name is a symlink through `..data`, so a refresh (ConfigMap updated) swaps all files at
once for running programs. Pure of the API: the kubelet fetches the referenced objects and passes them in.

Failures raise VolumeError with upstream's wording; the pod then waits in ContainerCreating (as upstream, whose
FailedMount event we fold into the waiting message).
"""
from __future__ import annotations

import base64
import os
import shutil
import stat
import time
from pathlib import Path
from typing import Any

from shim.kubelet.downward import field_value, resource_value
from shim.kubelet.sources import PodSources, secret_data

#: Root CA ConfigMap the ServiceAccount admission plugin projects into every pod. kubeshim may not publish it,
#: and a missing one must not keep every pod in ContainerCreating, so it is treated as optional.
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"


class VolumeError(Exception):
    """A volume cannot be set up (yet)."""


PLUGIN_DIRS = {
    "emptyDir": "kubernetes.io~empty-dir",
    "configMap": "kubernetes.io~configmap",
    "secret": "kubernetes.io~secret",
    "projected": "kubernetes.io~projected",
    "downwardAPI": "kubernetes.io~downward-api",
    "ephemeral": "kubernetes.io~empty-dir",
}


def materialize(pod: dict[str, Any], pod_dir: Path, sources: PodSources, pvc_root: Path) -> dict[str, str]:
    """Set up (or refresh) every pod volume; returns volume name -> host path."""
    out: dict[str, str] = {}
    meta = pod.get("metadata") or {}
    for vol in (pod.get("spec") or {}).get("volumes") or []:
        name = vol.get("name", "")
        kind = next((k for k in vol if k != "name"), "")
        if kind in ("emptyDir", "ephemeral"):
            path = Path(pod_dir) / "volumes" / PLUGIN_DIRS[kind] / name
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o777)  # as upstream's: writable by whichever user the pod's containers run as
        elif kind in ("configMap", "secret", "projected", "downwardAPI"):
            path = Path(pod_dir) / "volumes" / PLUGIN_DIRS[kind] / name
            files = _files(pod, vol, kind, sources)
            write_atomic(path, files)
        elif kind == "hostPath":
            path = _host_path(vol["hostPath"])
        elif kind == "persistentVolumeClaim":
            claim = vol["persistentVolumeClaim"].get("claimName", "")
            path = Path(pvc_root) / meta.get("namespace", "default") / claim
            path.mkdir(parents=True, exist_ok=True)
        else:
            raise VolumeError(f'MountVolume.SetUp failed for volume "{name}" : '
                              f"kubeshim does not support {kind or 'this'} volumes")
        out[name] = str(path)
    return out


def _mode(value: Any, default: int) -> int:
    return int(value) if value is not None else default


def _files(pod: dict[str, Any], vol: dict[str, Any], kind: str,
           sources: PodSources) -> dict[str, tuple[bytes, int]]:
    name = vol.get("name", "")
    spec = vol[kind] or {}
    default_mode = _mode(spec.get("defaultMode"), 0o644)
    try:
        if kind == "configMap":
            return _configmap_files(spec, sources, default_mode)
        if kind == "secret":
            return _secret_files(spec, sources, default_mode, spec.get("secretName", ""))
        if kind == "downwardAPI":
            return _downward_files(pod, spec.get("items") or [], sources, default_mode)
        files: dict[str, tuple[bytes, int]] = {}
        for source in spec.get("sources") or []:
            if source.get("configMap"):
                files.update(_configmap_files(source["configMap"], sources, default_mode))
            elif source.get("secret"):
                files.update(_secret_files(source["secret"], sources, default_mode, source["secret"].get("name", "")))
            elif source.get("downwardAPI"):
                files.update(_downward_files(pod, source["downwardAPI"].get("items") or [], sources, default_mode))
            elif source.get("serviceAccountToken"):
                tok = source["serviceAccountToken"]
                key = (tok.get("audience") or "", int(tok.get("expirationSeconds") or 3607))
                files[tok.get("path", "token")] = (sources.tokens.get(key, "").encode(), default_mode)
        return files
    except VolumeError as exc:
        raise VolumeError(f'MountVolume.SetUp failed for volume "{name}" : {exc}') from None


def _select(data: dict[str, bytes], items: list[dict[str, Any]], default_mode: int, optional: bool,
            missing: str) -> dict[str, tuple[bytes, int]]:
    if not items:
        return {k: (v, default_mode) for k, v in data.items()}
    files = {}
    for item in items:
        key = item.get("key", "")
        if key not in data:
            if optional:
                continue
            raise VolumeError(f"{missing}: {key}")
        files[item.get("path") or key] = (data[key], _mode(item.get("mode"), default_mode))
    return files


def _configmap_files(spec: dict[str, Any], sources: PodSources, default_mode: int) -> dict[str, tuple[bytes, int]]:
    cm_name = spec.get("name", "")
    cm = sources.configmaps.get(cm_name)
    optional = bool(spec.get("optional")) or cm_name == ROOT_CA_CONFIGMAP
    if cm is None:
        if optional:
            return {}
        raise VolumeError(f'configmap "{cm_name}" not found')
    data = {k: str(v).encode() for k, v in (cm.get("data") or {}).items()}
    data.update({k: base64.b64decode(v or "") for k, v in (cm.get("binaryData") or {}).items()})
    return _select(data, spec.get("items") or [], default_mode, bool(spec.get("optional")),
                   "configmap references non-existent config key")


def _secret_files(spec: dict[str, Any], sources: PodSources, default_mode: int,
                  secret_name: str) -> dict[str, tuple[bytes, int]]:
    secret = sources.secrets.get(secret_name)
    if secret is None:
        if spec.get("optional"):
            return {}
        raise VolumeError(f'secret "{secret_name}" not found')
    return _select(secret_data(secret), spec.get("items") or [], default_mode, bool(spec.get("optional")),
                   "references non-existent secret key")


def _downward_files(pod: dict[str, Any], items: list[dict[str, Any]], sources: PodSources,
                    default_mode: int) -> dict[str, tuple[bytes, int]]:
    files = {}
    for item in items:
        try:
            if item.get("fieldRef"):
                value = field_value(pod, item["fieldRef"].get("fieldPath", ""), host_ip=sources.host_ip,
                                    pod_ip=sources.pod_ip)
            elif item.get("resourceFieldRef"):
                value = resource_value(pod, "", item["resourceFieldRef"], sources.allocatable)
            else:
                continue
        except ValueError as exc:
            raise VolumeError(str(exc)) from None
        files[item.get("path", "")] = (value.encode(), _mode(item.get("mode"), default_mode))
    return files


def _host_path(spec: dict[str, Any]) -> Path:
    path = Path(spec.get("path", ""))
    kind = spec.get("type") or ""
    if kind == "DirectoryOrCreate":
        path.mkdir(mode=0o755, parents=True, exist_ok=True)
    elif kind == "FileOrCreate":
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o644)
    checks = {"Directory": stat.S_ISDIR, "File": stat.S_ISREG, "Socket": stat.S_ISSOCK,
              "CharDevice": stat.S_ISCHR, "BlockDevice": stat.S_ISBLK}
    if kind in checks:
        what = {"Directory": "a directory", "File": "a file", "Socket": "a socket",
                "CharDevice": "a character device", "BlockDevice": "a block device"}[kind]
        try:
            ok = checks[kind](os.stat(path).st_mode)
        except OSError:
            ok = False
        if not ok:
            raise VolumeError(f"hostPath type check failed: {path} is not {what}")
    return path


def write_atomic(target: Path, files: dict[str, tuple[bytes, int]]) -> None:
    """Publish files under target through the ..data symlink; a no-op when nothing changed."""
    target.mkdir(parents=True, exist_ok=True)
    data_link = target / "..data"
    if data_link.is_symlink() and _same(target / os.readlink(data_link), files):
        return
    now = time.time_ns()
    stamp = target / f"..{time.strftime('%Y_%m_%d_%H_%M_%S', time.gmtime(now // 10**9))}.{now % 10**9:09d}"
    stamp.mkdir(mode=0o755)
    for rel, (content, mode) in files.items():
        dest = stamp / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(dest, "wb") as fh:
            fh.write(content)
        os.chmod(dest, mode & 0o7777)
    tmp_link = target / "..data_tmp"
    if tmp_link.is_symlink():
        tmp_link.unlink()
    os.symlink(stamp.name, tmp_link)
    old = os.readlink(data_link) if data_link.is_symlink() else None
    os.replace(tmp_link, data_link)
    tops = {rel.split("/", 1)[0] for rel in files}
    for top in tops:
        link = target / top
        if not link.is_symlink():
            os.symlink(os.path.join("..data", top), link)
    for entry in target.iterdir():
        if entry.name.startswith(".."):
            continue
        if entry.is_symlink() and entry.name not in tops:
            entry.unlink()
    if old and old != stamp.name:
        shutil.rmtree(target / old, ignore_errors=True)


def _same(current: Path, files: dict[str, tuple[bytes, int]]) -> bool:
    try:
        found = {str(p.relative_to(current)) for p in current.rglob("*") if p.is_file()}
        if found != set(files):
            return False
        for rel, (content, mode) in files.items():
            path = current / rel
            if path.read_bytes() != content or (path.stat().st_mode & 0o7777) != (mode & 0o7777):
                return False
        return True
    except OSError:
        return False
