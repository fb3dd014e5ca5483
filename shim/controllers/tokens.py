"""kube-controller-manager's serviceaccount-token controller: a Secret of type
kubernetes.io/service-account-token gets a token of its service account (a legacy JWT, valid while the Secret
exists and holds it), the CA and the namespace; the Secrets of a deleted service account are deleted.

Programs written before TokenRequest (and manifests that still create such Secrets for a long-lived token) read
`token` from the Secret and call the API with it.
"""
from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from shim.clients.base import SECRETS, SERVICEACCOUNTS, Client
from shim.machinery import satokens
from shim.machinery.errors import StatusError

Obj = dict[str, Any]

TOKEN_SECRET = "kubernetes.io/service-account-token"
NAME_KEY = "kubernetes.io/service-account.name"
UID_KEY = "kubernetes.io/service-account.uid"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class TokenSecrets:
    """Fills and revokes token Secrets; `sign` signs claims with the service-account key, `root_ca` is the CA
    bundle clients verify the API server with."""

    def __init__(self, client: Client, sign: Callable[[Obj], str], root_ca: bytes) -> None:
        self.client = client
        self.sign = sign
        self.root_ca = root_ca

    async def fill(self) -> None:
        """Watch token Secrets; fill in what one lacks."""
        async for event in self.client.watch(SECRETS, field_selector=f"type={TOKEN_SECRET}"):
            if event.type in ("ADDED", "MODIFIED") and not event.object["metadata"].get("deletionTimestamp"):
                await self.sync(event.object)

    async def revoke(self) -> None:
        """Watch service accounts; delete the token Secrets of each one deleted."""
        async for event in self.client.watch(SERVICEACCOUNTS):
            if event.type == "DELETED":
                meta = event.object["metadata"]
                listed = await self.client.list(SECRETS, meta["namespace"], field_selector=f"type={TOKEN_SECRET}")
                for secret in listed.get("items") or []:
                    if self._names(secret, meta["name"], meta.get("uid", "")):
                        await self._delete(secret)

    @staticmethod
    def _names(secret: Obj, name: str, uid: str) -> bool:
        """Whether `secret` is a token of the service account `name` with `uid`."""
        notes = secret["metadata"].get("annotations") or {}
        return notes.get(NAME_KEY) == name and notes.get(UID_KEY, uid) == uid

    async def _delete(self, secret: Obj) -> None:
        meta = secret["metadata"]
        try:
            await self.client.delete(SECRETS, meta["name"], meta["namespace"], uid=meta.get("uid"))
        except StatusError as err:
            if err.code not in (404, 409):
                raise

    async def sync(self, secret: Obj) -> None:
        """Fill `secret` in (its token, ca.crt, namespace and the account's uid annotation), or delete it when
        its service account does not exist (or is another one by now)."""
        meta = secret["metadata"]
        notes = meta.get("annotations") or {}
        data = secret.get("data") or {}
        try:
            account = await self.client.get(SERVICEACCOUNTS, notes.get(NAME_KEY, ""), meta["namespace"])
        except StatusError as err:
            if err.code != 404:
                raise
            account = None
        if account is None or not self._names(secret, account["metadata"]["name"], account["metadata"]["uid"]):
            await self._delete(secret)
            return
        wanted = {"namespace": _b64(meta["namespace"].encode())}
        if self.root_ca:
            wanted["ca.crt"] = _b64(self.root_ca)
        if not data.get("token"):
            wanted["token"] = _b64(self.sign(satokens.legacy_claims(account, meta["name"])).encode())
        if all(data.get(k) == v for k, v in wanted.items()):
            return
        secret["data"] = {**data, **wanted}
        meta["annotations"] = {**notes, NAME_KEY: account["metadata"]["name"], UID_KEY: account["metadata"]["uid"]}
        try:
            await self.client.update(SECRETS, secret)
        except StatusError as err:
            if err.code not in (404, 409):  # changed or gone meanwhile: its next event brings it back
                raise
