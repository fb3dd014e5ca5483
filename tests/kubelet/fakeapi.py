"""An in-memory stand-in for the API, just enough Client for kubelet tests that need no server.

It mimics the pod semantics the kubelet relies on: bindings set nodeName and PodScheduled, a graceful
delete of a bound, non-terminal pod only sets deletionTimestamp (the kubelet finishes it with grace 0 and a
uid precondition), merge patches on status. Tests with the real registry live in test_local_e2e.py.
"""
from __future__ import annotations

import asyncio
import copy
import datetime as dt
import itertools
import uuid
from typing import Any, AsyncIterator

from shim.clients.base import Resource, WatchEvent
from shim.machinery.errors import already_exists, conflict, not_found


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeClient:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.rv = itertools.count(1)
        self.watchers: list[tuple[str, str, asyncio.Queue[WatchEvent]]] = []
        self.deletes: list[dict[str, Any]] = []  # what the kubelet asked to delete (with options)
        self.patches: list[tuple[str, str, Any]] = []

    # -- helpers --------------------------------------------------------------------------------------------
    def _emit(self, plural: str, kind: str, obj: dict[str, Any]) -> None:
        ns = (obj.get("metadata") or {}).get("namespace", "")
        for w_plural, w_ns, queue in self.watchers:
            if w_plural == plural and (not w_ns or w_ns == ns):
                queue.put_nowait(WatchEvent(kind, copy.deepcopy(obj)))

    def _store(self, plural: str, obj: dict[str, Any], kind: str) -> dict[str, Any]:
        meta = obj["metadata"]
        meta["resourceVersion"] = str(next(self.rv))
        self.objects[(plural, meta.get("namespace", ""), meta["name"])] = obj
        self._emit(plural, kind, obj)
        return copy.deepcopy(obj)

    def pod(self, name: str, namespace: str = "default") -> dict[str, Any] | None:
        obj = self.objects.get(("pods", namespace, name))
        return copy.deepcopy(obj) if obj else None

    # -- Client ---------------------------------------------------------------------------------------------
    async def get(self, resource: Resource, name: str, namespace: str = "") -> dict[str, Any]:
        obj = self.objects.get((resource.plural, namespace, name))
        if obj is None:
            raise not_found(resource.plural, name, resource.group)
        return copy.deepcopy(obj)

    async def list(self, resource: Resource, namespace: str = "", *, label_selector: str = "",
                   field_selector: str = "") -> dict[str, Any]:
        items = [copy.deepcopy(o) for (p, ns, _), o in sorted(self.objects.items())
                 if p == resource.plural and (not namespace or ns == namespace)]
        return {"kind": "List", "metadata": {"resourceVersion": str(next(self.rv))}, "items": items}

    async def watch(self, resource: Resource, namespace: str = "", *, resource_version: str = "",
                    label_selector: str = "", field_selector: str = "") -> AsyncIterator[WatchEvent]:
        queue: asyncio.Queue[WatchEvent] = asyncio.Queue()
        entry = (resource.plural, namespace, queue)
        self.watchers.append(entry)
        try:
            while True:
                yield await queue.get()
        finally:
            self.watchers.remove(entry)

    async def create(self, resource: Resource, obj: dict[str, Any], namespace: str = "") -> dict[str, Any]:
        obj = copy.deepcopy(obj)
        if resource.plural == "bindings":
            return await self._bind(obj, namespace)
        meta = obj.setdefault("metadata", {})
        if namespace:
            meta["namespace"] = namespace
        key = (resource.plural, meta.get("namespace", ""), meta["name"])
        if key in self.objects:
            raise already_exists(resource.plural, meta["name"], resource.group)
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now())
        if resource.plural == "pods":
            obj.setdefault("status", {}).setdefault("phase", "Pending")
            obj.setdefault("spec", {}).setdefault("restartPolicy", "Always")
        return self._store(resource.plural, obj, "ADDED")

    async def _bind(self, binding: dict[str, Any], namespace: str) -> dict[str, Any]:
        name = binding["metadata"]["name"]
        pod = self.objects.get(("pods", namespace, name))
        if pod is None:
            raise not_found("pods", name)
        if pod["spec"].get("nodeName"):
            raise conflict("pods", name, f"pod {name} is already assigned to node \"{pod['spec']['nodeName']}\"")
        pod = copy.deepcopy(pod)
        pod["spec"]["nodeName"] = binding["target"]["name"]
        conds = [c for c in pod.setdefault("status", {}).get("conditions") or [] if c["type"] != "PodScheduled"]
        pod["status"]["conditions"] = conds + [{"type": "PodScheduled", "status": "True"}]
        self._store("pods", pod, "MODIFIED")
        return {"kind": "Status", "status": "Success"}

    async def update(self, resource: Resource, obj: dict[str, Any], *, subresource: str = "") -> dict[str, Any]:
        meta = obj["metadata"]
        key = (resource.plural, meta.get("namespace", ""), meta["name"])
        current = self.objects.get(key)
        if current is None:
            raise not_found(resource.plural, meta["name"], resource.group)
        new = copy.deepcopy(obj)
        if subresource == "status":
            new = dict(copy.deepcopy(current), status=new.get("status", {}))
        new["metadata"]["uid"] = current["metadata"]["uid"]
        return self._store(resource.plural, new, "MODIFIED")

    async def patch(self, resource: Resource, name: str, patch: Any, *, namespace: str = "",
                    patch_type: str = "application/merge-patch+json", subresource: str = "") -> dict[str, Any]:
        key = (resource.plural, namespace, name)
        current = self.objects.get(key)
        if current is None:
            raise not_found(resource.plural, name, resource.group)
        self.patches.append((resource.plural, name, copy.deepcopy(patch)))
        if subresource == "status":
            patch = {"status": patch.get("status")}
        new = merge_patch(current, patch)
        return self._store(resource.plural, new, "MODIFIED")

    async def delete(self, resource: Resource, name: str, namespace: str = "", *,
                     grace_period_seconds: int | None = None, uid: str | None = None,
                     propagation_policy: str | None = None) -> dict[str, Any]:
        key = (resource.plural, namespace, name)
        current = self.objects.get(key)
        if current is None:
            raise not_found(resource.plural, name, resource.group)
        if uid and current["metadata"]["uid"] != uid:
            raise conflict(resource.plural, name, "Precondition failed: UID in precondition")
        self.deletes.append({"name": name, "namespace": namespace, "grace": grace_period_seconds, "uid": uid})
        if resource.plural == "pods":
            spec = current.get("spec") or {}
            graceful = grace_period_seconds if grace_period_seconds is not None else \
                spec.get("terminationGracePeriodSeconds", 30)
            terminal = (current.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            if graceful > 0 and spec.get("nodeName") and not terminal:
                obj = copy.deepcopy(current)
                obj["metadata"]["deletionTimestamp"] = now()
                obj["metadata"]["deletionGracePeriodSeconds"] = graceful
                return self._store("pods", obj, "MODIFIED")
        del self.objects[key]
        gone = copy.deepcopy(current)
        gone["metadata"]["resourceVersion"] = str(next(self.rv))
        self._emit(resource.plural, "DELETED", gone)
        return gone
