"""A pod's /etc/hosts, as the kubelet writes it (pkg/kubelet/kubelet_pods.go managedHostsFileContent,
nodeHostsFileContent, hostsEntriesFromHostAliases), plus the names cluster DNS would answer.

kubeshim runs no cluster DNS server and pods share the host's network, so every Service is reachable at the
address pods are (the pod IP the kubelet reports, config.host_ip). For pods whose DNS policy is a cluster one,
the names CoreDNS would serve are written after the kubelet's entries, one line per name group:
`<svc>.<ns>.svc.<domain>`, `<svc>.<ns>.svc`, `<svc>.<ns>` (and `<svc>` for the pod's own namespace, which the
resolver's search path would otherwise add), and `<hostname>.<svc>.<ns>.svc.<domain>` for the ready pods of a
headless Service whose subdomain names it. ExternalName Services are CNAMEs, which a hosts file cannot hold.

The file is bind-mounted into every container of the pod, so it is rewritten in place (same inode) when the
names change.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from shim.clients.base import Resource
from shim.kubelet import dnsconfig, identity

SERVICES = Resource("", "v1", "services")
NODE_HOSTS = "/etc/hosts"
MANAGED_HEADER = "# Kubernetes-managed hosts file.\n"
HOST_NETWORK_HEADER = "# Kubernetes-managed hosts file (host network).\n"
CLUSTER_HEADER = "# Kubernetes services and headless-service pods (kubeshim: no cluster DNS, one shared network).\n"

#: (address, names) — one hosts file line.
Entry = tuple[str, tuple[str, ...]]


def alias_entries(aliases: list[dict[str, Any]] | None) -> str:
    """spec.hostAliases: one line per address, its hostnames tab-separated, after a blank line and a header."""
    if not aliases:
        return ""
    lines = "".join(f"{a.get('ip', '')}\t{chr(9).join(a.get('hostnames') or [])}\n" for a in aliases)
    return "\n# Entries added by HostAliases.\n" + lines


def managed_hosts(pod_ips: list[str], hostname: str, domain: str, aliases: list[dict[str, Any]] | None) -> str:
    """A pod network pod's file: localhost, the IPv6 names, the pod's IPs with its FQDN (with a subdomain) and
    hostname, then the hostAliases."""
    own = f"{hostname}.{domain}\t{hostname}" if domain else hostname
    return (MANAGED_HEADER + "127.0.0.1\tlocalhost\n" + "::1\tlocalhost ip6-localhost ip6-loopback\n"
            + "fe00::0\tip6-localnet\n" + "fe00::0\tip6-mcastprefix\n" + "fe00::1\tip6-allnodes\n"
            + "fe00::2\tip6-allrouters\n" + "".join(f"{ip}\t{own}\n" for ip in pod_ips) + alias_entries(aliases))


def node_hosts(node_file: str, aliases: list[dict[str, Any]] | None) -> str:
    """A hostNetwork pod's file: the node's own, then the hostAliases."""
    return HOST_NETWORK_HEADER + node_file + alias_entries(aliases)


def cluster_entries(entries: list[Entry]) -> str:
    if not entries:
        return ""
    return "\n" + CLUSTER_HEADER + "".join(f"{ip}\t{chr(9).join(names)}\n" for ip, names in entries)


def pod_hosts(pod: dict[str, Any], pod_ips: list[str], cluster_domain: str, cluster: list[Entry]) -> str:
    """The whole file for `pod`: the kubelet's (the node's for hostNetwork), then the cluster's names when the
    pod's DNS policy would have cluster DNS answer them."""
    spec = pod.get("spec") or {}
    aliases = spec.get("hostAliases")
    if spec.get("hostNetwork"):
        try:
            text = node_hosts(Path(NODE_HOSTS).read_text(), aliases)
        except OSError:
            text = node_hosts("", aliases)
    else:
        text = managed_hosts(pod_ips, identity.short_hostname(pod), identity.pod_domain(pod, cluster_domain),
                             aliases)
    if dnsconfig.dns_type(pod) == dnsconfig.CLUSTER:
        text += cluster_entries(cluster)
    return text


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class ClusterNames:
    """The Service and headless-pod names of the cluster, from the kubelet's Service and Pod caches."""

    def __init__(self, services: Callable[[], Iterable[dict[str, Any]]],
                 pods: Callable[[], Iterable[dict[str, Any]]], address: str, cluster_domain: str) -> None:
        self.services = services
        self.pods = pods
        self.address = address
        self.domain = cluster_domain
        self._cache: dict[str, list[Entry]] = {}

    def invalidate(self) -> None:
        """The caches changed: compute the names afresh (once per namespace, however many pods ask)."""
        self._cache.clear()

    def entries(self, namespace: str) -> list[Entry]:
        """What a pod of `namespace` resolves: every Service's names, then headless Services' pod names."""
        if namespace not in self._cache:
            self._cache[namespace] = self._entries(namespace)
        return self._cache[namespace]

    def _entries(self, namespace: str) -> list[Entry]:
        services = sorted(self.services(), key=lambda s: ((s.get("metadata") or {}).get("namespace", ""),
                                                          (s.get("metadata") or {}).get("name", "")))
        out: list[Entry] = []
        headless: list[dict[str, Any]] = []
        for svc in services:
            meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
            if spec.get("type") == "ExternalName":
                continue
            name, ns = meta.get("name", ""), meta.get("namespace", "")
            names = (f"{name}.{ns}.svc.{self.domain}", f"{name}.{ns}.svc", f"{name}.{ns}")
            out.append((self.address, names + ((name,) if ns == namespace else ())))
            if spec.get("clusterIP") == "None" and spec.get("selector"):
                headless.append(svc)
        if headless:
            out += self._pod_entries(headless)
        return out

    def _pod_entries(self, headless: list[dict[str, Any]]) -> list[Entry]:
        """`<hostname>.<svc>.<ns>.svc.<domain>` for the pods the endpoints controller gives a hostname: those
        selected by a headless Service that their spec.subdomain names, ready (or published when not)."""
        wanted = {((s.get("metadata") or {}).get("namespace", ""), (s.get("metadata") or {}).get("name", "")): s
                  for s in headless}
        names: set[str] = set()
        for pod in self.pods():
            meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
            svc = wanted.get((meta.get("namespace", ""), spec.get("subdomain", "")))
            if svc is None or not spec.get("hostname") or meta.get("deletionTimestamp"):
                continue
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            if not _selects((svc.get("spec") or {}).get("selector") or {}, meta.get("labels") or {}):
                continue
            if not (_ready(pod) or (svc.get("spec") or {}).get("publishNotReadyAddresses")):
                continue
            names.add(f"{spec['hostname']}.{spec['subdomain']}.{meta.get('namespace', '')}.svc.{self.domain}")
        return [(self.address, (name,)) for name in sorted(names)]


def no_cluster_names(namespace: str) -> list[Entry]:
    """For a node that watches no Services."""
    return []


def write_in_place(path: Path, text: str) -> None:
    """Write the file keeping its inode (containers see it through a bind mount): new bytes first, then cut
    the tail, so a reader never sees an empty file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(text.encode())
        fh.truncate()
    os.chmod(path, 0o644)
