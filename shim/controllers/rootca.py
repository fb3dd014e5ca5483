"""Every namespace gets the `kube-root-ca.crt` ConfigMap holding the cluster's CA (kube-controller-manager's
root-ca-cert-publisher): pods' projected service-account volumes read it, and clients wait for it."""
from __future__ import annotations

import asyncio

from shim.clients.base import CONFIGMAPS, NAMESPACES, Client
from shim.machinery.errors import StatusError

NAME = "kube-root-ca.crt"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
               "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
               "distributions of Kubernetes clusters.")


async def publish_root_ca(client: Client, ca_pem: str) -> None:
    """Publish into every namespace as it appears, and restore a copy that was edited or deleted."""
    await asyncio.gather(_on_namespaces(client, ca_pem), _on_configmaps(client, ca_pem))


async def _on_namespaces(client: Client, ca_pem: str) -> None:
    async for event in client.watch(NAMESPACES):
        meta = event.object["metadata"]
        if event.type in ("ADDED", "MODIFIED") and not meta.get("deletionTimestamp"):
            await ensure(client, meta["name"], ca_pem)


async def _on_configmaps(client: Client, ca_pem: str) -> None:
    async for event in client.watch(CONFIGMAPS, field_selector=f"metadata.name={NAME}"):
        if event.type in ("MODIFIED", "DELETED"):
            await ensure(client, event.object["metadata"]["namespace"], ca_pem)


async def ensure(client: Client, namespace: str, ca_pem: str) -> None:
    """Create or repair the ConfigMap in `namespace`; a namespace that is going away is left alone."""
    try:
        live = await client.get(CONFIGMAPS, NAME, namespace)
    except StatusError as err:
        if err.code != 404:
            raise
        live = None
    try:
        if live is None:
            await client.create(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                             "metadata": {"name": NAME,
                                                          "annotations": {"kubernetes.io/description": DESCRIPTION}},
                                             "data": {"ca.crt": ca_pem}}, namespace)
        elif live.get("data") != {"ca.crt": ca_pem} or live.get("binaryData"):
            live["data"], live["binaryData"] = {"ca.crt": ca_pem}, None
            annotations = live["metadata"].setdefault("annotations", {})
            annotations["kubernetes.io/description"] = DESCRIPTION
            await client.update(CONFIGMAPS, live)
    except StatusError as err:
        if err.code not in (403, 404, 409):  # namespace terminating or gone, or raced with another writer
            raise
