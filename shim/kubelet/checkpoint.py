"""The kubelet's per-pod memory on disk: `<data>/pods/<uid>/pod.json`.

A restarted kubeshim must know restart counts, back-off deadlines, which container instance is current and
which is previous (for `lastState` and `logs --previous`), and what it created on the host. This is node-local
state, written atomically on every transition; the container processes themselves are re-found through
each container's identity.json (runtime/process.py).
"""
from __future__ import annotations

import json
import os

import orjson
from pathlib import Path
from typing import Any

from shim.kubelet.podstate import PodRecord

FILE = "pod.json"


def save(pod_dir: Path, record: PodRecord, pod: dict[str, Any] | None = None, previous: bytes = b"") -> bytes:
    """Write the checkpoint atomically unless it equals `previous` (what this worker last wrote); returns
    what is on disk now. Skipping unchanged writes matters: a rename costs ~1.5 ms on this kind of disk and
    a pod's life has many transitions that change nothing here."""
    doc: dict[str, Any] = {"record": record.to_dict()}
    if pod is not None:
        doc["pod"] = {"metadata": {k: (pod.get("metadata") or {}).get(k) for k in ("name", "namespace", "uid")}}
    data = orjson.dumps(doc)
    if data == previous:
        return data
    pod_dir.mkdir(parents=True, exist_ok=True)
    tmp = pod_dir / f".{FILE}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, pod_dir / FILE)
    return data


def load(pod_dir: Path) -> PodRecord | None:
    try:
        with open(pod_dir / FILE, encoding="utf-8") as fh:
            doc = json.load(fh)
        return PodRecord.from_dict(doc["record"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
