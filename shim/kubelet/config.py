"""Everything a kubelet can be told. One dataclass; the CLI fills it from kubeshim's config file.

Time constants are fields (not module globals) so tests can shrink back-off and heartbeats to milliseconds.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

#: (pod, audience, expirationSeconds) -> token text for projected serviceAccountToken volumes.
TokenIssuer = Callable[[dict[str, Any], str, int], Awaitable[str]]


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "kubeshim" / "kubelet"


@dataclass
class KubeletConfig:
    node_name: str = "kubeshim"
    #: Pods live under <data_dir>/pods/<uid>/ (volumes, logs, checkpoints); PVCs under <data_dir>/volumes/pvc/.
    data_dir: Path = field(default_factory=_default_data_dir)
    #: YAML file of image rules (see images.py); None = every image runs in kubeshim's own Python environment.
    image_rules_file: str | None = None
    #: Rules given programmatically (take precedence over the file).
    image_rules: list[dict[str, Any]] | None = None

    #: Crash-loop and image-pull back-off: first restart immediate, then base, doubling up to max (upstream 10s/5min).
    backoff_base: float = 10.0
    backoff_max: float = 300.0
    #: How often a pod worker re-syncs without any event (retries config errors, deadline checks).
    resync_seconds: float = 10.0

    lease_duration_seconds: int = 40
    heartbeat_seconds: float = 10.0
    node_status_seconds: float = 60.0

    #: "auto" (private mount namespace when the host allows it, else symlinks), "namespace" or "symlink".
    mount_mode: str = "auto"
    #: "auto" (cgroup v1/v2 where writable, else RSS polling) or "off" (always polling).
    cgroups: str = "auto"
    #: Name of the cgroup, created under kubeshim's own cgroup, that holds one child cgroup per container.
    cgroup_name: str = "kubeshim"
    #: RSS poll interval of the fallback memory enforcer, seconds.
    memory_poll_seconds: float = 0.1

    #: Overrides of node capacity, e.g. {"cpu": "8", "memory": "16Gi"} (the host's are used otherwise).
    capacity: dict[str, str] = field(default_factory=dict)
    max_pods: int = 110
    node_labels: dict[str, str] = field(default_factory=dict)
    #: The address pods are reachable at (pods share the host's network): status.podIP and hostIP, and what
    #: Service names resolve to inside pods.
    host_ip: str = "127.0.0.1"
    #: The cluster's DNS domain (search paths, Service and pod FQDNs).
    cluster_domain: str = "cluster.local"
    #: The host resolver file pods' /etc/resolv.conf is built from (kubelet's --resolv-conf).
    resolv_conf: str = "/etc/resolv.conf"
    #: Extra env for every container, e.g. KUBERNETES_SERVICE_HOST/PORT pointing at kubeshim's API.
    api_env: dict[str, str] = field(default_factory=dict)
    #: Run the built-in single-node scheduler (binds pods with an empty spec.nodeName).
    schedule: bool = True
    token_issuer: TokenIssuer | None = None
    #: Interpreter for the container supervisor.
    python: str = sys.executable

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser()  # YAML settings give strings

    @property
    def pods_dir(self) -> Path:
        return Path(self.data_dir) / "pods"

    def pod_dir(self, uid: str) -> Path:
        return self.pods_dir / uid
