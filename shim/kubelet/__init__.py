"""The node agent: registers a Node, schedules and runs Pods as local process groups, reports their status.

Everything here talks to the API only through `shim.clients.base.Client`, so the same kubelet can serve an
in-process registry or a remote API server. Imports are lazy so that the tiny container supervisor
(`python -m shim.kubelet.runtime.supervise`) starts without pulling in asyncio, psutil or the client stack.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from shim.kubelet.config import KubeletConfig
    from shim.kubelet.kubelet import Kubelet, run_kubelet
    from shim.kubelet.logs import LogOptions, read_log

__all__ = ["KubeletConfig", "Kubelet", "run_kubelet", "LogOptions", "read_log"]

_HOMES = {
    "KubeletConfig": "shim.kubelet.config",
    "Kubelet": "shim.kubelet.kubelet",
    "run_kubelet": "shim.kubelet.kubelet",
    "LogOptions": "shim.kubelet.logs",
    "read_log": "shim.kubelet.logs",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(name)
