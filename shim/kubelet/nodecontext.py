"""What a pod worker may use of the node it runs on: a narrow view of the kubelet, handed to each worker.

Through it the worker never reaches into its parent (kubelet.py and podworker.py do not import each other),
and a test builds one by hand: a real client over an in-process registry, a FakeProvider, no processes.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shim.clients.base import Client
from shim.kubelet.config import KubeletConfig
from shim.kubelet.events import Recorder
from shim.kubelet.hostsfile import Entry, no_cluster_names
from shim.kubelet.images import ImageResolver
from shim.kubelet.runtime.provider import Provider


@dataclass
class NodeContext:
    config: KubeletConfig
    client: Client
    provider: Provider
    images: ImageResolver
    #: the kubelet's Events (Pulled, Created, Started, Killing, ...)
    recorder: Recorder
    #: "mount" | "user" when containers get a private mount namespace; None: volumes appear as symlinks
    namespace_mode: str | None
    #: the node's allocatable resources now (resourceFieldRef and downward API defaults)
    allocatable: Callable[[], Mapping[str, Any]]
    #: (host path, pod uid) -> is the path covered by a live container of another pod (then left alone)
    path_busy: Callable[[str, str], bool]
    #: (host path, pod uid) -> hand the cleanup of a mount point this pod made to another pod still covering
    #: it; False when none does (the caller releases it)
    hand_over_path: Callable[[str, str], bool]
    #: namespace -> the Service (and headless-pod) names a pod of that namespace resolves, for its /etc/hosts
    cluster_names: Callable[[str], list[Entry]] = no_cluster_names
