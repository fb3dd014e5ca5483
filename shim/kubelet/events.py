"""Pod Events as a real node writes them (Scheduled, Pulled, Created, Started, Killing, BackOff, ...).

`kubectl describe pod` and controllers that watch Events (Flyte's `send-object-events`) read them. Like
client-go's event broadcaster, recording never blocks the caller: events go through a queue to a background
writer, and a failure to write one is logged, not raised.
"""
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
    """Events about pods from one component (kubelet or default-scheduler) on this node."""

    def __init__(self, client: Client, component: str, host: str, max_queued: int = 10000) -> None:
        self.client = client
        self.component = component
        self.host = host
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(max_queued)

    def pod_event(self, pod: dict[str, Any], kind: str, reason: str, message: str,
                  field_path: str = "") -> None:
        """Queue an Event about `pod`; dropped (with a log line) if the writer is far behind."""
        meta = pod.get("metadata") or {}
        now = time.time()
        involved = {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta.get("name", ""),
                    "uid": meta.get("uid", ""), "apiVersion": "v1",
                    "resourceVersion": meta.get("resourceVersion", "")}
        if field_path:
            involved["fieldPath"] = field_path
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"name": f"{meta.get('name', '')}.{secrets.token_hex(8)}",
                              "namespace": meta.get("namespace", "")},
                 "involvedObject": involved, "reason": reason, "message": message, "type": kind,
                 "source": {"component": self.component, "host": self.host},
                 "firstTimestamp": rfc3339(now), "lastTimestamp": rfc3339(now), "count": 1,
                 "reportingComponent": self.component, "reportingInstance": self.host}
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            log.warning("event queue full; dropping %s %s", reason, involved["name"])

    async def run(self) -> None:
        """Write queued events until cancelled."""
        while True:
            event = await self.queue.get()
            try:
                await self.client.create(EVENTS, event, event["metadata"]["namespace"])
            except StatusError as err:
                if err.code not in (403, 404):  # the namespace went away meanwhile
                    log.warning("writing event %s: %s", event["reason"], err.message)
