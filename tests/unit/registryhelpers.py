"""A registry over a real SQLite store in a temporary directory, reached through the verbs layer (no sockets)."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from shim.machinery.users import MASTERS, User
from shim.registry.catalog import Catalog
from shim.registry.generic import Registry
from shim.registry.options import WriteOptions
from shim.registry.rest import Verbs
from shim.registry.services import Services
from shim.storage.store import Store

Obj = dict[str, Any]
ADMIN = User("admin", (MASTERS,))
WRITE = WriteOptions(field_manager="tests", user=ADMIN)


class Api:
    """Store + Registry + Catalog + Verbs of one test, with the `default` namespace created; `plugins` turns on
    optional admission plugins (shim.registry.strategy.Stored.plugins)."""

    def __init__(self, path: Path, services: Services | None = None, plugins: frozenset[str] = frozenset()) -> None:
        self.store = Store(path / "state.db", window=100)
        self.store.open()
        self.registry = Registry(self.store, plugins)
        self.catalog = Catalog(self.store)
        self.verbs = Verbs(self.registry, self.catalog, services)

    async def start(self) -> "Api":
        self.store.start(asyncio.get_running_loop())
        await self.create("namespaces", namespace("default"))
        return self

    def info(self, plural: str, group: str = "", version: str = "v1") -> Any:
        return self.verbs.resource(group, version, plural)

    async def create(self, plural: str, obj: Obj, ns: str = "", opts: WriteOptions = WRITE, **where: str) -> Obj:
        return (await self.verbs.create(self.info(plural, **where), ns, obj, opts)).object

    def get(self, plural: str, name: str, ns: str = "", **where: str) -> Obj:
        return self.verbs.get(self.info(plural, **where), ns, name)


def namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def configmap(name: str, data: dict[str, str] | None = None, **meta: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}, "data": data or {"k": "v"}}


def pod(name: str, **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}], **spec}}


def crd(group: str = "example.com", plural: str = "widgets", kind: str = "Widget") -> Obj:
    """A namespaced CRD served at v1 (storage, status + scale, a printer column) and v1beta1."""
    schema = {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
            "replicas": {"type": "integer", "default": 1}, "selector": {"type": "string"},
            "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                      "items": {"type": "object", "properties": {"name": {"type": "string"},
                                                                 "port": {"type": "integer"}}}}}},
        "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}}
    v1 = {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema},
          "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                   "statusReplicasPath": ".status.replicas",
                                                   "labelSelectorPath": ".spec.selector"}},
          "additionalPrinterColumns": [{"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"}],
          "selectableFields": [{"jsonPath": ".spec.selector"}]}
    v1beta1 = {"name": "v1beta1", "served": True, "storage": False, "schema": {"openAPIV3Schema": schema}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": "Namespaced", "versions": [v1, v1beta1],
                     "names": {"plural": plural, "singular": kind.lower(), "kind": kind}}}
