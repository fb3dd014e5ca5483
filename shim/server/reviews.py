"""The review kinds' answers from authentication and RBAC: the AccessReviewer service of their handler
(shim.registry.subresources.reviews)."""
from __future__ import annotations

from typing import Any

from shim.machinery import errors
from shim.machinery.users import User
from shim.server.auth import Authorizer

Obj = dict[str, Any]


def _decide(authorizer: Authorizer, user: User, spec: Obj) -> Obj:
    attrs = spec.get("resourceAttributes")
    if attrs is not None and not isinstance(attrs, dict):
        raise errors.bad_request("spec.resourceAttributes must be an object")
    if attrs:
        resource = attrs.get("resource", "") + (f"/{attrs['subresource']}" if attrs.get("subresource") else "")
        allowed = user.is_master or authorizer.allows(user, attrs.get("verb", ""), attrs.get("group", ""),
                                                      resource, attrs.get("namespace", ""), attrs.get("name", ""))
    elif spec.get("nonResourceAttributes"):
        allowed = user.is_master or user.name != "system:anonymous"
    else:
        raise errors.invalid("SelfSubjectAccessReview", "", [errors.field_required(
            "spec.resourceAttributes", "exactly one of nonResourceAttributes or resourceAttributes must be "
            "specified")], "authorization.k8s.io")
    status: Obj = {"allowed": allowed}
    if allowed:
        status["reason"] = "allowed by system:masters" if user.is_master else "allowed by RBAC"
    return status


class AccessReviews:
    """shim.registry.services.AccessReviewer over this server's authorizer."""

    def __init__(self, authorizer: Authorizer) -> None:
        self.authorizer = authorizer

    def review(self, user: User, plural: str, body: Obj) -> Obj:
        """The review answered: the request echoed back with its status filled in."""
        spec = body.get("spec") or {}
        if not isinstance(spec, dict):
            raise errors.bad_request("spec must be an object")
        out = {"kind": body.get("kind"), "apiVersion": body.get("apiVersion"),
               "metadata": {"creationTimestamp": None}, "spec": spec}
        if plural == "selfsubjectreviews":
            out["status"] = {"userInfo": {"username": user.name, "groups": list(user.groups), "uid": user.uid}}
            return out
        if plural == "subjectaccessreviews":
            if not user.is_master and not self.authorizer.allows(user, "create", "authorization.k8s.io",
                                                                 "subjectaccessreviews", "", ""):
                raise errors.forbidden("subjectaccessreviews", "", f'User "{user.name}" cannot create resource '
                                       '"subjectaccessreviews" in API group "authorization.k8s.io" at the '
                                       'cluster scope', "authorization.k8s.io")
            user = User(spec.get("user", ""), tuple(spec.get("groups") or ()), spec.get("uid", ""))
        out["status"] = _decide(self.authorizer, user, spec)
        return out
