"""What some subresource handlers need from outside the registry, provided by whoever runs it.

pods/log reads the files of the kubelet of this process, pods/exec, pods/attach and pods/portforward reach its
containers, metrics.k8s.io reads its resource usage figures, serviceaccounts/token signs with the server's
service-account key, and the review kinds ask the authenticator and the authorizer. The registry defines only
the shape of each; shim.cli.cluster wires the server's implementations in, and a handler whose service is
missing answers 503.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from shim.machinery.users import User

Obj = dict[str, Any]

#: (pod, PodLogOptions as a query) -> the log's byte stream; raises StatusError before the first byte
PodLogs = Callable[[Obj, Mapping[str, str]], Awaitable[AsyncIterator[bytes]]]


@dataclass(frozen=True)
class Usage:
    """Resource usage as metrics-server reports it: CPU in nanocores averaged over the `window` seconds that end at
    `timestamp` (a Unix time), memory as the working set in bytes at `timestamp`."""

    timestamp: float
    window: float
    cpu: int
    memory: int


class UsageSource(Protocol):
    """The resource usage a kubelet measures (shim.kubelet.stats.StatsCollector)."""

    def node(self, name: str) -> Usage | None:
        """Node `name`'s usage; None when this kubelet does not run it or has no figures yet."""
        ...

    def pod(self, pod: Obj) -> dict[str, Usage] | None:
        """The usage of each running container of `pod` by name; None when it has none to report."""
        ...



class Writable(Protocol):
    """Where a command's stdin goes (an asyncio.StreamWriter, or a terminal)."""

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def close(self) -> None: ...


class Execution(Protocol):
    """A command started in a container (exec) or the container's own program (attach), with the streams the
    caller asked for (None otherwise). With a TTY, stdout carries the terminal's output and there is no stderr."""

    @property
    def stdin(self) -> Writable | None: ...

    @property
    def stdout(self) -> asyncio.StreamReader | None: ...

    @property
    def stderr(self) -> asyncio.StreamReader | None: ...

    async def wait(self) -> int:
        """The exit code, once it has ended (for attach: once the client may go, the container still runs)."""
        ...

    def kill(self) -> None:
        """End it: the command and everything it started (for attach: detach, the container runs on)."""
        ...

    def resize(self, width: int, height: int) -> None:
        """The terminal's new size (nothing without a TTY)."""
        ...


class Unreachable(Exception):
    """The kubelet cannot serve the stream (the container is not running): upstream's kubelet answers a 500 with
    this text before any upgrade, which the API server passes on."""


class CommandFailed(Exception):
    """The container runs but the command could not start: reported once the streams are open, as an internal
    error on the error stream."""


#: how to start a command once its streams are open; raises CommandFailed
Starter = Callable[[], Awaitable[Execution]]
#: (pod, container, command, stdin, tty) -> its starter, once the container is found running (else Unreachable)
ExecInContainer = Callable[[Obj, str, list[str], bool, bool], Starter]
#: (pod, container, stdin) -> the starter of a session with the container's own streams; raises Unreachable
AttachToContainer = Callable[[Obj, str, bool], Starter]
#: (pod, port) -> a connection to what listens on the pod's port; raises OSError with the reason
DialPod = Callable[[Obj, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


class TokenSigner(Protocol):
    """Signs the claims serviceaccounts/token built (shim.server.satokens.TokenAuthority)."""

    @property
    def issuer(self) -> str:
        """The `iss` of the tokens it signs."""
        ...

    @property
    def audiences(self) -> tuple[str, ...]:
        """The API server's audiences: a token request without audiences gets these."""
        ...

    def sign(self, claims: Obj) -> str:
        """The signed JWT of `claims`."""
        ...


class AccessReviewer(Protocol):
    def review(self, user: User, plural: str, body: Obj) -> Obj:
        """The review `body` (of the review resource `plural`) asked by `user`, answered."""
        ...


@dataclass
class Services:
    #: set once the kubelet of this process runs (shim.kubelet.agent); None: no kubelet here
    pod_logs: PodLogs | None = None
    #: set once the kubelet of this process runs, as pod_logs
    usage: UsageSource | None = None
    exec_in: ExecInContainer | None = None
    attach_to: AttachToContainer | None = None
    dial_pod: DialPod | None = None
    tokens: TokenSigner | None = None
    reviews: AccessReviewer | None = None
