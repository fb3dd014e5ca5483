"""What some subresource handlers need from outside the registry, provided by whoever runs it.

pods/log reads the files of the kubelet of this process, serviceaccounts/token signs with the server's
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
    tokens: TokenSigner | None = None
    reviews: AccessReviewer | None = None
