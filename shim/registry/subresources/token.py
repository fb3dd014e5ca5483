"""serviceaccounts/{name}/token: a TokenRequest answered with a token signed for the service account."""
from __future__ import annotations

from typing import TYPE_CHECKING

from shim.machinery import errors
from shim.registry.options import WriteOptions, Written
from shim.registry.strategy import Obj
from shim.registry.subresource import Kind, Subresource

if TYPE_CHECKING:
    from shim.registry.resource import ResourceInfo
    from shim.registry.rest import Verbs


class Token(Subresource):
    name = "token"
    verbs = ("create",)
    kind = Kind("authentication.k8s.io", "v1", "TokenRequest")

    async def create(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str, body: Obj,
                     opts: WriteOptions) -> Written:
        account = verbs.registry.get(info, namespace, name)
        if verbs.services.tokens is None:
            raise errors.unavailable("service account tokens are not issued in this process")
        return Written(verbs.services.tokens.token_request(account, body))
