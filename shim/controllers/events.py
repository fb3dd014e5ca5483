"""Events about any object from one controller (client-go's EventRecorder): `kubectl describe` shows them and
clients wait on their reasons (SuccessfulCreate, ScalingReplicaSet, ...). Recording never blocks the caller: a
background writer creates them, and a failure to write one is logged, not raised."""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

from shim.clients.base import EVENTS, Client
from shim.kubelet.timeutil import rfc3339
from shim.machinery.errors import StatusError

log = logging.getLogger(__name__)
NORMAL, WARNING = "Normal", "Warning"


class Recorder:
    def __init__(self, client: Client, component: str, max_queued: int = 10000) -> None:
        self.client = client
        self.component = component
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(max_queued)

    def event(self, obj: dict[str, Any], api_version: str, kind: str, type_: str, reason: str,
              message: str) -> None:
        meta = obj.get("metadata") or {}
        now = rfc3339(time.time())
        involved = {"kind": kind, "namespace": meta.get("namespace", ""), "name": meta.get("name", ""),
                    "uid": meta.get("uid", ""), "apiVersion": api_version,
                    "resourceVersion": meta.get("resourceVersion", "")}
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"name": f"{meta.get('name', '')}.{secrets.token_hex(8)}",
                              "namespace": meta.get("namespace", "") or "default"},
                 "involvedObject": involved, "reason": reason, "message": message, "type": type_,
                 "source": {"component": self.component}, "firstTimestamp": now, "lastTimestamp": now,
                 "count": 1, "reportingComponent": self.component, "reportingInstance": ""}
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            log.warning("event queue full; dropping %s %s", reason, involved["name"])

    async def run(self) -> None:
        while True:
            event = await self.queue.get()
            try:
                await self.client.create(EVENTS, event, event["metadata"]["namespace"])
            except StatusError as err:
                if err.code not in (403, 404):  # the namespace went away meanwhile
                    log.warning("writing event %s: %s", event["reason"], err.message)
