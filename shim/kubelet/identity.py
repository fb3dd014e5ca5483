"""Who a container runs as and what it is called: securityContext users and the pod's hostname, as upstream
computes them (pkg/kubelet/kuberuntime/security_context.go, pkg/kubelet/kubelet_pods.go
GeneratePodHostNameAndDomain). Pure functions of the pod."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: A hostname is one DNS label: upstream truncates longer pod names to this many characters.
HOSTNAME_MAX_LENGTH = 63


@dataclass(frozen=True)
class RunAs:
    uid: int | None = None
    gid: int | None = None
    groups: list[int] = field(default_factory=list)  # supplementalGroups, then fsGroup


def run_as(pod: dict[str, Any], container: dict[str, Any]) -> RunAs:
    """The container's securityContext over the pod's (runAsUser, runAsGroup); the pod's supplementalGroups
    and fsGroup become supplementary groups, as the kubelet gives them to the runtime."""
    pod_sc = (pod.get("spec") or {}).get("securityContext") or {}
    sc = container.get("securityContext") or {}

    def pick(key: str) -> int | None:
        value = sc.get(key, pod_sc.get(key))
        return int(value) if value is not None else None

    groups = [int(g) for g in pod_sc.get("supplementalGroups") or []]
    if pod_sc.get("fsGroup") is not None:
        groups.append(int(pod_sc["fsGroup"]))
    return RunAs(pick("runAsUser"), pick("runAsGroup"), list(dict.fromkeys(groups)))


def hostname(pod: dict[str, Any], cluster_domain: str = "cluster.local") -> str | None:
    """The container's hostname: short_hostname, or the FQDN with setHostnameAsFQDN and a subdomain. None for
    hostNetwork pods (the node's own)."""
    spec = pod.get("spec") or {}
    if spec.get("hostNetwork"):
        return None
    name = short_hostname(pod)
    domain = pod_domain(pod, cluster_domain)
    if spec.get("setHostnameAsFQDN") and domain:
        return f"{name}.{domain}"
    return name


def short_hostname(pod: dict[str, Any]) -> str:
    """spec.hostname or the pod's name, cut to 63 characters without a trailing '-' or '.'."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    name = str(spec.get("hostname") or meta.get("name", ""))
    if len(name) > HOSTNAME_MAX_LENGTH:
        name = name[:HOSTNAME_MAX_LENGTH].rstrip("-.")
    return name


def pod_domain(pod: dict[str, Any], cluster_domain: str = "cluster.local") -> str:
    """`<subdomain>.<namespace>.svc.<cluster domain>` when the pod has a subdomain, else empty."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    if not spec.get("subdomain"):
        return ""
    return f"{spec['subdomain']}.{meta.get('namespace', '')}.svc.{cluster_domain}"
