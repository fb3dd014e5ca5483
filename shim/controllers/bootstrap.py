"""What a fresh cluster has: the system namespaces, and at first start every CRD in crds/."""
from __future__ import annotations

import logging
from pathlib import Path

import yaml

from shim.clients.base import CRDS, NAMESPACES, Client
from shim.machinery.errors import StatusError

log = logging.getLogger(__name__)
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


async def ensure_namespaces(client: Client) -> None:
    for name in SYSTEM_NAMESPACES:
        try:
            await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        except StatusError as err:
            if err.code != 409:
                raise


async def install_crds(client: Client, directory: Path) -> list[str]:
    """Create every CustomResourceDefinition found in the YAML files of `directory` (sorted by file name)."""
    installed = []
    for path in sorted(directory.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            try:
                await client.create(CRDS, doc)
                installed.append(doc["metadata"]["name"])
            except StatusError as err:
                if err.code != 409:
                    log.error("installing CRD from %s: %s", path, err.message)
    return installed
