"""Every namespace gets a `default` ServiceAccount (upstream's serviceaccounts-controller)."""
from __future__ import annotations

from shim.clients.base import NAMESPACES, SERVICEACCOUNTS, Client
from shim.machinery.errors import StatusError


async def ensure_default_accounts(client: Client) -> None:
    async for event in client.watch(NAMESPACES):
        ns = event.object["metadata"]
        if event.type not in ("ADDED", "MODIFIED") or ns.get("deletionTimestamp"):
            continue
        try:
            await client.get(SERVICEACCOUNTS, "default", ns["name"])
        except StatusError as err:
            if err.code != 404:
                raise
            try:
                await client.create(SERVICEACCOUNTS, {"apiVersion": "v1", "kind": "ServiceAccount",
                                                      "metadata": {"name": "default"}}, ns["name"])
            except StatusError as create_err:
                if create_err.code not in (403, 404, 409):  # namespace went away meanwhile, or raced
                    raise
