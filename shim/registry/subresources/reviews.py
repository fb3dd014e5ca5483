"""The review kinds (SelfSubjectAccessReview, SubjectAccessReview, SelfSubjectReview, TokenReview): create-only
virtual resources answered by the authenticator and the authorizer, never stored.

`kubectl auth can-i` posts a SelfSubjectAccessReview, `kubectl auth whoami` a SelfSubjectReview; controllers
post SubjectAccessReviews about other users, and TokenReviews to learn who a bearer token stands for.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from shim.machinery import errors, managed_fields
from shim.registry.options import WriteOptions, Written
from shim.registry.strategy import Obj
from shim.registry.subresource import Subresource, metadata_of

if TYPE_CHECKING:
    from shim.registry.resource import ResourceInfo
    from shim.registry.rest import Verbs


class AccessReview(Subresource):
    verbs = ("create",)
    views = False

    async def create(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str, body: Obj,
                     opts: WriteOptions) -> Written:
        if verbs.services.reviews is None or opts.user is None:
            raise errors.unavailable(f"{info.plural} are not answered in this process")
        body.setdefault("kind", info.kind)
        body.setdefault("apiVersion", info.api_version)
        return Written(verbs.services.reviews.review(opts.user, info.plural, body))


class TokenReview(AccessReview):
    """A review whose answer echoes the request's metadata, with the managedFields of its writer, as upstream's
    TokenReview does."""

    async def create(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str, body: Obj,
                     opts: WriteOptions) -> Written:
        metadata_of(body)
        managed_fields.update(info.strategy.field_types(info.api_version, info.kind), None, body, opts.manager)
        return await super().create(verbs, info, namespace, name, body, opts)
