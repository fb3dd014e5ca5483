"""A warm process that forks container supervisors: ~2 ms per start instead of a fresh interpreter's ~40 ms.

Starting Python and importing the supervisor dominated a pod's CPU cost on the kubelet's node. The launcher
imports supervise.py once, then forks one supervisor per request line (a container directory) on stdin and
answers the supervisor's pid on stdout. Each supervisor gets its own session, so it keeps running when the
launcher or kubeshim goes, exactly as a supervisor started directly would; the launcher reaps the ones that
end while it lives. It exits when kubeshim closes its stdin.

Run as `python -S -m shim.kubelet.runtime.launcher` (stdlib and supervise.py only: it must start fast).
"""
from __future__ import annotations

import os
import signal
import sys

from shim.kubelet.runtime import supervise


def _reap(*_: object) -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _become_supervisor(cdir: str) -> None:
    """In the forked child: a session of its own, log to supervisor.log, then supervise; never returns."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        os.chdir(cdir)
        log = os.open("supervisor.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(null)
        os.close(log)
        code = supervise.run(cdir)
    finally:
        os._exit(code)


def main() -> None:
    signal.signal(signal.SIGCHLD, _reap)
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    for line in requests:
        cdir = line.decode().strip()
        if not cdir:
            continue
        pid = os.fork()
        if pid == 0:
            _become_supervisor(cdir)
        answers.write(b"%d\n" % pid)
        answers.flush()


if __name__ == "__main__":
    main()
