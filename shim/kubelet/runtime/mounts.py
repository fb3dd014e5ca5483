"""Making volumes appear at their mountPath.

Preferred: a private mount namespace per container (unshare(2) from the supervisor's child, before exec) with
bind mounts of the materialized volume directories; read-only mounts are remounted read-only. As root only
CLONE_NEWNS is needed; otherwise CLONE_NEWUSER maps the caller's own uid/gid (so the program keeps its
identity and loses the namespace's capabilities at exec). Mount points that do not exist on the host are
created as empty directories/files by the kubelet (and removed with the last pod that used them).

Fallback where the host forbids namespaces: a symlink at mountPath pointing to the volume (only when nothing
exists there; two pods cannot share a mountPath), read-only not enforced, no termination-message file.

The namespace half runs inside the freshly forked child of the supervisor: standard library + ctypes only.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import sys
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21

_ST_TO_MS = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC,
             os.ST_NOATIME: MS_NOATIME, os.ST_NODIRATIME: MS_NODIRATIME, os.ST_RELATIME: MS_RELATIME}


def _libc() -> Any:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
    libc.unshare.argtypes = [ctypes.c_int]
    return libc


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _enc(path: str | None) -> bytes | None:
    return None if path is None else os.fsencode(path)


def enter(mounts: list[dict[str, Any]], userns: bool) -> None:
    """In the container's process, before exec: new mount namespace, then each bind mount in order.

    mounts: [{"source": host path, "target": path, "read_only": bool, "create": bool}], parents before children.
    Only "create" targets (inside an earlier mount) are made here; host mount points are the kubelet's job, so
    that it knows what to remove later.
    """
    libc = _libc()
    uid, gid = os.getuid(), os.getgid()
    _check(libc.unshare(CLONE_NEWNS | (CLONE_NEWUSER if userns else 0)), "unshare")
    if userns:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as fh:
                fh.write(text)
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    for m in mounts:
        source, target = m["source"], m["target"]
        if not os.path.lexists(target) and m.get("create"):  # nested inside an earlier volume of this container
            if os.path.isdir(source):
                os.makedirs(target, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                open(target, "a").close()
        _check(libc.mount(_enc(source), _enc(target), None, MS_BIND | MS_REC, None), f"bind {source} on {target}")
        if m.get("read_only"):
            flags = MS_BIND | MS_REMOUNT | MS_RDONLY
            st = os.statvfs(target)
            for st_flag, ms_flag in _ST_TO_MS.items():
                if st.f_flag & st_flag:
                    flags |= ms_flag
            _check(libc.mount(None, _enc(target), None, flags, None), f"remount {target} read-only")


_PROBE = r"""
import os, sys
sys.path.insert(0, sys.argv[1])
from shim.kubelet.runtime import mounts
src, dst = sys.argv[2], sys.argv[3]
mounts.enter([{"source": src, "target": dst, "read_only": True}], userns=sys.argv[4] == "1")
assert os.path.exists(os.path.join(dst, "probe")), "bind mount not visible"
"""


def probe(scratch: str, python: str = sys.executable) -> str | None:
    """Which namespace mode works here: "mount" (root, CLONE_NEWNS), "user" (CLONE_NEWUSER too) or None."""
    src, dst = os.path.join(scratch, "probe-src"), os.path.join(scratch, "probe-dst")
    os.makedirs(src, exist_ok=True)
    os.makedirs(dst, exist_ok=True)
    open(os.path.join(src, "probe"), "w").close()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    candidates = ["mount", "user"] if os.geteuid() == 0 else ["user"]
    try:
        for mode in candidates:
            done = subprocess.run([python, "-S", "-c", _PROBE, root, src, dst, "1" if mode == "user" else "0"],
                                  capture_output=True, timeout=20)
            if done.returncode == 0:
                return mode
        return None
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        for p in (os.path.join(src, "probe"),):
            try:
                os.unlink(p)
            except OSError:
                pass
        for d in (src, dst):
            try:
                os.rmdir(d)
            except OSError:
                pass


class MountError(Exception):
    """A volume cannot be placed at its mountPath: the container waits in CreateContainerError."""


def ensure_mountpoint(target: str, directory: bool) -> list[str]:
    """Make an empty directory (or file) for a bind mount to cover; returns what was created, outermost first."""
    if os.path.lexists(target):
        return []
    missing = []
    parent = os.path.dirname(target)
    while parent and parent != "/" and not os.path.lexists(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    created = list(reversed(missing))
    try:
        for path in created:
            os.mkdir(path)
        if directory:
            os.mkdir(target)
        else:
            open(target, "a").close()
    except OSError as exc:
        for path in reversed(created):
            release(path)
        raise MountError(f'failed to create mount point "{target}": {(exc.strerror or str(exc)).lower()}') from None
    return created + [target]


def link(target: str, source: str, busy: bool) -> list[str]:
    """Symlink fallback: target -> source, returning what was created (outermost first). busy says whether an
    existing link is held by a live container."""
    if os.path.islink(target):
        current = os.readlink(target)
        if current == source:
            return []
        if busy:
            raise MountError(f'mountPath "{target}" is in use by another running pod and this host allows no '
                             f"private mount namespaces")
        os.unlink(target)
    elif os.path.exists(target):
        raise MountError(f'mountPath "{target}" already exists on the host and this host allows no private '
                         f"mount namespaces (kubeshim can only symlink volumes into free paths)")
    created = []
    try:
        parent = os.path.dirname(target)
        if not os.path.lexists(parent):
            created = ensure_mountpoint(parent, True)
        os.symlink(source, target)
    except (OSError, MountError) as exc:
        for path in reversed(created):
            release(path)
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise MountError(f'failed to link volume at "{target}": {detail.lower()}') from None
    return created + [target]


def innermost_first(paths: list[str]) -> list[str]:
    """The order to release mount points in: what lies inside a directory before the directory, whatever the
    order they were recorded in (a pod inherits another pod's mount points innermost first)."""
    return sorted(paths, key=lambda p: os.path.normpath(p).count("/"), reverse=True)


def release(path: str) -> None:
    """Undo ensure_mountpoint/link: remove the symlink, or the directory/file if still empty."""
    try:
        if os.path.islink(path):
            os.unlink(path)
        elif os.path.isdir(path):
            os.rmdir(path)
        elif os.path.isfile(path) and os.path.getsize(path) == 0:
            os.unlink(path)
    except OSError:
        pass
