"""A pod's /etc/resolv.conf: the DNS settings the kubelet computes (pkg/kubelet/network/dns GetPodDNS) as the
container runtime writes them (containerd: `search`, then `nameserver` lines, then `options`).

kubeshim's one departure: it runs no cluster DNS server (a non-root process cannot listen on port 53, and pods
share the host's network), so a ClusterFirst pod gets the cluster search path and `ndots:5` with the host's
nameservers, where a kubelet without clusterDNS would fall back to Default. Service names resolve through
/etc/hosts instead (hostsfile.py). Pure functions of the pod and the host's resolv.conf text.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Upstream's validation limits (pkg/apis/core/validation) the kubelet cuts a pod's DNS settings to.
MAX_NAMESERVERS = 3
MAX_SEARCH_PATHS = 32
MAX_SEARCH_LIST_CHARS = 2048
MAX_SEARCH_PATH_LENGTH = 253
DEFAULT_OPTIONS = ("ndots:5",)

CLUSTER, HOST, NONE = "cluster", "host", "none"


@dataclass
class DNSConfig:
    servers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


def parse_resolv_conf(text: str) -> DNSConfig:
    """nameserver lines accumulate; the last search and the options (by name, last wins) count."""
    out = DNSConfig()
    for line in text.splitlines():
        fields = line.strip().split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0] == "nameserver" and len(fields) >= 2:
            out.servers.append(fields[1])
        elif fields[0] == "search":
            out.searches = [s.rstrip(".") for s in fields[1:] if s != "."]
        elif fields[0] == "options":
            out.options = _merge_options(out.options, [(o.split(":", 1)[0], o) for o in fields[1:]])
    return out


def read_host(path: str) -> DNSConfig:
    """The host's settings; none when the file is missing or no file is configured."""
    try:
        return parse_resolv_conf(Path(path).read_text()) if path else DNSConfig()
    except OSError:
        return DNSConfig()


def _merge_options(existing: list[str], new: list[tuple[str, str]]) -> list[str]:
    """Options keyed by name: a later one replaces an earlier one of the same name, in place."""
    by_name = {o.split(":", 1)[0]: o for o in existing}
    for name, option in new:
        by_name[name] = option
    return list(by_name.values())


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def dns_type(pod: dict[str, Any]) -> str:
    """CLUSTER, HOST or NONE from dnsPolicy; ClusterFirst on the host network is Default (upstream's fallthrough),
    and an unknown policy is ClusterFirst."""
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "None":
        return NONE
    if policy == "Default" or (policy == "ClusterFirst" and spec.get("hostNetwork")):
        return HOST
    return CLUSTER


def pod_dns(pod: dict[str, Any], host: DNSConfig, cluster_domain: str) -> tuple[DNSConfig, list[str]]:
    """The pod's DNS settings and the warnings (DNSConfigForming events) for limits they were cut to."""
    kind = dns_type(pod)
    if kind == NONE:
        config = DNSConfig()
    elif kind == CLUSTER:
        namespace = (pod.get("metadata") or {}).get("namespace", "")
        cluster = [f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain] \
            if cluster_domain else []
        config = DNSConfig(list(host.servers), _unique(cluster + host.searches), list(DEFAULT_OPTIONS))
    else:
        config = DNSConfig(list(host.servers), list(host.searches), list(host.options))
    extra = (pod.get("spec") or {}).get("dnsConfig")
    if extra:
        config.servers = _unique(config.servers + list(extra.get("nameservers") or []))
        config.searches = _unique(config.searches + list(extra.get("searches") or []))
        config.options = _merge_options(config.options, [
            (str(o.get("name", "")), str(o.get("name", "")) + (f":{o['value']}" if o.get("value") else ""))
            for o in extra.get("options") or []])
    return config, _fit_limits(config)


def _fit_limits(config: DNSConfig) -> list[str]:
    warnings = []
    if len(config.servers) > MAX_NAMESERVERS:
        config.servers = config.servers[:MAX_NAMESERVERS]
        warnings.append("Nameserver limits were exceeded, some nameservers have been omitted, the applied "
                        f"nameserver line is: {' '.join(config.servers)}")
    searches, exceeded = config.searches[:MAX_SEARCH_PATHS], len(config.searches) > MAX_SEARCH_PATHS
    fitting = [s for s in searches if len(s) <= MAX_SEARCH_PATH_LENGTH]
    exceeded = exceeded or len(fitting) < len(searches)
    while fitting and len(" ".join(fitting)) > MAX_SEARCH_LIST_CHARS:
        fitting.pop()
        exceeded = True
    config.searches = fitting
    if exceeded:
        warnings.append("Search Line limits were exceeded, some search paths have been omitted, the applied "
                        f"search line is: {' '.join(fitting)}")
    return warnings


def render(config: DNSConfig) -> str:
    """The file as containerd writes it; empty when there is nothing to say (the runtime then copies the
    host's file)."""
    lines = []
    if config.searches:
        lines.append("search " + " ".join(config.searches))
    lines += [f"nameserver {s}" for s in config.servers]
    if config.options:
        lines.append("options " + " ".join(config.options))
    return "".join(line + "\n" for line in lines)
