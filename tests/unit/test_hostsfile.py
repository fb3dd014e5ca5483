"""A pod's /etc/hosts: the kubelet's own lines byte for byte (pkg/kubelet/kubelet_pods.go), then the names
kubeshim writes in place of cluster DNS, rewritten in place."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from shim.kubelet import hostsfile
from shim.kubelet.hostsfile import ClusterNames

KUBELET_LINES = ("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                 "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")


def pod(name: str = "web", namespace: str = "shop", labels: dict[str, str] | None = None, ready: bool = True,
        **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"containers": [{"name": "c"}], "dnsPolicy": "ClusterFirst", **spec},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": str(ready)}]}}


def service(name: str, namespace: str = "shop", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace}, "spec": {"clusterIP": "10.96.0.10", **spec}}


def names(services: list[dict[str, Any]], pods: list[dict[str, Any]] | None = None) -> ClusterNames:
    return ClusterNames(lambda: services, lambda: pods or [], "127.0.0.1", "cluster.local")


def test_a_pod_without_subdomain_gets_its_ip_and_hostname_after_the_localhost_lines() -> None:
    assert hostsfile.pod_hosts(pod(), ["127.0.0.1"], "cluster.local", []) == KUBELET_LINES + "127.0.0.1\tweb\n"


def test_a_pod_with_a_subdomain_gets_its_fqdn_first_then_its_hostname() -> None:
    text = hostsfile.pod_hosts(pod(hostname="h", subdomain="sub"), ["127.0.0.1"], "cluster.local", [])
    assert text == KUBELET_LINES + "127.0.0.1\th.sub.shop.svc.cluster.local\th\n"


def test_host_aliases_follow_a_blank_line_and_their_header_one_line_per_address() -> None:
    aliases = [{"ip": "123.45.67.89", "hostnames": ["foo", "bar", "baz"]}, {"ip": "::2", "hostnames": ["v6"]}]
    text = hostsfile.pod_hosts(pod(hostAliases=aliases), ["127.0.0.1"], "cluster.local", [])
    assert text.endswith("127.0.0.1\tweb\n\n# Entries added by HostAliases.\n123.45.67.89\tfoo\tbar\tbaz\n::2\tv6\n")


def test_a_host_network_pod_gets_the_nodes_file_under_its_own_header_then_the_aliases() -> None:
    text = hostsfile.pod_hosts(pod(hostNetwork=True, hostAliases=[{"ip": "1.2.3.4", "hostnames": ["a"]}]),
                               ["127.0.0.1"], "cluster.local", [])
    node = Path("/etc/hosts").read_text()
    assert text == "# Kubernetes-managed hosts file (host network).\n" + node + \
        "\n# Entries added by HostAliases.\n1.2.3.4\ta\n"


def test_every_service_resolves_by_its_fqdn_and_partial_names_and_by_its_name_in_its_own_namespace() -> None:
    entries = names([service("db"), service("api", "other")]).entries("shop")
    assert entries == [("127.0.0.1", ("api.other.svc.cluster.local", "api.other.svc", "api.other")),
                       ("127.0.0.1", ("db.shop.svc.cluster.local", "db.shop.svc", "db.shop", "db"))]


def test_external_name_services_are_left_out() -> None:
    assert names([service("ext", type="ExternalName", externalName="example.com")]).entries("shop") == []


def test_cluster_names_follow_the_kubelets_lines_for_a_cluster_first_pod() -> None:
    text = hostsfile.pod_hosts(pod(), ["127.0.0.1"], "cluster.local", names([service("db")]).entries("shop"))
    assert text.startswith(KUBELET_LINES + "127.0.0.1\tweb\n\n# Kubernetes services")
    assert text.endswith("\n127.0.0.1\tdb.shop.svc.cluster.local\tdb.shop.svc\tdb.shop\tdb\n")


def test_a_pod_whose_dns_policy_is_not_a_cluster_one_gets_no_cluster_names() -> None:
    entries = names([service("db")]).entries("shop")
    for spec in ({"dnsPolicy": "Default"}, {"dnsPolicy": "ClusterFirst", "hostNetwork": True}):
        assert "db.shop" not in hostsfile.pod_hosts(pod(**spec), ["127.0.0.1"], "cluster.local", entries)
    with_host_net = pod(dnsPolicy="ClusterFirstWithHostNet", hostNetwork=True)
    assert "db.shop.svc.cluster.local" in hostsfile.pod_hosts(with_host_net, ["127.0.0.1"], "cluster.local", entries)


def test_ready_selected_pods_of_a_headless_service_named_by_their_subdomain_resolve_by_hostname() -> None:
    headless = service("peers", clusterIP="None", selector={"app": "p"})
    pods = [pod("p0", labels={"app": "p"}, hostname="p0", subdomain="peers"),
            pod("p1", labels={"app": "p"}, hostname="p1", subdomain="peers", ready=False),
            pod("p2", labels={"app": "other"}, hostname="p2", subdomain="peers"),
            pod("p3", labels={"app": "p"}, hostname="p3", subdomain="elsewhere")]
    entries = names([headless], pods).entries("shop")
    assert ("127.0.0.1", ("p0.peers.shop.svc.cluster.local",)) in entries
    assert not any("p1." in n or "p2." in n or "p3." in n for _, ns in entries for n in ns)


def test_publish_not_ready_addresses_names_unready_pods_too() -> None:
    headless = service("peers", clusterIP="None", selector={"app": "p"}, publishNotReadyAddresses=True)
    pods = [pod("p1", labels={"app": "p"}, hostname="p1", subdomain="peers", ready=False)]
    assert ("127.0.0.1", ("p1.peers.shop.svc.cluster.local",)) in names([headless], pods).entries("shop")


def test_rewriting_keeps_the_inode_a_bind_mount_refers_to(tmp_path: Path) -> None:
    path = tmp_path / "etc-hosts"
    hostsfile.write_in_place(path, "a long first version\n")
    inode = os.stat(path).st_ino
    hostsfile.write_in_place(path, "short\n")
    assert os.stat(path).st_ino == inode
    assert path.read_text() == "short\n"
    assert os.stat(path).st_mode & 0o777 == 0o644


def test_names_are_computed_once_per_namespace_until_invalidated() -> None:
    services = [service("db")]
    table = names(services)
    assert table.entries("shop")[0][1][0] == "db.shop.svc.cluster.local"
    services.append(service("cache"))
    assert len(table.entries("shop")) == 1
    table.invalidate()
    assert len(table.entries("shop")) == 2
