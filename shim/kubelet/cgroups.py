"""Memory and CPU limits through cgroups (v1 or v2), nested under kubeshim's own cgroup.

Why nested: kubeshim may itself run inside a limited cgroup (a CI job, a systemd unit); putting containers
below it keeps them inside whatever accounting the host applies to kubeshim, and needs no write access
elsewhere. Each container gets `<own cgroup>/<name>/<container id>` in the memory and cpu hierarchies (v1) or
in the unified one (v2). `detect()` returns None where nothing is writable; the supervisor then enforces
memory by polling RSS instead (see runtime/supervise.py).

This module is imported by the supervisor, so it uses the standard library only (and not `typing` at run time:
its types exist for the type checker alone). A plan (`Plan`) is a plain dict that travels to the supervisor in
its spec file:
    {"version": 1|2, "dirs": {"memory": path, "cpu": path} or {"unified": path},
     "memory_limit": bytes|None, "cpu_quota_us": int|None, "cpu_period_us": int, "cpu_shares": int|None}
"""
from __future__ import annotations

import os
import signal
import time

TYPE_CHECKING = False  # what typing.TYPE_CHECKING says, without importing typing (~20 ms at every start)
if TYPE_CHECKING:
    from typing import Literal, TypedDict

    class Setup(TypedDict):
        """Where container cgroups can be made (`detect()`)."""

        version: Literal[1, 2]
        parents: dict[str, str]  # v1: {"memory": dir[, "cpu": dir]}; v2: {"unified": dir}

    class Plan(TypedDict):
        """One container's cgroups and limits (`plan()`), as the supervisor reads them from its spec file."""

        version: Literal[1, 2]
        dirs: dict[str, str]  # v1: {"memory": dir[, "cpu": dir]}; v2: {"unified": dir}
        memory_limit: int | None  # bytes
        cpu_quota_us: int | None
        cpu_period_us: int
        cpu_shares: int | None

CPU_PERIOD_US = 100_000


def _mounts() -> tuple[dict[str, tuple[str, str]], str | None]:
    """v1 controller -> (mount point, mount root); and the cgroup2 mount point if any."""
    v1: dict[str, tuple[str, str]] = {}
    unified = None
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return v1, None
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) < 5 or len(rfields) < 3:
            continue
        fstype, options = rfields[0], rfields[2].split(",")
        root, point = fields[3], fields[4]
        if fstype == "cgroup2" and unified is None:
            unified = point
        elif fstype == "cgroup":
            for opt in options:
                if opt in ("memory", "cpu", "cpuacct", "pids", "cpuset", "freezer"):
                    v1.setdefault(opt, (point, root))
    return v1, unified


def _own_paths() -> tuple[dict[str, str], str | None]:
    """kubeshim's own cgroup per v1 controller, and in the unified hierarchy."""
    v1: dict[str, str] = {}
    unified = None
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as fh:
            for line in fh.read().splitlines():
                _, controllers, path = line.split(":", 2)
                if controllers == "":
                    unified = path
                for c in controllers.split(","):
                    if c:
                        v1[c] = path
    except (OSError, ValueError):
        pass
    return v1, unified


def _join(point: str, root: str, path: str) -> str:
    if root != "/" and path.startswith(root):
        path = path[len(root):] or "/"
    return os.path.join(point, path.lstrip("/"))


def _writable_dir(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK)


def detect(name: str = "kubeshim") -> Setup | None:
    """Where container cgroups can be made: {"version", "parents": {controller: dir}}, or None."""
    mounts, unified_point = _mounts()
    own_v1, own_unified = _own_paths()
    if "memory" in mounts and "memory" in own_v1:
        point, root = mounts["memory"]
        parents = {"memory": os.path.join(_join(point, root, own_v1["memory"]), name)}
        if "cpu" in mounts and "cpu" in own_v1:
            point, root = mounts["cpu"]
            parents["cpu"] = os.path.join(_join(point, root, own_v1["cpu"]), name)
        if _writable_dir(parents["memory"]) and os.path.exists(os.path.join(parents["memory"],
                                                                            "memory.limit_in_bytes")):
            if "cpu" in parents and not _writable_dir(parents["cpu"]):
                del parents["cpu"]
            return {"version": 1, "parents": parents}
    if unified_point and own_unified is not None:
        own = _join(unified_point, "/", own_unified)
        parent = os.path.join(own, name)
        if not _writable_dir(parent):
            return None
        try:
            with open(os.path.join(own, "cgroup.subtree_control"), "w") as fh:
                fh.write("+memory +cpu")
            with open(os.path.join(parent, "cgroup.subtree_control"), "w") as fh:
                fh.write("+memory +cpu")
        except OSError:
            pass
        controllers = _read(os.path.join(parent, "cgroup.subtree_control")) or ""
        if "memory" in controllers.split():
            return {"version": 2, "parents": {"unified": parent}}
        try:
            os.rmdir(parent)
        except OSError:
            pass
    return None


def plan(setup: Setup | None, container_id: str, *, memory_limit: int | None,
         cpu_limit_millis: int | None, cpu_request_millis: int | None) -> Plan | None:
    """The cgroup plan for one container, or None when cgroups are unavailable."""
    if not setup:
        return None
    dirs = {ctrl: os.path.join(parent, container_id) for ctrl, parent in setup["parents"].items()}
    quota = None
    if cpu_limit_millis:
        quota = max(1000, cpu_limit_millis * CPU_PERIOD_US // 1000)
    shares = max(2, cpu_request_millis * 1024 // 1000) if cpu_request_millis else None
    return {"version": setup["version"], "dirs": dirs, "memory_limit": memory_limit, "cpu_quota_us": quota,
            "cpu_period_us": CPU_PERIOD_US, "cpu_shares": shares}


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError:
        return None


def _write(path: str, value: str) -> bool:
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(value)
        return True
    except OSError:
        return False


def create(cg: Plan) -> None:
    """Make the container's cgroups and set their limits. Raises OSError if the memory limit cannot be set."""
    for path in cg["dirs"].values():
        os.makedirs(path, exist_ok=True)
    mem, quota, shares = cg.get("memory_limit"), cg.get("cpu_quota_us"), cg.get("cpu_shares")
    if cg["version"] == 1:
        mdir = cg["dirs"]["memory"]
        if mem:
            with open(os.path.join(mdir, "memory.limit_in_bytes"), "w") as fh:
                fh.write(str(mem))
            _write(os.path.join(mdir, "memory.memsw.limit_in_bytes"), str(mem))
            _write(os.path.join(mdir, "memory.swappiness"), "0")
        cdir = cg["dirs"].get("cpu")
        if cdir:
            if quota:
                _write(os.path.join(cdir, "cpu.cfs_period_us"), str(cg["cpu_period_us"]))
                _write(os.path.join(cdir, "cpu.cfs_quota_us"), str(quota))
            if shares:
                _write(os.path.join(cdir, "cpu.shares"), str(shares))
    else:
        udir = cg["dirs"]["unified"]
        if mem:
            with open(os.path.join(udir, "memory.max"), "w") as fh:
                fh.write(str(mem))
            _write(os.path.join(udir, "memory.swap.max"), "0")
            _write(os.path.join(udir, "memory.oom.group"), "1")
        if quota:
            _write(os.path.join(udir, "cpu.max"), f"{quota} {cg['cpu_period_us']}")
        if shares:
            # v2 weight from v1 shares, the mapping runc uses.
            weight = 1 + ((shares - 2) * 9999) // 262142
            _write(os.path.join(udir, "cpu.weight"), str(max(1, min(10000, weight))))


def join(cg: Plan, pid: int) -> None:
    """Move pid into every one of the container's cgroups (called in the child before exec)."""
    for path in cg["dirs"].values():
        with open(os.path.join(path, "cgroup.procs"), "w") as fh:
            fh.write(str(pid))


def procs(cg: Plan) -> list[int]:
    key = "memory" if cg["version"] == 1 else "unified"
    text = _read(os.path.join(cg["dirs"][key], "cgroup.procs")) or ""
    return [int(p) for p in text.split()]


def oom_killed(cg: Plan) -> bool:
    """Did the kernel OOM-kill anything in this container's memory cgroup?"""
    if cg["version"] == 1:
        text = _read(os.path.join(cg["dirs"]["memory"], "memory.oom_control")) or ""
    else:
        text = _read(os.path.join(cg["dirs"]["unified"], "memory.events")) or ""
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill" and value.strip().isdigit() and int(value) > 0:
            return True
    return False


def kill_all(cg: Plan, timeout: float = 5.0) -> None:
    """SIGKILL whatever is left in the container's cgroup, until it is empty."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = procs(cg)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)


def remove(cg: Plan) -> None:
    """Delete the container's cgroups, killing stragglers first (rmdir fails while a task remains)."""
    kill_all(cg)
    for path in cg["dirs"].values():
        for _ in range(50):
            try:
                os.rmdir(path)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.01)
