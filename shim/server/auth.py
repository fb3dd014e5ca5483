"""Bearer-token authentication and RBAC authorization.

Static tokens (the admin's, written to the kubeconfig) live in DIR/tokens.json. Service-account tokens are the
JWTs kube-apiserver issues (serviceaccounts/token, the token controller's Secrets), signed and verified by
shim.server.satokens and checked against the objects they name, as upstream's service-account authenticator
does. Authorization follows the stored RBAC objects; `system:masters` may do everything, as upstream.
"""
from __future__ import annotations

import base64
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request

from shim.machinery import errors, satokens, timeutil
from shim.machinery.users import MASTERS, User
from shim.registry.generic import Registry
from shim.registry.resource import ResourceInfo
from shim.server.paths import Target
from shim.server.satokens import InvalidToken, TokenAuthority

Obj = dict[str, Any]
#: (plural of a core v1 resource, namespace, name) -> the stored object, None when there is none
Lookup = Callable[[str, str, str], Obj | None]

log = logging.getLogger(__name__)

ANONYMOUS = User("system:anonymous", ("system:unauthenticated",))
AUTHENTICATED = "system:authenticated"
#: a Secret labelled so no longer authenticates with its legacy token (upstream's LegacyServiceAccountTokenCleanUp)
INVALID_SINCE = "kubernetes.io/legacy-token-invalid-since"


def _go_quoted(values: list[str]) -> str:
    """A list of strings as Go's %q prints it (in upstream's messages)."""
    return "[" + " ".join(json.dumps(v) for v in values) + "]"


def _deleted_before(obj: Obj, moment: float) -> bool:
    stamp = (obj.get("metadata") or {}).get("deletionTimestamp")
    return isinstance(stamp, str) and timeutil.parse_time(stamp).timestamp() < moment


@dataclass
class ServiceAccountTokens:
    """Who a service-account JWT stands for, once its signature, times, audience and the objects it names
    (the account with its uid; the pod, secret or node it is bound to; a legacy token's Secret holding it)
    all hold."""

    authority: TokenAuthority
    lookup: Lookup

    def user(self, token: str) -> User | None:
        """The user `token` stands for on this API server, None when it is not a valid token for it."""
        try:
            return self.review(token, self.authority.audiences)[0]
        except InvalidToken as err:
            log.debug("service account token refused: %s", err)
            return None

    def review(self, token: str, audiences: tuple[str, ...]) -> tuple[User, list[str]]:
        """The user of `token` and which of `audiences` it is meant for (at least one); InvalidToken saying why
        not otherwise."""
        claims = self.authority.verify(token, (*self.authority.issuers, satokens.LEGACY_ISSUER))
        aud = claims.get("aud") if claims.get("iss") != satokens.LEGACY_ISSUER else None
        meant = [aud] if isinstance(aud, str) else list(aud or []) or list(self.authority.audiences)
        granted = [a for a in meant if a in audiences]
        if not granted:
            raise InvalidToken(f"token audiences {_go_quoted(meant)} is invalid for the target audiences "
                               f"{_go_quoted(list(audiences))}")
        if claims.get("iss") == satokens.LEGACY_ISSUER:
            return self._legacy(token, claims), granted
        return self._bound(claims), granted

    def _account(self, namespace: str, name: str, uid: str) -> Obj:
        account = self.lookup("serviceaccounts", namespace, name)
        if account is None:
            raise InvalidToken(f'serviceaccounts "{name}" not found')
        if account["metadata"].get("uid") != uid:
            raise InvalidToken(f"service account UID ({account['metadata'].get('uid')}) does not match claim "
                               f"({uid})")
        return account

    def _bound(self, claims: Obj) -> User:
        private = claims.get("kubernetes.io")
        if not isinstance(private, dict) or not isinstance(private.get("serviceaccount"), dict):
            raise InvalidToken("service account claims are missing")
        namespace, ref = str(private.get("namespace") or ""), private["serviceaccount"]
        leeway = time.time() - satokens.LEEWAY
        account = self._account(namespace, str(ref.get("name") or ""), str(ref.get("uid") or ""))
        if _deleted_before(account, leeway):
            raise InvalidToken(f"service account {namespace}/{ref.get('name')} has been deleted")
        bound = [(plural, private[key]) for plural, key in (("secrets", "secret"), ("pods", "pod"))
                 if isinstance(private.get(key), dict)]
        if "pod" not in private and isinstance(private.get("node"), dict):
            bound.append(("nodes", private["node"]))
        for plural, bound_ref in bound:
            obj = self.lookup(plural, "" if plural == "nodes" else namespace, str(bound_ref.get("name") or ""))
            if obj is None:
                raise InvalidToken("service account token has been invalidated")
            if obj["metadata"].get("uid") != bound_ref.get("uid"):
                kind = plural.removesuffix("s")
                raise InvalidToken(f"{kind} UID ({obj['metadata'].get('uid')}) does not match service account "
                                   f"{kind} ref claim ({bound_ref.get('uid')})")
            if _deleted_before(obj, leeway):
                raise InvalidToken("service account token has been invalidated")
        return User(satokens.username(namespace, ref["name"]), (*satokens.groups(namespace), AUTHENTICATED),
                    str(ref.get("uid") or ""), satokens.user_extra(claims))

    def _legacy(self, token: str, claims: Obj) -> User:
        keys = satokens.LEGACY_KEYS
        namespace, secret_name, name, uid = (str(claims.get(keys[k]) or "") for k in
                                             ("namespace", "secret", "name", "uid"))
        if not (claims.get("sub") and namespace and secret_name and name and uid):
            raise InvalidToken("a legacy token claim is missing")
        if claims["sub"] != satokens.username(namespace, name):
            raise InvalidToken("sub claim is invalid")
        secret = self.lookup("secrets", namespace, secret_name)
        if secret is None or secret["metadata"].get("deletionTimestamp"):
            raise InvalidToken("Token has been invalidated")
        try:
            stored = base64.b64decode((secret.get("data") or {}).get("token") or "")
        except ValueError:
            stored = b""
        if not hmac.compare_digest(stored, token.encode()):
            raise InvalidToken("Token does not match server's copy")
        account = self._account(namespace, name, uid)
        if account["metadata"].get("deletionTimestamp"):
            raise InvalidToken(f"ServiceAccount {namespace}/{name} has been deleted")
        if (secret["metadata"].get("labels") or {}).get(INVALID_SINCE):
            raise InvalidToken(f"the token in secret {namespace}/{secret_name} has been marked invalid")
        return User(satokens.username(namespace, name), (*satokens.groups(namespace), AUTHENTICATED), uid)


@dataclass
class Authenticator:
    """Maps a bearer token to a user."""

    tokens: dict[str, User] = field(default_factory=dict)
    #: None: service-account tokens are not accepted (a process with no store, like `kubeshim login-url`)
    service_accounts: ServiceAccountTokens | None = None

    @classmethod
    def load(cls, data_dir: Path, service_accounts: ServiceAccountTokens | None = None) -> "Authenticator":
        """Read (or create on first start) the admin token."""
        token_file = data_dir / "tokens.json"
        if not token_file.exists():
            token_file.write_text(json.dumps({secrets.token_urlsafe(32): {"user": "kubeshim-admin",
                                                                          "groups": [MASTERS]}}, indent=2))
            token_file.chmod(0o600)
        tokens = {t: User(v["user"], tuple(v.get("groups", [])) + (AUTHENTICATED,))
                  for t, v in json.loads(token_file.read_text()).items()}
        return cls(tokens, service_accounts)

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
        user = self.tokens.get(token)
        if user is None and self.service_accounts is not None:
            user = self.service_accounts.user(token)
        return user


class Authorizer:
    """RBAC over the stored roles and bindings (plus the built-in powers of system:masters)."""

    def __init__(self, registry: Registry, catalog: Any) -> None:
        self.registry = registry
        self.catalog = catalog

    def authorize(self, user: User, verb: str, info: ResourceInfo, target: Target) -> None:
        if user.is_master:
            return
        # upstream's request info takes a namespace's own path as in the namespace: /api/v1/namespaces/x is in x
        namespace = target.name if (info.group, info.plural) == ("", "namespaces") else target.namespace
        scope = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
        if user is ANONYMOUS or user.name == ANONYMOUS.name:
            raise errors.forbidden(info.plural, target.name, f'User "{user.name}" cannot {verb} resource '
                                   f'"{info.plural}" in API group "{info.group}"{scope}', info.group)
        resource = info.plural + (f"/{target.subresource}" if target.subresource else "")
        if self.allows(user, verb, info.group, resource, namespace, target.name):
            return
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

    def allows_path(self, user: User, verb: str, path: str) -> bool:
        """RBAC for a non-resource URL (/openid/v1/jwks...): a cluster role's nonResourceURLs rule, bound
        cluster-wide."""
        if user.is_master:
            return True
        for binding in self._objects("clusterrolebindings"):
            if _binds(binding, user):
                role = self._role(binding.get("roleRef") or {}, "")
                if role and any(_rule_allows_path(rule, verb, path) for rule in role.get("rules") or []):
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


def _rule_allows_path(rule: Obj, verb: str, path: str) -> bool:
    if not (set(rule.get("verbs") or []) & {verb, "*"}):
        return False
    return any(url == "*" or url == path or (url.endswith("*") and path.startswith(url.rstrip("*")))
               for url in rule.get("nonResourceURLs") or [])


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
