"""A container's root: the host's files, its volumes at their mountPaths, its own hostname; the host untouched.

Design (bubblewrap's, done in the supervisor's child before exec): new mount + UTS namespaces, and a user
namespace too when kubeshim is not root (the caller's uid/gid mapped to the container's runAsUser/runAsGroup,
or to themselves). There a fresh tmpfs becomes the root: every top-level entry of the host's `/` is mirrored
into it (a directory is recursively bind-mounted, a symlink re-created, a file bound onto an empty file), so a
program sees the host's /usr, /etc, /home, /proc, /dev, kubeshim's data dir and Python as before.

Mount points never touch the host. A mountPath is resolved inside the new root (symlinks followed there, as
runc's securejoin does); where a component is missing, its parent directory must be writable without writing
to the host: if the parent is the tmpfs root, a directory made on it, or lies inside one of the container's
volumes, the mount point is made there; otherwise the parent is a host directory mirrored in, and it is
"split": a tmpfs is mounted over it and the host directory's entries are mirrored into that tmpfs one by one
(the same step as for `/`), after which the mount point is an empty directory (or file) on the tmpfs. So
`/data` lands on the root tmpfs and `/var/run/secrets/kubernetes.io/serviceaccount` splits the host's /run
(`/var/run` being a symlink to it) and creates `secrets/kubernetes.io/serviceaccount` there. Then
pivot_root(2) makes the tmpfs `/` (the old root detached), and the hostname is set in the UTS namespace.

Fallback where the host forbids namespaces: a symlink at mountPath pointing to the volume (only when nothing
exists there; two pods cannot share a mountPath), read-only not enforced, no termination-message file, the
host's hostname.

The namespace half runs inside the freshly forked child of the supervisor: standard library + ctypes only.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import subprocess
import sys
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
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
MNT_DETACH = 2
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}

_ST_TO_MS = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC,
             os.ST_NOATIME: MS_NOATIME, os.ST_NODIRATIME: MS_NODIRATIME, os.ST_RELATIME: MS_RELATIME}


def _libc() -> Any:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
    libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    libc.unshare.argtypes = [ctypes.c_int]
    libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return libc


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _enc(path: str | None) -> bytes | None:
    return None if path is None else os.fsencode(path)


class _Root:
    """The root being built at `top` (a host directory the tmpfs is mounted on), before pivot_root."""

    def __init__(self, libc: Any, top: str) -> None:
        self.libc = libc
        self.top = top.rstrip("/")
        self.owned: set[str] = set()  # directories on a tmpfs of ours: mount points may be made in them
        self.volumes: list[str] = []  # placed volume targets: mount points inside them are made in the volume

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int, data: str | None,
              what: str) -> None:
        _check(self.libc.mount(_enc(source), _enc(target), _enc(fstype), flags,
                               _enc(data) if data is not None else None), what)

    def tmpfs(self, where: str, mode: int) -> None:
        self.mount("tmpfs", where, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode & 0o7777:o}", f"tmpfs on {where}")
        self.owned.add(where)

    def mirror(self, host_dir: str, dest: str) -> None:
        """Every entry of host_dir appears in dest (an empty directory of ours): binds and symlinks."""
        for entry in os.scandir(host_dir):
            target = os.path.join(dest, entry.name)
            if os.path.join(host_dir, entry.name) == self.top:
                continue  # the root being built (a copy of it would show inside itself)
            try:
                if entry.is_symlink():
                    os.symlink(os.readlink(entry.path), target)
                    continue
                if entry.is_dir(follow_symlinks=False):
                    os.mkdir(target, 0o755)
                else:
                    open(target, "a").close()
                self.mount(entry.path, target, None, MS_BIND | MS_REC, None, f"bind {entry.path}")
            except OSError:  # something the caller cannot bind (a stale socket, ...): the container lacks it
                _discard(target)

    def host_path(self, path: str) -> str:
        """The host directory a mirrored directory of the root shows (mirroring keeps relative paths)."""
        return path[len(self.top):] or "/"

    def writable(self, directory: str) -> bool:
        return directory in self.owned or any(directory == v or directory.startswith(v + "/") for v in self.volumes)

    def split(self, directory: str) -> None:
        """Cover a mirrored host directory with a tmpfs holding the same entries, so that one can be added."""
        host = self.host_path(directory)
        self.tmpfs(directory, os.stat(host).st_mode)
        self.mirror(host, directory)

    def place(self, target: str, directory: bool) -> str:
        """The path (under top) a mount at `target` covers, made if missing; symlinks resolve inside the root."""
        parts = [p for p in target.split("/") if p]
        current, hops = self.top, 0
        while parts:
            name = parts.pop(0)
            if name == ".":
                continue
            if name == "..":
                current = os.path.dirname(current) if current != self.top else current
                continue
            path = os.path.join(current, name)
            if os.path.islink(path):
                hops += 1
                if hops > 40:
                    raise OSError(40, f"too many levels of symbolic links in {target}")
                link = os.readlink(path)
                current = self.top if link.startswith("/") else current
                parts = [p for p in link.split("/") if p] + parts
                continue
            if not os.path.lexists(path):
                if not self.writable(current):
                    self.split(current)
                if parts or directory:
                    os.mkdir(path, 0o755)
                else:
                    open(path, "a").close()
                if current in self.owned:
                    self.owned.add(path)
            current = path
        return current

    def bind(self, source: str, target: str, read_only: bool) -> None:
        where = self.place(target, os.path.isdir(source))
        self.mount(source, where, None, MS_BIND | MS_REC, None, f"bind {source} on {target}")
        if read_only:
            flags = MS_BIND | MS_REMOUNT | MS_RDONLY
            st = os.statvfs(where)
            for st_flag, ms_flag in _ST_TO_MS.items():
                if st.f_flag & st_flag:
                    flags |= ms_flag
            self.mount(None, where, None, flags, None, f"remount {target} read-only")
        self.volumes.append(where)

    def pivot(self) -> None:
        """Make the built root `/`; the old root is detached (runc's pivot_root(".", ".") idiom)."""
        number = SYS_PIVOT_ROOT.get(platform.machine())
        if number is None:
            raise OSError(38, f"pivot_root: unknown syscall number on {platform.machine()}")
        os.chdir(self.top)
        _check(self.libc.syscall(number, b".", b"."), "pivot_root")
        _check(self.libc.umount2(b".", MNT_DETACH), "detach the old root")
        os.chdir("/")
        while self.libc.umount2(_enc(self.top), MNT_DETACH) == 0:
            pass  # copies of the root's tmpfs that binds of its ancestors took along


def _discard(path: str) -> None:
    try:
        if os.path.islink(path) or not os.path.isdir(path):
            os.unlink(path)
        else:
            os.rmdir(path)
    except OSError:
        pass


def enter(sandbox: dict[str, Any], mounts: list[dict[str, Any]]) -> None:
    """In the container's process, before exec: namespaces, the root with every mount, pivot, hostname.

    sandbox: {"mode": "mount" (root: no user namespace) | "user", "root": an empty host directory to build
    on, "hostname": str | None, "uid": uid inside (user mode), "gid": gid inside (user mode)}.
    mounts: [{"source": host path, "target": path in the container, "read_only": bool}] in mount order.
    """
    libc = _libc()
    userns = sandbox.get("mode") == "user"
    uid, gid = os.getuid(), os.getgid()
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWUTS | (CLONE_NEWUSER if userns else 0)), "unshare")
    if userns:
        inside_uid = sandbox.get("uid")
        inside_gid = sandbox.get("gid")
        for name, text in (("setgroups", "deny"),
                           ("uid_map", f"{uid if inside_uid is None else inside_uid} {uid} 1"),
                           ("gid_map", f"{gid if inside_gid is None else inside_gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as fh:
                fh.write(text)
    hostname = sandbox.get("hostname")
    if hostname:
        name = hostname.encode()
        _check(libc.sethostname(name, len(name)), "sethostname")
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    root = _Root(libc, sandbox["root"])
    root.tmpfs(root.top, 0o755)
    root.mirror("/", root.top)
    for m in mounts:
        root.bind(m["source"], m["target"], bool(m.get("read_only")))
    root.pivot()


_PROBE = r"""
import os, sys
sys.path.insert(0, sys.argv[1])
from shim.kubelet.runtime import mounts
src, top = sys.argv[2], sys.argv[3]
mounts.enter({"mode": sys.argv[4], "root": top, "hostname": "kubeshim-probe"},
             [{"source": src, "target": "/kubeshim-probe/volume", "read_only": True}])
assert os.path.exists("/kubeshim-probe/volume/probe"), "bind mount not visible"
assert os.path.isdir("/usr") and os.uname().nodename == "kubeshim-probe"
"""


def probe(scratch: str, python: str = sys.executable) -> str | None:
    """Which namespace mode works here: "mount" (root, no user namespace), "user" or None."""
    src, top = os.path.join(scratch, "probe-src"), os.path.join(scratch, "probe-root")
    os.makedirs(src, exist_ok=True)
    os.makedirs(top, exist_ok=True)
    open(os.path.join(src, "probe"), "w").close()
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    candidates = ["mount", "user"] if os.geteuid() == 0 else ["user"]
    try:
        for mode in candidates:
            done = subprocess.run([python, "-S", "-c", _PROBE, package_root, src, top, mode],
                                  capture_output=True, timeout=20)
            if done.returncode == 0:
                return mode
        return None
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        _discard(os.path.join(src, "probe"))
        for d in (src, top):
            _discard(d)


class MountError(Exception):
    """A volume cannot be placed at its mountPath: the container waits in CreateContainerError."""


def ensure_mountpoint(target: str, directory: bool) -> list[str]:
    """Make an empty directory on the host (symlink fallback only); returns what was created, outermost first."""
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
