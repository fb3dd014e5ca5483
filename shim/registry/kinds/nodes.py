"""Nodes: cluster-scoped, with status written by the kubelet."""
from __future__ import annotations

from typing import Any

from shim.machinery import tables
from shim.registry.strategy import Obj, Strategy

ROLE_PREFIX = "node-role.kubernetes.io/"
NODE_COLUMNS = [
    tables.column("Status", description="The status of the node"),
    tables.column("Roles", description="The roles of the node"),
    tables.AGE_COLUMN,
    tables.column("Version", description="Kubelet Version reported by the node."),
    tables.column("Internal-IP", priority=1, description="List of addresses reachable to the node."),
    tables.column("External-IP", priority=1, description="List of addresses reachable to the node."),
    tables.column("OS-Image", priority=1, description="OS Image reported by the node from /etc/os-release."),
    tables.column("Kernel-Version", priority=1, description="Kernel Version reported by the node."),
    tables.column("Container-Runtime", priority=1, description="ContainerRuntime Version reported by the node."),
]


def _address(node: Obj, kind: str) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == kind:
            value: str = address.get("address", "")
            return value
    return "<none>"


def node_cells(node: Obj) -> list[Any]:
    """Upstream's printNode: Ready/NotReady/Unknown (+SchedulingDisabled), roles from labels, node info."""
    status = node.get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    state = ["Unknown"] if not ready else ["Ready" if ready[-1].get("status") == "True" else "NotReady"]
    if (node.get("spec") or {}).get("unschedulable"):
        state.append("SchedulingDisabled")
    roles = set()
    for key, value in ((node.get("metadata") or {}).get("labels") or {}).items():
        if key.startswith(ROLE_PREFIX) and key[len(ROLE_PREFIX):]:
            roles.add(key[len(ROLE_PREFIX):])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    info = status.get("nodeInfo") or {}
    return [",".join(state), ",".join(sorted(roles)) or "<none>", tables.age(node), info.get("kubeletVersion", ""),
            _address(node, "InternalIP"), _address(node, "ExternalIP"), info.get("osImage") or "<unknown>",
            info.get("kernelVersion") or "<unknown>", info.get("containerRuntimeVersion") or "<unknown>"]


class NodeStrategy(Strategy):
    has_status_subresource = True
    tracks_generation = False
    field_labels = frozenset({"metadata.name", "spec.unschedulable"})

    def prepare_for_create(self, obj: Obj) -> None:
        obj.setdefault("spec", {})
        obj.setdefault("status", {})

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        if "status" in old:
            new["status"] = old["status"]

    def fields(self, obj: Obj) -> dict[str, str]:
        out = super().fields(obj)
        out["spec.unschedulable"] = "true" if (obj.get("spec") or {}).get("unschedulable") else "false"
        return out

    def table_columns(self) -> list[dict[str, Any]]:
        return NODE_COLUMNS

    def table_cells(self, obj: Obj) -> list[Any]:
        return node_cells(obj)
