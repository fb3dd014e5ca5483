"""Kubernetes' CEL authorizer library (k8s.io/apiserver pkg/cel/library/authz.go): `authorizer.group('apps')
.resource('deployments').namespace('ns').check('create').allowed()`, `authorizer.path('/healthz').check('get')`,
`authorizer.serviceAccount('ns', 'sa')...`, `authorizer.requestResource.check('delete')`: its types and overloads
for the checker, and values for cel-python whose checks ask a `Decide` function (the server's RBAC).

Simplified from upstream: field and label selectors are accepted but not passed on (kubeshim's RBAC does not read
them)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from celpy import celtypes as ct

from shim.machinery.cel import types as t
from shim.machinery.cel.declarations import Overload
from shim.machinery.users import User

AUTHORIZER = t.object_type("kubernetes.authorization.Authorizer", {})
PATH_CHECK = t.object_type("kubernetes.authorization.PathCheck", {})
GROUP_CHECK = t.object_type("kubernetes.authorization.GroupCheck", {})
RESOURCE_CHECK = t.object_type("kubernetes.authorization.ResourceCheck", {})
DECISION = t.object_type("kubernetes.authorization.Decision", {})


def _m(*sig: t.Type) -> Overload:
    return Overload(tuple(sig[:-1]), sig[-1], member=True)


DECLARATIONS: dict[str, list[Overload]] = {
    "path": [_m(AUTHORIZER, t.STRING, PATH_CHECK)],
    "group": [_m(AUTHORIZER, t.STRING, GROUP_CHECK)],
    "serviceAccount": [_m(AUTHORIZER, t.STRING, t.STRING, AUTHORIZER)],
    "resource": [_m(GROUP_CHECK, t.STRING, RESOURCE_CHECK)],
    "subresource": [_m(RESOURCE_CHECK, t.STRING, RESOURCE_CHECK)],
    "namespace": [_m(RESOURCE_CHECK, t.STRING, RESOURCE_CHECK)],
    "name": [_m(RESOURCE_CHECK, t.STRING, RESOURCE_CHECK)],
    "fieldSelector": [_m(RESOURCE_CHECK, t.STRING, RESOURCE_CHECK)],
    "labelSelector": [_m(RESOURCE_CHECK, t.STRING, RESOURCE_CHECK)],
    "check": [_m(PATH_CHECK, t.STRING, DECISION), _m(RESOURCE_CHECK, t.STRING, DECISION)],
    "allowed": [_m(DECISION, t.BOOL)],
    "reason": [_m(DECISION, t.STRING)],
    "errored": [_m(DECISION, t.BOOL)],
    "error": [_m(DECISION, t.STRING)],
}

#: (user, the attributes of a SubjectAccessReview spec: resourceAttributes or nonResourceAttributes) -> its
#: status (allowed, reason, evaluationError)
Decide = Callable[[User, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Authorizer:
    decide: Decide
    user: User

    def service_account(self, namespace: str, name: str) -> "Authorizer":
        """serviceaccount.ServiceAccountInfo's user."""
        return replace(self, user=User(f"system:serviceaccount:{namespace}:{name}",
                                       ("system:serviceaccounts", f"system:serviceaccounts:{namespace}")))


class Variable(ct.MapType):
    """The `authorizer` variable as cel-python reads it: the authorizer of the request's user, whose
    `requestResource` is the check of the request's own resource (a map, so that selecting it works)."""

    def __init__(self, authorizer: Authorizer, request_resource: "ResourceCheck") -> None:
        super().__init__({ct.StringType("requestResource"): request_resource})
        self.authorizer = authorizer


def _authorizer(value: Any) -> Authorizer:
    return value.authorizer if isinstance(value, Variable) else value


@dataclass(frozen=True)
class PathCheck:
    authorizer: Authorizer
    path: str


@dataclass(frozen=True)
class GroupCheck:
    authorizer: Authorizer
    group: str


@dataclass(frozen=True)
class ResourceCheck:
    authorizer: Authorizer
    group: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    error: str


def _decision(authorizer: Authorizer, attributes: dict[str, Any]) -> Decision:
    status = authorizer.decide(authorizer.user, attributes)
    return Decision(bool(status.get("allowed")), str(status.get("reason") or ""),
                    str(status.get("evaluationError") or ""))


def _check(target: PathCheck | ResourceCheck, verb: str) -> Decision:
    if isinstance(target, PathCheck):
        return _decision(target.authorizer, {"nonResourceAttributes": {"path": target.path, "verb": str(verb)}})
    attributes = {"group": target.group, "version": "*", "resource": target.resource,
                  "subresource": target.subresource, "namespace": target.namespace, "name": target.name,
                  "verb": str(verb)}
    return _decision(target.authorizer, {"resourceAttributes": {k: v for k, v in attributes.items() if v}})


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "path": lambda a, path: PathCheck(_authorizer(a), str(path)),
    "group": lambda a, group: GroupCheck(_authorizer(a), str(group)),
    "serviceAccount": lambda a, namespace, name: _authorizer(a).service_account(str(namespace), str(name)),
    "resource": lambda g, resource: ResourceCheck(g.authorizer, g.group, str(resource)),
    "subresource": lambda r, value: replace(r, subresource=str(value)),
    "namespace": lambda r, value: replace(r, namespace=str(value)),
    "name": lambda r, value: replace(r, name=str(value)),
    "fieldSelector": lambda r, _: r,
    "labelSelector": lambda r, _: r,
    "check": _check,
    "allowed": lambda d: ct.BoolType(d.allowed),
    "reason": lambda d: ct.StringType(d.reason),
    "errored": lambda d: ct.BoolType(bool(d.error)),
    "error": lambda d: ct.StringType(d.error),
}
