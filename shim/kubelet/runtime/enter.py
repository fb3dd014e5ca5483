"""Putting a command where a running container's program is: its user (when it has one), mount and UTS
namespaces, working directory and identity, entered in the forked child just before exec (setns(2), as nsenter
does it), so that a command that cannot be found or run there fails to start, which the caller sees as an OSError
of the spawn: upstream's runtime reports that as a failure to start the exec (an internal error on the stream),
not as an exit code of a helper.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
from typing import Any

#: the container's namespaces a command joins, the user namespace first (it grants the rights to join the others)
NAMESPACES = (("user", "user"), ("mount", "mnt"), ("mount", "uts"))


class Entry:
    """Open handles on a container's namespaces and what to become there; call it in the child (preexec)."""

    def __init__(self, pid: int, sandbox: dict[str, Any] | None, user: dict[str, Any] | None,
                 cwd: str | None) -> None:
        self.cwd = cwd
        self.user = user
        self.fds: list[int] = []
        self._setns = ctypes.CDLL(None, use_errno=True).setns
        try:
            if sandbox:
                for needs, name in NAMESPACES:
                    if needs == "mount" or sandbox.get("mode") == "user":
                        self.fds.append(os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC))
        except OSError:
            self.close()
            raise

    def __call__(self) -> None:
        """In the child, before exec: join the namespaces (the mount namespace's root becomes the root), go to the
        working directory there and take the container's identity."""
        for fd in self.fds:
            if self._setns(fd, 0) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns: {os.strerror(err)}")
        if self.cwd:
            os.chdir(self.cwd)
        if self.user:
            os.setgroups(self.user.get("groups") or [self.user["gid"]])
            os.setgid(self.user["gid"])
            os.setuid(self.user["uid"])

    def close(self) -> None:
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds = []
