"""What some subresource handlers need from outside the registry, provided by whoever runs it.

pods/log reads the files of the kubelet of this process, metrics.k8s.io reads its resource usage figures,
serviceaccounts/token signs with the server's
service-account key, and the review kinds ask the authenticator and the authorizer. The registry defines only
the shape of each; shim.cli.cluster wires the server's implementations in, and a handler whose service is
missing answers 503.
"""
from __future__ import annotations

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
    tokens: TokenSigner | None = None
    reviews: AccessReviewer | None = None
