"""The review kinds' answers from authentication and RBAC: the AccessReviewer service of their handler
(shim.registry.subresources.reviews)."""
from __future__ import annotations

from typing import Any

from shim.machinery import errors, timeutil
from shim.machinery.users import User
from shim.server.auth import Authenticator, Authorizer
from shim.server.satokens import InvalidToken, NotServiceAccountToken

Obj = dict[str, Any]
INVALID = "invalid bearer token"


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


def _user_info(user: User) -> Obj:
    """authentication.k8s.io UserInfo (uid and extra left out when empty, as upstream's omitempty)."""
    info: Obj = {"username": user.name}
    if user.uid:
        info["uid"] = user.uid
    info["groups"] = list(user.groups)
    if user.extra:
        info["extra"] = {k: list(v) for k, v in user.extra.items()}
    return info


class AccessReviews:
    """shim.registry.services.AccessReviewer over this server's authenticator and authorizer."""

    def __init__(self, authorizer: Authorizer, authenticator: Authenticator) -> None:
        self.authorizer = authorizer
        self.authenticator = authenticator

    def review(self, user: User, plural: str, body: Obj) -> Obj:
        """The review answered: the request echoed back with its status filled in."""
        spec = body.get("spec") or {}
        if not isinstance(spec, dict):
            raise errors.bad_request("spec must be an object")
        if plural == "selfsubjectreviews":
            return {"kind": body.get("kind"), "apiVersion": body.get("apiVersion"),
                    "metadata": {"creationTimestamp": timeutil.now_string()},
                    "status": {"userInfo": _user_info(user)}}
        if plural == "tokenreviews":
            return {"kind": body.get("kind"), "apiVersion": body.get("apiVersion"),
                    "metadata": body.get("metadata") or {}, "spec": spec, "status": self._token_review(spec)}
        out = {"kind": body.get("kind"), "apiVersion": body.get("apiVersion"),
               "metadata": {"creationTimestamp": None}, "spec": spec}
        if plural == "subjectaccessreviews":
            if not user.is_master and not self.authorizer.allows(user, "create", "authorization.k8s.io",
                                                                 "subjectaccessreviews", "", ""):
                raise errors.forbidden("subjectaccessreviews", "", f'User "{user.name}" cannot create resource '
                                       '"subjectaccessreviews" in API group "authorization.k8s.io" at the '
                                       'cluster scope', "authorization.k8s.io")
            user = User(spec.get("user", ""), tuple(spec.get("groups") or ()), spec.get("uid", ""))
        out["status"] = _decide(self.authorizer, user, spec)
        return out

    def _token_review(self, spec: Obj) -> Obj:
        """Who spec.token stands for, for which of spec.audiences (by default the API server's)."""
        token = spec.get("token")
        if not isinstance(token, str) or not token:
            raise errors.bad_request("token is required for TokenReview in authentication")
        requested = spec.get("audiences") or []
        if not isinstance(requested, list) or not all(isinstance(a, str) for a in requested):
            raise errors.bad_request("spec.audiences must be a list of strings")
        accounts = self.authenticator.service_accounts
        implicit = accounts.authority.audiences if accounts is not None else ()
        wanted = tuple(requested) or implicit
        static = self.authenticator.tokens.get(token)
        try:
            if static is not None:
                # a static token is for this API server, whichever of its audiences is asked for
                granted = [a for a in implicit if a in wanted] if wanted else []
                if wanted and not granted:
                    raise NotServiceAccountToken()
                user = static
            elif accounts is not None:
                user, granted = accounts.review(token, wanted)
            else:
                raise NotServiceAccountToken()
        except NotServiceAccountToken:
            return {"user": {}, "error": INVALID}
        except InvalidToken as err:
            # upstream's union of authenticators: the bearer token was invalid, and the one that knew it said why
            return {"user": {}, "error": f"[{INVALID}, {err}]"}
        status: Obj = {"authenticated": True, "user": _user_info(user)}
        if granted:
            status["audiences"] = granted
        return status
