"""What some subresource handlers need from outside the registry, provided by whoever runs it.

pods/log reads the files of the kubelet of this process, serviceaccounts/token signs with the authenticator's
key, and the review kinds ask the authorizer. The registry defines only the shape of each; shim.cli.cluster
wires the server's implementations in, and a handler whose service is missing answers 503.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from shim.machinery.users import User

Obj = dict[str, Any]

#: (pod, PodLogOptions as a query) -> the log's byte stream; raises StatusError before the first byte
PodLogs = Callable[[Obj, Mapping[str, str]], Awaitable[AsyncIterator[bytes]]]


class TokenIssuer(Protocol):
    def token_request(self, sa: Obj, request: Obj) -> Obj:
        """The TokenRequest `request` for service account `sa`, answered with a signed token."""
        ...


class AccessReviewer(Protocol):
    def review(self, user: User, plural: str, body: Obj) -> Obj:
        """The review `body` (of the review resource `plural`) asked by `user`, answered."""
        ...


@dataclass
class Services:
    #: set once the kubelet of this process runs (shim.kubelet.agent); None: no kubelet here
    pod_logs: PodLogs | None = None
    tokens: TokenIssuer | None = None
    reviews: AccessReviewer | None = None
