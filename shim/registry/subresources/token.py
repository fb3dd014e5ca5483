"""serviceaccounts/{name}/token: a TokenRequest answered with a JWT for the service account (upstream's
pkg/registry/core/serviceaccount/storage/token.go).

The request is checked, defaulted and bound here; the signer (a service: its keys are the server's) only signs
the claims. A token bound to a pod, secret or node is refused when that object is missing or has another uid,
and stops authenticating once the object is gone (shim.server.auth).
"""
from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from shim.machinery import errors, managed_fields, satokens, timeutil
from shim.registry.options import WriteOptions, Written
from shim.registry.strategy import Obj
from shim.registry.subresource import Kind, Subresource, metadata_of

if TYPE_CHECKING:
    from shim.registry.resource import ResourceInfo
    from shim.registry.rest import Verbs

GROUP = "authentication.k8s.io"
KIND = Kind(GROUP, "v1", "TokenRequest")
BOUND_REF_FIELDS = ("kind", "apiVersion", "name", "uid")


def _spec(body: Obj) -> Obj:
    """The request's spec with v1's default (an hour), as decoding gives it; a mistyped field is a 400."""
    spec = body.get("spec") if body.get("spec") is not None else {}
    if not isinstance(spec, dict):
        raise errors.bad_request("spec must be an object")
    seconds = spec.get("expirationSeconds")
    if seconds is None:
        seconds = 3600
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise errors.bad_request(f"spec.expirationSeconds must be an integer, not {seconds!r}")
    audiences = spec.get("audiences")
    if audiences is not None and (not isinstance(audiences, list) or
                                  not all(isinstance(a, str) for a in audiences)):
        raise errors.bad_request("spec.audiences must be a list of strings")
    ref = spec.get("boundObjectRef")
    if ref is not None and (not isinstance(ref, dict) or
                            not all(isinstance(ref.get(k, ""), str) for k in BOUND_REF_FIELDS)):
        raise errors.bad_request("spec.boundObjectRef must be an object of strings")
    out: Obj = {"expirationSeconds": seconds}
    if audiences:
        out["audiences"] = list(audiences)
    if ref is not None:
        out["boundObjectRef"] = {k: ref[k] for k in BOUND_REF_FIELDS if ref.get(k)}
    return out


def _validate(seconds: int) -> None:
    causes = []
    if seconds < satokens.MIN_SECONDS:
        causes.append(errors.field_invalid("spec.expirationSeconds", seconds,
                                           "may not specify a duration less than 10 minutes"))
    if seconds > satokens.MAX_SECONDS:
        causes.append(errors.field_invalid("spec.expirationSeconds", seconds,
                                           "may not specify a duration larger than 2^32 seconds"))
    if causes:
        raise errors.invalid(KIND.kind, "", causes, GROUP)


def _get(verbs: Verbs, plural: str, namespace: str, name: str) -> Obj:
    return verbs.registry.get(verbs.resource("", "v1", plural), namespace, name)


def _bound(verbs: Verbs, account: str, namespace: str, ref: Obj) -> dict[str, Any]:
    """The objects a token is bound to ({pod, node} / {secret} / {node}), as upstream looks them up."""
    version = ref.get("apiVersion", "")
    group, _, version = version.rpartition("/")
    kind, name = ref.get("kind", ""), ref.get("name", "")
    bound: dict[str, Any] = {}
    if group == "" and kind == "Pod":
        pod = bound["pod"] = _get(verbs, "pods", namespace, name)
        if (pod.get("spec") or {}).get("serviceAccountName") != account:
            raise errors.bad_request(f'cannot bind token for serviceaccount "{account}" to pod running with '
                                     f'different serviceaccount name.')
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            try:
                bound["node"] = _get(verbs, "nodes", "", node)
            except errors.StatusError as err:
                if err.code != 404:
                    raise
                bound["node"] = {"metadata": {"name": node}}  # the node's name still tells where the pod runs
        target = pod
    elif group == "" and kind == "Node":
        target = bound["node"] = _get(verbs, "nodes", "", name)
    elif group == "" and kind == "Secret":
        target = bound["secret"] = _get(verbs, "secrets", namespace, name)
    else:
        raise errors.bad_request(f"cannot bind token to object of type {group}/{version}, Kind={kind}")
    uid = (target.get("metadata") or {}).get("uid", "")
    if ref.get("uid") and ref["uid"] != uid:
        raise errors.conflict(kind, name, f"the UID in the bound object reference ({ref['uid']}) does not match "
                              "the UID in record. The object might have been deleted and then recreated", group)
    return bound


class Token(Subresource):
    name = "token"
    verbs = ("create",)
    kind = KIND

    async def create(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str, body: Obj,
                     opts: WriteOptions) -> Written:
        signer = verbs.services.tokens
        if signer is None:
            raise errors.unavailable("service account tokens are not issued in this process")
        meta = metadata_of(body)
        for field, expected, what in (("name", name, "name"), ("namespace", namespace, "namespace")):
            if meta.get(field) and meta[field] != expected:
                raise errors.invalid(KIND.kind, name, [errors.field_invalid(
                    f"metadata.{field}", meta[field], f"must match the service account {what} if specified")],
                    GROUP)
        spec = _spec(body)
        account = verbs.registry.get(info, namespace, name)
        account_uid = account["metadata"].get("uid", "")
        if meta.get("uid") and meta["uid"] != account_uid:
            raise errors.conflict(KIND.kind, name, f"the UID in the token request ({meta['uid']}) does not match "
                                  f"the UID of the service account ({account_uid})", GROUP)
        answer: Obj = {"kind": KIND.kind, "apiVersion": KIND.api_version, "metadata": {}, "spec": dict(spec)}
        managed_fields.update(info.strategy.field_types(KIND.api_version, KIND.kind), None, answer, opts.manager,
                              self.name)
        now = int(time.time())
        answer["metadata"] = {"name": name, "namespace": namespace, "uid": account_uid,
                              "creationTimestamp": timeutil.format_time(timeutil.from_unix(now)),
                              **answer["metadata"]}
        audiences = spec.setdefault("audiences", list(signer.audiences))
        _validate(spec["expirationSeconds"])
        ref = spec.get("boundObjectRef")
        bound = _bound(verbs, name, namespace, ref) if ref is not None else {}
        seconds, warn_after = spec["expirationSeconds"], 0
        if ("pod" in bound and seconds == satokens.WARN_ONLY_SECONDS
                and set(audiences) <= set(signer.audiences)):
            seconds, warn_after = satokens.EXTENDED_SECONDS, seconds
        claims = satokens.bound_claims(signer.issuer, account, audiences, now, seconds, str(uuid.uuid4()),
                                       warn_after=warn_after, **bound)
        answer["spec"] = {**spec, "boundObjectRef": ref}
        answer["status"] = {"token": signer.sign(claims), "expirationTimestamp": timeutil.format_time(
            timeutil.from_unix(now + spec["expirationSeconds"]))}
        return Written(answer)
