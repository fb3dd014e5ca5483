"""`python solo_kubelet.py <dir> <python>`: a kubelet with its own in-process API, run by a test that first drops root.

Reads <dir>/objects.json (ConfigMaps, Secrets, then one Pod), runs the Pod on a real Kubelet with its data under
<dir>, and writes <dir>/outcome.json: the Pod as it ended, its container's log lines, the kubelet's Events and the
namespace mode the kubelet found. <python> runs the container supervisors (standard library only: an
interpreter the user can execute). A script, not a fixture, because the identity it runs as must be another.
"""
from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from localapi import LocalApi
from shim.clients.base import CONFIGMAPS, EVENTS, PODS, SECRETS
from shim.kubelet.config import KubeletConfig
from shim.kubelet.kubelet import Kubelet

RESOURCES = {"ConfigMap": CONFIGMAPS, "Secret": SECRETS, "Pod": PODS}
TERMINAL = ("Succeeded", "Failed")


async def run(base: Path, python: str) -> dict[str, Any]:
    objects: list[dict[str, Any]] = json.loads((base / "objects.json").read_text())
    api = await LocalApi(base / "state.db").start()
    config = KubeletConfig(data_dir=base / "kubelet", resync_seconds=0.5, heartbeat_seconds=0.5, cgroups="off",
                           python=python)
    kubelet = Kubelet(api.client, config)
    task = asyncio.create_task(kubelet.run())
    try:
        for obj in objects:
            await api.client.create(RESOURCES[obj["kind"]], obj, "default")
        name = objects[-1]["metadata"]["name"]
        deadline = time.monotonic() + 30
        pod = api.get(PODS, name, "default") or {}
        while (pod.get("status") or {}).get("phase") not in TERMINAL and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            pod = api.get(PODS, name, "default") or {}
        logs: list[str] = []
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            cid = (status.get("containerID") or "").split("://")[-1]
            if cid and status.get("state", {}).get("terminated"):
                path = kubelet.provider.log_path(cid)  # type: ignore[attr-defined]
                logs += [line.split(" ", 3)[3] for line in path.read_text().splitlines()]
        events = (await api.client.list(EVENTS, "default"))["items"]
        return {"pod": pod, "logs": logs, "events": events, "namespace_mode": kubelet.namespace_mode}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await api.close()


def main() -> None:
    base = Path(sys.argv[1])
    outcome = asyncio.run(run(base, sys.argv[2]))
    (base / "outcome.json").write_text(json.dumps(outcome))


if __name__ == "__main__":
    main()
