"""The per-container supervisor: `python -m shim.kubelet.runtime.supervise <container dir>`.

Why a separate process: kubeshim must be able to restart without killing or losing its containers. The
supervisor runs in its own session, outlives kubeshim, and is the parent of the container's process, so it
alone can collect the real exit status; it writes it to `exit.json`, which a restarted kubeshim reads. It also
turns stdout/stderr into the CRI log file and enforces the memory limit (cgroup, else RSS polling). It serves
the container's attach socket (attachhub.py): its stdin when the spec has `stdin: true`, and with `tty: true` the
terminal the program runs on, whose output goes to the log (as stdout, as containerd logs it) and to the
attached clients, and which takes their resizes.

Files in the container dir: spec.json (input), pid.json (written once the program has exec'd), exit.json
(final), supervisor.log (its own errors), attach.sock (while the program runs). The container's program gets its
own process group (pgid = its pid), which is what the kubelet signals; the supervisor is not in that group and
ignores termination signals.
Standard library only, to start in tens of milliseconds.
"""
from __future__ import annotations

import json
import os
import selectors
import signal
import sys
import time

from shim.kubelet import cgroups
from shim.kubelet.runtime import attachhub, attachwire
from shim.kubelet.runtime.crilog import LineWriter

TYPE_CHECKING = False  # what typing.TYPE_CHECKING says, without importing typing (~20 ms at every start)
if TYPE_CHECKING:
    from typing import Any, TypedDict

    class User(TypedDict):
        """Who the program runs as (securityContext runAsUser, runAsGroup, supplementalGroups + fsGroup)."""

        uid: int
        gid: int
        groups: list[int]

    class Spec(TypedDict):
        """spec.json: what the kubelet (runtime/process.py) asks the supervisor to run."""

        argv: list[str]
        env: dict[str, str]
        cwd: str | None
        log_path: str
        cgroup: cgroups.Plan | None
        memory_limit: int | None  # bytes, enforced by polling RSS when there is no cgroup
        poll_seconds: float
        sandbox: dict[str, Any] | None  # the container's own root and hostname (see mounts.enter()); None: host's
        mounts: list[dict[str, Any]]  # see mounts.enter()
        user: User | None  # identity to take after the mounts (root only; a user namespace maps it instead)
        stdin: bool  # the program's stdin takes attached clients' input (else it reads /dev/null)
        stdin_once: bool  # ... until the first client that attached with stdin detaches
        tty: bool  # the program runs on a terminal of its own

PAGE = os.sysconf("SC_PAGE_SIZE")


def create_time(pid: int) -> float | None:
    """A process's start time exactly as psutil computes it (boot time + start ticks), to guard against pid reuse."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
        with open("/proc/stat", "rb") as fh:
            btime = next(int(line.split()[1]) for line in fh if line.startswith(b"btime"))
    except (OSError, StopIteration, ValueError):
        return None
    ticks = int(stat[stat.rfind(b")") + 2:].split()[19])
    return btime + ticks / os.sysconf("SC_CLK_TCK")


def write_json(path: str, data: dict[str, object]) -> None:
    """Atomic write: readers never see a torn file."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def exec_error(argv0: str, exc: OSError) -> str:
    """Upstream's wording for a failed exec (runc: `exec: "foo": executable file not found in $PATH`)."""
    import errno

    if exc.errno == errno.ENOENT:
        if "/" in argv0:
            return f'exec: "{argv0}": stat {argv0}: no such file or directory'
        return f'exec: "{argv0}": executable file not found in $PATH'
    if exc.errno == errno.EACCES:
        return f'exec: "{argv0}": permission denied'
    return f'exec: "{argv0}": {exc.strerror or exc}'


def _child(spec: Spec, stdio: tuple[int, int, int], status_w: int) -> None:
    """Runs in the forked child with its stdin, stdout and stderr; never returns. On a terminal (`tty`) the
    program leads a session whose controlling terminal that is, as runc gives a container its console."""
    try:
        if spec.get("tty"):
            import fcntl
            import termios

            os.setsid()
            fcntl.ioctl(stdio[0], termios.TIOCSCTTY, 0)
        else:
            os.setpgid(0, 0)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE, signal.SIGCHLD,
                    signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(sig, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        stage = "cgroup"
        cg = spec.get("cgroup")
        if cg:
            cgroups.join(cg, os.getpid())
        stage = "mount"
        sandbox = spec.get("sandbox")
        if sandbox:
            from shim.kubelet.runtime import mounts

            mounts.enter(sandbox, spec.get("mounts") or [])
        stage = "user"
        user = spec.get("user")
        if user:
            os.setgroups(user["groups"])
            os.setgid(user["gid"])
            os.setuid(user["uid"])
        stage = "chdir"
        cwd = spec.get("cwd") or None
        if cwd:
            try:
                os.chdir(cwd)
            except OSError as exc:
                raise OSError(exc.errno, f'chdir to cwd ("{cwd}") set in config.json failed: '
                                         f'{(exc.strerror or "").lower()}') from None
        stage = "exec"
        for target, fd in enumerate(stdio):
            os.dup2(fd, target)
        os.closerange(3, status_w)
        os.closerange(status_w + 1, 65536)
        argv = spec["argv"]
        try:
            os.execvpe(argv[0], argv, spec["env"])
        except OSError as exc:
            message = exec_error(argv[0], exc)
        else:  # pragma: no cover
            message = "exec returned"
    except BaseException as exc:  # noqa: BLE001 - anything here is a start failure
        message = str(getattr(exc, "strerror", None) or exc) if stage == "chdir" else f"{stage}: {exc}"
    try:
        os.write(status_w, message.encode("utf-8", "replace"))
    finally:
        os._exit(127)


class _Stdio:
    """The program's standard streams and the supervisor's ends of them: pipes, or a terminal (`tty`), whose
    output is stdout alone; input from attached clients when the spec has `stdin` (else /dev/null)."""

    def __init__(self, spec: Spec) -> None:
        self.terminal: int | None = None
        self.input: int | None = None
        if spec.get("tty"):
            master, follower = os.openpty()
            attachhub.resize(master, 80, 24)  # until a client says its size
            self.terminal, self.theirs = master, (follower, follower, follower)
            self.outputs = [(master, "stdout")]
            self.input = os.dup(master) if spec.get("stdin") else None
            return
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        if spec.get("stdin"):
            in_r, self.input = os.pipe()
        else:
            in_r = os.open(os.devnull, os.O_RDONLY)
        self.theirs = (in_r, out_w, err_w)
        self.outputs = [(out_r, "stdout"), (err_r, "stderr")]

    @property
    def ours(self) -> list[int]:
        return [fd for fd in (self.input, *(fd for fd, _ in self.outputs)) if fd is not None]

    def close_ours(self) -> None:
        for fd in set(self.ours):
            os.close(fd)

    def close_theirs(self) -> None:
        for fd in set(self.theirs):
            os.close(fd)


def _group_rss(pgid: int) -> int:
    """Resident bytes of every process in a process group (the fallback memory meter)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 21 and int(fields[2]) == pgid:
            total += int(fields[21]) * PAGE
    return total


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except OSError:
        pass


def supervise(cdir: str) -> int:
    with open(os.path.join(cdir, "spec.json"), encoding="utf-8") as fh:
        spec: Spec = json.load(fh)
    for ignored in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(ignored, signal.SIG_IGN)
    exit_path = os.path.join(cdir, "exit.json")
    cg = spec.get("cgroup")
    if cg:
        try:
            cgroups.create(cg)
        except OSError as exc:
            cgroups.remove(cg)
            write_json(exit_path, {"start_error": f"failed to create cgroup: {exc}"})
            return 0
    stdio = _Stdio(spec)
    status_r, status_w = os.pipe2(os.O_CLOEXEC)
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    pid = os.fork()
    if pid == 0:
        stdio.close_ours()
        os.close(status_r)
        _child(spec, stdio.theirs, status_w)
    stdio.close_theirs()
    os.close(status_w)
    failure = b""
    while True:
        try:
            chunk = os.read(status_r, 4096)
        except InterruptedError:
            continue
        if not chunk:
            break
        failure += chunk
    os.close(status_r)
    if failure:
        os.waitpid(pid, 0)
        if cg:
            cgroups.remove(cg)
        write_json(exit_path, {"start_error": failure.decode("utf-8", "replace")})
        return 0
    started = time.time()
    sel = selectors.DefaultSelector()
    hub = attachhub.Hub(cdir, sel, stdin=stdio.input, stdin_once=bool(spec.get("stdin_once")),
                        terminal=stdio.terminal, program=pid)
    write_json(os.path.join(cdir, "pid.json"), {"pid": pid, "pid_ctime": create_time(pid), "supervisor": os.getpid(),
                                                "supervisor_ctime": create_time(os.getpid()), "started_at": started})

    log = open(spec["log_path"], "ab", buffering=0)
    writers = {fd: LineWriter(log, stream) for fd, stream in stdio.outputs}
    kinds = {fd: attachwire.STDOUT if stream == "stdout" else attachwire.STDERR for fd, stream in stdio.outputs}
    for fd in writers:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    sel.register(wake_r, selectors.EVENT_READ)
    limit = spec.get("memory_limit") if not cg else None
    poll = float(spec.get("poll_seconds") or 0.1) if limit else None
    oom = False
    next_poll = 0.0
    status: int | None = None
    drain_deadline: float | None = None
    while True:
        timeout = poll
        if drain_deadline is not None:
            timeout = max(0.0, drain_deadline - time.monotonic())
        for key, events in sel.select(timeout):
            if callable(key.data):  # the attach hub's
                key.data(events)
                continue
            fd = key.fd  # what was registered here: a file descriptor
            if fd == wake_r:
                try:
                    while os.read(wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
                continue
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                continue
            except OSError:  # EIO: a terminal whose last holder is gone has ended
                data = b""
            if data:
                writers[fd].feed(data)
                hub.output(kinds[fd], data)
            else:
                sel.unregister(fd)
                os.close(fd)
                writers.pop(fd).close()
        if status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                status = st
                finished = time.time()
                # The main process is gone: like a container whose pid 1 exited, everything else goes too.
                _killpg(pid, signal.SIGKILL)
                if cg:
                    cgroups.kill_all(cg, timeout=2.0)
                drain_deadline = time.monotonic() + 1.0
            elif limit and time.monotonic() >= next_poll:
                next_poll = time.monotonic() + (poll or 0.1)
                if _group_rss(pid) > limit:
                    oom = True
                    _killpg(pid, signal.SIGKILL)
        # (drain_deadline is set together with status) the program has exited: stop once its output is drained
        if status is not None and drain_deadline is not None and \
                ((not writers and hub.flushed()) or time.monotonic() >= drain_deadline):
            break
    hub.close()
    for fd, writer in writers.items():
        writer.close()
        os.close(fd)
    log.close()
    if os.WIFSIGNALED(status):
        code, sig = 128 + os.WTERMSIG(status), os.WTERMSIG(status)
    else:
        code, sig = os.WEXITSTATUS(status), 0
    if cg and cgroups.oom_killed(cg):
        oom = True
    write_json(exit_path, {"exit_code": code, "signal": sig, "oom_killed": oom, "started_at": started,
                           "finished_at": finished})
    if cg:
        cgroups.remove(cg)
    return 0


def run(cdir: str) -> int:
    """supervise(), with any failure recorded where the kubelet looks (supervisor.log, exit.json)."""
    try:
        return supervise(cdir)
    except Exception as exc:  # noqa: BLE001 - record why, the kubelet reports it
        import traceback

        with open(os.path.join(cdir, "supervisor.log"), "a", encoding="utf-8") as fh:
            traceback.print_exc(file=fh)
        if not os.path.exists(os.path.join(cdir, "exit.json")):
            write_json(os.path.join(cdir, "exit.json"), {"start_error": f"supervisor failed: {exc}"})
        return 1


def main() -> None:
    sys.exit(run(sys.argv[1]))


if __name__ == "__main__":
    main()
