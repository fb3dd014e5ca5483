"""Containers as local process groups, each under its own supervisor (see supervise.py).

Layout: `<data>/pods/<pod uid>/containers/<container id>/` holds spec.json, starting.json, pid.json,
exit.json, container.log and termination-log. Deleting the pod directory deletes the logs with it.

Restart safety: starting.json (written by us right after spawning) and pid.json (written by the supervisor
once the program runs) record the supervisor's and the program's pid with their kernel start times (psutil's
create_time), because a pid alone may be reused after a reboot. They are files in the container dir, not a
pod annotation: this is local state of this node, it must exist before anything else can observe the
container, and writing pod metadata through the API would bump resourceVersions under Flyte's own updates.
The kubelet's checkpoint (checkpoint.py) names the container id before the start, so a kubeshim killed
mid-start re-adopts the container instead of starting a second one.
`adopt()` re-attaches to a container after a kubeshim restart; exit.json (written by the surviving supervisor)
still gives the true exit code. Exits are noticed through pidfds, which work for processes that are not our
children.

`exec` runs a command beside the program (same env, cwd and user, same namespaces through nsenter); `attach`
connects to the attach.sock its supervisor serves; `logs` reads container.log through logfile.py, for any
instance whose directory exists.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from shim.kubelet.runtime import attach, enter, logfile, supervise, terminal
from shim.kubelet.runtime.provider import ContainerSpec, ExecError, LogOptions, Observed

if TYPE_CHECKING:
    from shim.kubelet import cgroups

VANISHED = "container vanished while kubeshim was not watching it (its supervisor is gone without an exit record)"
_SHIM_ROOT = str(Path(__file__).resolve().parents[3])


def container_dir(pods_dir: Path, pod_uid: str, container_id: str) -> Path:
    return Path(pods_dir) / pod_uid / "containers" / container_id


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            doc: dict[str, Any] = json.load(fh)  # files this module and the supervisor write: JSON objects
        return doc
    except (OSError, ValueError):
        return None


def _alive(pid: int | None, ctime: float | None) -> bool:
    """Is this exact process (pid + start time) still there and not a zombie?"""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if ctime is not None and abs(proc.create_time() - ctime) > 0.05:
            return False
        return bool(proc.status() != psutil.STATUS_ZOMBIE)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _ctime(pid: int) -> float | None:
    try:
        created: float = psutil.Process(pid).create_time()
        return created
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


class ProcessProvider:
    """The local-process implementation of runtime.provider.Provider."""

    def __init__(self, pods_dir: Path, *, python: str = sys.executable, namespace_mode: str | None = None,
                 cgroup_setup: cgroups.Setup | None = None, memory_poll_seconds: float = 0.1) -> None:
        self.pods_dir = Path(pods_dir)
        self.python = python
        self.namespace_mode = namespace_mode  # "mount" | "user" | None
        self.cgroup_setup = cgroup_setup
        self.memory_poll_seconds = memory_poll_seconds
        self._dirs: dict[str, Path] = {}
        self._exec_env: dict[str, dict[str, Any]] = {}  # spec.json of each container: what commands run with
        self._launcher: asyncio.subprocess.Process | None = None
        self._launch_lock = asyncio.Lock()

    # -- layout -----------------------------------------------------------------------------------------
    def dir(self, container_id: str) -> Path:
        return self._dirs[container_id]

    def log_path(self, container_id: str) -> Path:
        return self.dir(container_id) / "container.log"

    # -- lifecycle --------------------------------------------------------------------------------------
    async def start(self, spec: ContainerSpec) -> Observed:
        from shim.kubelet import cgroups

        cdir = container_dir(self.pods_dir, spec.pod_uid, spec.id)
        cdir.mkdir(parents=True, exist_ok=True)
        self._dirs[spec.id] = cdir
        (cdir / "termination-log").touch()
        mounts = [{"source": m.source, "target": m.target, "read_only": m.read_only} for m in spec.mounts]
        if self.namespace_mode and spec.termination_message_path:
            mounts.append({"source": str(cdir / "termination-log"), "target": spec.termination_message_path,
                           "read_only": False})
        plan = cgroups.plan(self.cgroup_setup, spec.id, memory_limit=spec.memory_limit,
                            cpu_limit_millis=spec.cpu_limit_millis, cpu_request_millis=spec.cpu_request_millis)
        sandbox, user = self._sandbox(spec, cdir)
        doc: supervise.Spec = {
            "argv": spec.argv, "env": spec.env, "cwd": spec.cwd, "log_path": str(cdir / "container.log"),
            "cgroup": plan, "memory_limit": spec.memory_limit, "poll_seconds": self.memory_poll_seconds,
            "sandbox": sandbox, "mounts": mounts if sandbox else [], "user": user, "stdin": spec.stdin,
            "stdin_once": spec.stdin_once, "tty": spec.tty}
        with open(cdir / "spec.json", "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
        self._exec_env[spec.id] = dict(doc)
        supervisor = await self._launch(cdir)
        supervisor_ctime = _ctime(supervisor)
        with open(cdir / "starting.json", "w", encoding="utf-8") as fh:
            json.dump({"supervisor": supervisor, "supervisor_ctime": supervisor_ctime}, fh)
        delay = 0.002
        give_up = time.monotonic() + 60.0
        while True:
            done = _read_json(cdir / "exit.json")
            if done is not None and "start_error" in done:
                return Observed(spec.id, "failed", error=done["start_error"])
            if (cdir / "pid.json").exists():
                return self.observe(spec.id)
            if not _alive(supervisor, supervisor_ctime):
                if (cdir / "pid.json").exists() or (cdir / "exit.json").exists():
                    continue  # it finished its work between the two looks
                tail = (cdir / "supervisor.log").read_text(errors="replace")[-500:]
                return Observed(spec.id, "failed", error=f"supervisor exited early: {tail}")
            if time.monotonic() > give_up:  # e.g. a hung mount: give up, leave the supervisor to its fate
                _killpg(supervisor, signal.SIGKILL)
                return Observed(spec.id, "failed", error="container did not start within 60s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.01)  # the supervisor needs ~40-70 ms; do not overshoot it

    def _sandbox(self, spec: ContainerSpec, cdir: Path) -> tuple[dict[str, Any] | None, supervise.User | None]:
        """The container's namespaces and identity: as root the program switches user after the mounts; in a
        user namespace the kubelet's own uid/gid are mapped to runAsUser/runAsGroup instead."""
        user: supervise.User | None = None
        if os.geteuid() == 0 and (spec.run_as_user is not None or spec.run_as_group is not None
                                  or spec.supplemental_groups):
            gid = spec.run_as_group if spec.run_as_group is not None else 0
            user = {"uid": spec.run_as_user if spec.run_as_user is not None else 0, "gid": gid,
                    "groups": sorted({gid, *spec.supplemental_groups})}
        if not self.namespace_mode:
            return None, user
        (cdir / "rootfs").mkdir(exist_ok=True)
        sandbox: dict[str, Any] = {"mode": self.namespace_mode, "root": str(cdir / "rootfs"),
                                   "hostname": spec.hostname}
        if self.namespace_mode == "user":
            sandbox.update(uid=spec.run_as_user, gid=spec.run_as_group)
            user = None
        return sandbox, user

    async def _launch(self, cdir: Path) -> int:
        """Fork a supervisor for `cdir` from the warm launcher (started on first use, again if it died)."""
        async with self._launch_lock:
            for _attempt in range(2):
                if self._launcher is None or self._launcher.returncode is not None:
                    env = {"PYTHONPATH": _SHIM_ROOT, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
                    self._launcher = await asyncio.create_subprocess_exec(
                        self.python, "-S", "-m", "shim.kubelet.runtime.launcher", stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, env=env, start_new_session=True, close_fds=True)
                assert self._launcher.stdin is not None and self._launcher.stdout is not None
                try:
                    self._launcher.stdin.write(str(cdir).encode() + b"\n")
                    await self._launcher.stdin.drain()
                    answer = await self._launcher.stdout.readline()
                except (BrokenPipeError, ConnectionResetError):
                    answer = b""
                if answer.strip().isdigit():
                    return int(answer)
                self._launcher = None
            raise RuntimeError("the supervisor launcher does not answer")

    async def close(self) -> None:
        """Let the launcher go (running supervisors are not its to stop)."""
        if self._launcher is not None and self._launcher.returncode is None:
            assert self._launcher.stdin is not None
            self._launcher.stdin.close()
            await self._launcher.wait()
        self._launcher = None

    def adopt(self, pod_uid: str, container_id: str) -> Observed:
        """Re-attach to a container started by an earlier kubeshim; returns what it is doing now."""
        self._dirs[container_id] = container_dir(self.pods_dir, pod_uid, container_id)
        return self.observe(container_id)

    def observe(self, container_id: str) -> Observed:
        cdir = self.dir(container_id)
        done = _read_json(cdir / "exit.json")
        identity = self._identity(container_id)
        if done is not None:
            if "start_error" in done:
                return Observed(container_id, "failed", error=done["start_error"])
            return Observed(container_id, "exited", pid=identity.get("pid"), started_at=done.get("started_at"),
                            finished_at=done.get("finished_at"), exit_code=done.get("exit_code"),
                            signal=done.get("signal", 0), oom_killed=bool(done.get("oom_killed")))
        started = identity.get("started_at")
        if _alive(identity.get("supervisor"), identity.get("supervisor_ctime")) or \
                _alive(identity.get("pid"), identity.get("pid_ctime")):
            return Observed(container_id, "running", pid=identity.get("pid"), started_at=started)
        # A supervisor may have finished writing exit.json between the two reads above.
        done = _read_json(cdir / "exit.json")
        if done is not None:
            return self.observe(container_id)
        if not identity:
            return Observed(container_id, "unknown", error="container was never started")
        return Observed(container_id, "unknown", pid=identity.get("pid"), started_at=started,
                        finished_at=time.time(), exit_code=137, error=VANISHED)

    def _identity(self, container_id: str) -> dict[str, Any]:
        """pid.json (written by the supervisor once the program runs), else starting.json (supervisor only)."""
        cdir = self.dir(container_id)
        return _read_json(cdir / "pid.json") or _read_json(cdir / "starting.json") or {}

    async def wait(self, container_id: str) -> Observed:
        while True:
            obs = self.observe(container_id)
            if obs.done:
                return obs
            identity = self._identity(container_id)
            target = identity.get("supervisor")
            if not _alive(target, identity.get("supervisor_ctime")):
                target = identity.get("pid")
            await _wait_pid(target)

    async def stop(self, container_id: str, grace: float) -> Observed:
        obs = self.observe(container_id)
        deadline = time.monotonic() + 10.0
        while not obs.done and not obs.pid and time.monotonic() < deadline:  # still starting: wait for its pid
            await asyncio.sleep(0.01)
            obs = self.observe(container_id)
        if obs.done or not obs.pid:
            return obs
        identity = self._identity(container_id)
        pgid = obs.pid
        if _alive(pgid, identity.get("pid_ctime")):
            _killpg(pgid, signal.SIGTERM)
        try:
            async with asyncio.timeout(max(0.0, grace)):
                return await self.wait(container_id)
        except TimeoutError:
            pass
        if _alive(pgid, identity.get("pid_ctime")):
            _killpg(pgid, signal.SIGKILL)
        try:
            async with asyncio.timeout(10.0):
                return await self.wait(container_id)
        except TimeoutError:
            return self.observe(container_id)

    async def exec(self, container_id: str, command: list[str], *, stdin: bool = False, stdout: bool = False,
                   stderr: bool = False, tty: bool = False) -> GroupExecution | terminal.TerminalExecution:
        """The command in its own session, with the container's env and cwd; inside the container's mount (and
        user) namespace where containers get one (enter.py), so it sees the same files as the program. With
        `tty` it runs on a new pseudo-terminal (its controlling terminal), which carries its output. A command
        that cannot start there is an ExecError in runc's words (`exec: "x": executable file not found...`)."""
        if not command:
            raise ExecError("no command to run")
        if container_id not in self._dirs:
            raise ExecError(f"container {container_id} is not known here")
        obs = self.observe(container_id)
        if obs.done:
            raise ExecError(f"container {container_id} is not running")
        env, cwd, entry = self._container_env(container_id, obs.pid)
        try:
            if tty:
                return await terminal.start(list(command), env, cwd, stdin=stdin, enter=entry)
            pipe, closed = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL
            proc = await asyncio.create_subprocess_exec(*command, env=env, cwd=cwd, stdin=pipe if stdin else closed,
                                                        stdout=pipe if stdout else closed,
                                                        stderr=pipe if stderr else closed, start_new_session=True,
                                                        preexec_fn=entry)
        except (OSError, subprocess.SubprocessError) as exc:
            reason = supervise.exec_error(command[0], exc) if isinstance(exc, OSError) else str(exc)
            raise ExecError(f'failed to start exec "{container_id}": {reason}') from None
        finally:
            if entry is not None:
                entry.close()
        return GroupExecution(proc)

    async def attach(self, container_id: str, *, stdin: bool, stdout: bool,
                     stderr: bool) -> attach.AttachedSession:
        """Through the attach socket its supervisor serves (so also for containers an earlier kubeshim started)."""
        if container_id not in self._dirs or self.observe(container_id).done:
            raise ExecError(f"container {container_id} is not running")
        return await attach.attach(str(self.dir(container_id)), stdin=stdin, stdout=stdout, stderr=stderr)

    def _container_env(self, container_id: str,
                       pid: int | None) -> tuple[dict[str, str], str | None, enter.Entry | None]:
        """The env and cwd a command runs with, and the Entry that puts it where the program is (the container's
        namespaces, its working directory there, its user). What the container has comes from its spec.json, so
        that re-adopted containers get it too. Raises ExecError when the namespaces are gone."""
        doc = self._exec_env.get(container_id)
        if doc is None:
            doc = self._exec_env[container_id] = _read_json(self.dir(container_id) / "spec.json") or {}
        env: dict[str, str] = doc.get("env") or dict(os.environ)
        cwd: str | None = doc.get("cwd")
        sandbox, user = doc.get("sandbox"), doc.get("user")
        if not (sandbox or user) or not pid:
            return env, cwd, None
        try:
            # with a sandbox the working directory is a path of the container's root, entered in the child
            return env, None if sandbox else cwd, enter.Entry(pid, sandbox, user, cwd if sandbox else None)
        except OSError as exc:
            raise ExecError(f"cannot enter container {container_id}: {exc}") from None

    def logs(self, pod_uid: str, container_id: str, opts: LogOptions) -> AsyncIterator[bytes]:
        cdir = container_dir(self.pods_dir, pod_uid, container_id)
        return logfile.read(cdir / "container.log", opts, lambda: instance_finished(cdir))

    def termination_message(self, container_id: str) -> str:
        try:
            with open(self.dir(container_id) / "termination-log", "rb") as fh:
                return fh.read(4096).decode("utf-8", "replace")
        except OSError:
            return ""

    def remove(self, container_id: str) -> None:
        self._exec_env.pop(container_id, None)
        cdir = self._dirs.pop(container_id, None)
        if cdir is not None:
            shutil.rmtree(cdir, ignore_errors=True)

    def forget(self, container_id: str) -> None:
        """Drop bookkeeping without touching files (the whole pod dir is going away)."""
        self._dirs.pop(container_id, None)
        self._exec_env.pop(container_id, None)


class GroupExecution:
    """A command started by `ProcessProvider.exec`: a process group of its own, killed as a whole."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc
        self.stdin = proc.stdin
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    async def wait(self) -> int:
        return await self._proc.wait()

    def kill(self) -> None:
        if self._proc.returncode is None:
            _killpg(self._proc.pid, signal.SIGKILL)

    def resize(self, width: int, height: int) -> None:
        """No terminal: nothing to resize."""


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


async def _wait_pid(pid: int | None) -> None:
    """Until pid exits: a pidfd becomes readable then, for children and strangers alike."""
    if not pid:
        await asyncio.sleep(0.05)
        return
    try:
        fd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        await asyncio.sleep(0.1)
        return
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def readable() -> None:
        if not done.done():
            done.set_result(None)

    loop.add_reader(fd, readable)
    try:
        async with asyncio.timeout(5.0):  # re-check files now and then (zombie children linger)
            await done
    except TimeoutError:
        pass
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def instance_finished(cdir: Path) -> bool:
    """No more log lines will come: the supervisor recorded an exit, failed to start, or is gone."""
    if (cdir / "exit.json").exists():
        return True
    identity = _read_json(cdir / "pid.json") or _read_json(cdir / "starting.json")
    if identity is None:
        return not cdir.exists()
    return not (_alive(identity.get("supervisor"), identity.get("supervisor_ctime"))
                or _alive(identity.get("pid"), identity.get("pid_ctime")))
