"""What a fresh cluster has: the system namespaces, and at first start every CRD in crds/."""
from __future__ import annotations

import copy
import logging
from pathlib import Path

import yaml

from shim.clients.base import CRDS, NAMESPACES, Client, Resource
from shim.machinery.errors import StatusError
from shim.registry.kinds.scheduling import SYSTEM_CLASSES

log = logging.getLogger(__name__)
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
PRIORITY_CLASSES = Resource("scheduling.k8s.io", "v1", "priorityclasses")
RBAC_POLICY = Path(__file__).with_name("bootstrap_rbac.yaml")


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


async def ensure_rbac_defaults(client: Client) -> None:
    """Create the default cluster roles and bindings that are missing (edited ones are left alone)."""
    for doc in yaml.safe_load_all(RBAC_POLICY.read_text()):
        plural = "clusterroles" if doc["kind"] == "ClusterRole" else "clusterrolebindings"
        try:
            await client.create(Resource("rbac.authorization.k8s.io", "v1", plural), doc)
        except StatusError as err:
            if err.code != 409:
                raise


async def ensure_priority_classes(client: Client) -> None:
    """The system PriorityClasses (system-node-critical, system-cluster-critical) every cluster has."""
    for pc in SYSTEM_CLASSES:
        try:
            await client.create(PRIORITY_CLASSES, copy.deepcopy(pc))
        except StatusError as err:
            if err.code != 409:
                raise
