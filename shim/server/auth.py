"""Bearer-token authentication and RBAC authorization.

Static tokens (the admin's, written to the kubeconfig) live in DIR/tokens.json. Service-account tokens are
HMAC-signed by a key in DIR and issued through serviceaccounts/token. Authorization follows the stored RBAC
objects; `system:masters` may do everything, as upstream.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request

from shim.machinery import errors
from shim.machinery.users import MASTERS, User
from shim.registry.generic import Registry
from shim.registry.resource import ResourceInfo
from shim.server.paths import Target

Obj = dict[str, Any]


ANONYMOUS = User("system:anonymous", ("system:unauthenticated",))


@dataclass
class Authenticator:
    """Maps a bearer token to a user."""

    tokens: dict[str, User] = field(default_factory=dict)
    signing_key: bytes = b""

    @classmethod
    def load(cls, data_dir: Path) -> "Authenticator":
        """Read (or create on first start) the admin token and the service-account signing key."""
        token_file = data_dir / "tokens.json"
        key_file = data_dir / "sa-signing.key"
        if not token_file.exists():
            token_file.write_text(json.dumps({secrets.token_urlsafe(32): {"user": "kubeshim-admin",
                                                                          "groups": [MASTERS]}}, indent=2))
            token_file.chmod(0o600)
        if not key_file.exists():
            key_file.write_bytes(secrets.token_bytes(32))
            key_file.chmod(0o600)
        tokens = {t: User(v["user"], tuple(v.get("groups", [])) + ("system:authenticated",))
                  for t, v in json.loads(token_file.read_text()).items()}
        return cls(tokens, key_file.read_bytes())

    def admin_token(self) -> str:
        for token, user in self.tokens.items():
            if user.is_master:
                return token
        raise LookupError("no admin token")

    def user_named(self, name: str) -> User:
        """The tokens.json user called `name` (LookupError when there is none)."""
        for user in self.tokens.values():
            if user.name == name:
                return user
        raise LookupError(f"no user {name!r} in tokens.json")

    def authenticate(self, request: Request) -> User:
        header = request.headers.get("authorization", "")
        if not header:
            return ANONYMOUS
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise errors.unauthorized()
        user = self.user_for_token(token.strip())
        if user is None:
            raise errors.unauthorized()
        return user

    def user_for_token(self, token: str) -> User | None:
        """The user a bearer token (static or service-account) stands for, None when it is not valid."""
        return self.tokens.get(token) or self._service_account(token)

    def issue(self, namespace: str, name: str, uid: str, seconds: int) -> tuple[str, int]:
        expires = int(time.time()) + seconds
        payload = base64.urlsafe_b64encode(orjson.dumps({"ns": namespace, "sa": name, "uid": uid, "exp": expires}))
        sig = hmac.new(self.signing_key, payload, hashlib.sha256).hexdigest()
        return f"kubeshim.{payload.decode().rstrip('=')}.{sig}", expires

    def _service_account(self, token: str) -> User | None:
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != "kubeshim":
            return None
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        expected = hmac.new(self.signing_key, payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts[2]):
            return None
        try:
            claims = orjson.loads(base64.urlsafe_b64decode(payload))
        except (ValueError, orjson.JSONDecodeError):
            return None
        if claims.get("exp", 0) < time.time():
            return None
        ns, name = claims["ns"], claims["sa"]
        return User(f"system:serviceaccount:{ns}:{name}",
                    ("system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"),
                    claims.get("uid", ""))

    def token_request(self, sa: Obj, request: Obj) -> Obj:
        """serviceaccounts/token: a TokenRequest answered with a signed token."""
        spec = request.get("spec") or {}
        seconds = int(spec.get("expirationSeconds") or 3600)
        if seconds < 600:
            raise errors.invalid("TokenRequest", sa["metadata"]["name"], [errors.field_invalid(
                "spec.expirationSeconds", seconds, "may not specify a duration less than 10 minutes")],
                "authentication.k8s.io")
        meta = sa["metadata"]
        token, expires = self.issue(meta["namespace"], meta["name"], meta.get("uid", ""), seconds)
        stamp = dt.datetime.fromtimestamp(expires, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
                "spec": {**spec, "expirationSeconds": seconds}, "status": {"token": token,
                                                                           "expirationTimestamp": stamp}}


class Authorizer:
    """RBAC over the stored roles and bindings (plus the built-in powers of system:masters)."""

    def __init__(self, registry: Registry, catalog: Any) -> None:
        self.registry = registry
        self.catalog = catalog

    def authorize(self, user: User, verb: str, info: ResourceInfo, target: Target) -> None:
        if user.is_master:
            return
        if user is ANONYMOUS or user.name == ANONYMOUS.name:
            raise errors.forbidden(info.plural, target.name, f'User "{user.name}" cannot {verb} resource '
                                   f'"{info.plural}" in API group "{info.group}"'
                                   + (f' in the namespace "{target.namespace}"' if target.namespace else
                                      " at the cluster scope"), info.group)
        resource = info.plural + (f"/{target.subresource}" if target.subresource else "")
        if self.allows(user, verb, info.group, resource, target.namespace, target.name):
            return
        scope = f' in the namespace "{target.namespace}"' if target.namespace else " at the cluster scope"
        raise errors.forbidden(resource, target.name, f'User "{user.name}" cannot {verb} resource "{resource}" '
                               f'in API group "{info.group}"{scope}', info.group)

    def _objects(self, plural: str) -> list[Obj]:
        info = self.catalog.lookup("rbac.authorization.k8s.io", "v1", plural)
        return [orjson.loads(e.raw) for _, _, e in self.registry.store.items(info.storage)]

    def allows(self, user: User, verb: str, group: str, resource: str, namespace: str, name: str) -> bool:
        for binding in self._objects("clusterrolebindings"):
            if _binds(binding, user):
                role = self._role(binding.get("roleRef") or {}, "")
                if role and _rules_allow(role, verb, group, resource, name):
                    return True
        if namespace:
            for binding in self._objects("rolebindings"):
                if binding["metadata"].get("namespace") == namespace and _binds(binding, user):
                    role = self._role(binding.get("roleRef") or {}, namespace)
                    if role and _rules_allow(role, verb, group, resource, name):
                        return True
        return False

    def _role(self, ref: Obj, namespace: str) -> Obj | None:
        kind = ref.get("kind")
        if kind == "ClusterRole":
            entry = self.registry.store.get("rbac.authorization.k8s.io/clusterroles", "", ref.get("name", ""))
        elif kind == "Role" and namespace:
            entry = self.registry.store.get("rbac.authorization.k8s.io/roles", namespace, ref.get("name", ""))
        else:
            return None
        return orjson.loads(entry.raw) if entry else None


def _binds(binding: Obj, user: User) -> bool:
    namespace = binding["metadata"].get("namespace", "")
    for subject in binding.get("subjects") or []:
        kind, name = subject.get("kind"), subject.get("name")
        if kind == "User" and name == user.name:
            return True
        if kind == "Group" and name in user.groups:
            return True
        if kind == "ServiceAccount":
            ns = subject.get("namespace") or namespace
            if user.name == f"system:serviceaccount:{ns}:{name}":
                return True
    return False


def _rules_allow(role: Obj, verb: str, group: str, resource: str, name: str) -> bool:
    for rule in role.get("rules") or []:
        if not (set(rule.get("verbs") or []) & {verb, "*"}):
            continue
        if not (set(rule.get("apiGroups") or []) & {group, "*"}):
            continue
        resources = set(rule.get("resources") or [])
        base = resource.split("/")[0]
        if not (resource in resources or "*" in resources or (
                "/" in resource and f"*/{resource.split('/', 1)[1]}" in resources) or
                ("/" not in resource and base in resources)):
            continue
        names = rule.get("resourceNames") or []
        if names and name not in names:
            continue
        return True
    return False


def impersonate(request: Request, user: User, authorizer: Authorizer) -> User:
    """Impersonate-User/-Group headers (kubectl --as/--as-group): allowed to those who may `impersonate`."""
    name = request.headers.get("impersonate-user")
    if not name:
        return user
    if not user.is_master and not authorizer.allows(user, "impersonate", "", "users", "", name):
        raise errors.forbidden("users", name, f'User "{user.name}" cannot impersonate resource "users" in API '
                               f'group "" at the cluster scope')
    groups = tuple(v.strip() for k, v in request.headers.items() if k == "impersonate-group")
    if name.startswith("system:serviceaccount:"):
        ns = name.split(":")[2]
        groups += ("system:serviceaccounts", f"system:serviceaccounts:{ns}")
    return User(name, groups + ("system:authenticated",), request.headers.get("impersonate-uid", ""))
