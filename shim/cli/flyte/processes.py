"""Child processes of `kubeshim flyte up`: started with a log file each, probed until ready, stopped in order.

Each child gets a process group of its own, so Ctrl-C in the terminal reaches only `kubeshim flyte up`,
which then stops the children one by one (Flyte first, the databases last). Each child also gets the
parent-death signal SIGKILL: if `kubeshim flyte up` itself dies (SIGKILL, a crash), its children die with it
instead of holding ports and data directories for the next start. Pods are not children of these processes
in that sense: kubeshim's container supervisors run in sessions of their own and survive, by design.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

PR_SET_PDEATHSIG = 1
CLONE_NEWUSER = 0x10000000
#: The uid and gid a child that refuses root sees itself as, inside its user namespace.
INNER_ID = 1000


class StartError(Exception):
    """A component could not be started; the message is one line for the user."""


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _not_root_inside() -> None:
    """For a program that refuses to run as root (PostgreSQL) when kubeshim is root: a user namespace in which
    it is uid/gid INNER_ID, mapped onto root outside. It keeps root's ownership of its files, so a data dir
    under a 0700 home works, but holds no capability outside the namespace. A process may map its own
    effective ids without privilege, so this needs nothing beyond user namespaces being enabled."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWUSER) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER) failed: user namespaces are disabled here")
    for name, text in (("uid_map", f"{INNER_ID} 0 1"), ("setgroups", "deny"), ("gid_map", f"{INNER_ID} 0 1")):
        with open(f"/proc/self/{name}", "w") as fh:
            fh.write(text)


def _child_setup(not_root: bool) -> Callable[[], None]:
    def setup() -> None:
        _die_with_parent()
        if not_root:
            _not_root_inside()
    return setup


def run_once(argv: list[str], log: Path, not_root: bool = False) -> int:
    """A one-off helper command (initdb) set up as a Child would be; its output goes to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, check=False,
                              preexec_fn=_child_setup(not_root and os.geteuid() == 0)).returncode


@dataclass
class Child:
    """One supervised component: how to start it, how to tell it is ready, how to stop it."""

    name: str
    argv: list[str]
    log_path: Path
    ready: Callable[[], bool]
    env: dict[str, str] | None = None
    #: The program refuses root: under root it runs in a user namespace as a non-root id (see _not_root_inside).
    not_root: bool = False
    stop_signal: int = signal.SIGTERM
    #: Seconds between the stop signal and SIGKILL.
    grace: float = 10.0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            try:
                self.process = subprocess.Popen(
                    self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                    process_group=0, preexec_fn=_child_setup(self.not_root and os.geteuid() == 0))
            except (OSError, subprocess.SubprocessError) as err:
                raise StartError(f"{self.name}: cannot run {self.argv[0]}: {err}") from err

    def wait_ready(self, timeout: float) -> None:
        """Probe until ready; an exit or the timeout is a StartError naming the log."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise StartError(f"{self.name} exited with status {self.process.returncode} before it was ready; "
                                 f"its log: {self.log_path}{self._last_line()}")
            if self.ready():
                return
            if time.monotonic() > deadline:
                raise StartError(f"{self.name} was not ready after {timeout:.0f} s; its log: {self.log_path}"
                                 f"{self._last_line()}")
            time.sleep(0.2)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> int | None:
        """Signal, wait up to the grace period, then SIGKILL; returns the exit status."""
        proc = self.process
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                proc.send_signal(self.stop_signal)
                proc.wait(self.grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            except ProcessLookupError:
                pass
        return proc.returncode

    def _last_line(self) -> str:
        try:
            lines = [line for line in self.log_path.read_text(errors="replace").splitlines() if line.strip()]
        except OSError:
            return ""
        return f"; last line: {lines[-1][:300]}" if lines else ""


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on or holds host:port (a bind on every interface is checked too, since
    flyteadmin and datacatalog bind 0.0.0.0 whatever their configuration says)."""
    import socket
    for address in {host, "0.0.0.0"}:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((address, port))
            except OSError:
                return True
    return False


def tcp_open(port: int, host: str = "127.0.0.1") -> bool:
    import socket
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False

