"""A pod's /etc/resolv.conf: the kubelet's DNS settings (pkg/kubelet/network/dns GetPodDNS) with the host's
nameservers standing in for a cluster DNS server, written as containerd writes them."""
from __future__ import annotations

from typing import Any

from shim.kubelet import dnsconfig
from shim.kubelet.dnsconfig import DNSConfig

HOST = dnsconfig.parse_resolv_conf("# host\nnameserver 10.0.0.2\nsearch corp.example. lab.example\n"
                                   "nameserver 10.0.0.3\noptions timeout:2 ndots:1\n")


def pod(namespace: str = "shop", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": namespace}, "spec": {"containers": [], **spec}}


def resolv(p: dict[str, Any], host: DNSConfig = HOST) -> str:
    config, _ = dnsconfig.pod_dns(p, host, "cluster.local")
    return dnsconfig.render(config)


def test_the_host_file_parses_as_upstream_reads_it() -> None:
    assert HOST == DNSConfig(["10.0.0.2", "10.0.0.3"], ["corp.example", "lab.example"], ["timeout:2", "ndots:1"])


def test_cluster_first_searches_the_cluster_domains_then_the_hosts_with_its_nameservers_and_ndots_5() -> None:
    assert resolv(pod(dnsPolicy="ClusterFirst")) == (
        "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\n"
        "nameserver 10.0.0.2\nnameserver 10.0.0.3\noptions ndots:5\n")


def test_default_is_the_hosts_settings() -> None:
    assert resolv(pod(dnsPolicy="Default")) == ("search corp.example lab.example\nnameserver 10.0.0.2\n"
                                                "nameserver 10.0.0.3\noptions timeout:2 ndots:1\n")


def test_cluster_first_on_the_host_network_is_default_and_cluster_first_with_host_net_is_not() -> None:
    assert resolv(pod(dnsPolicy="ClusterFirst", hostNetwork=True)) == resolv(pod(dnsPolicy="Default"))
    assert resolv(pod(dnsPolicy="ClusterFirstWithHostNet", hostNetwork=True)) == resolv(pod(dnsPolicy="ClusterFirst"))


def test_none_is_exactly_the_pods_dns_config() -> None:
    spec = {"dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1"], "searches": ["resolv.conf.local"],
                                               "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}}
    assert resolv(pod(**spec)) == "search resolv.conf.local\nnameserver 1.1.1.1\noptions ndots:2 edns0\n"


def test_dns_config_is_merged_without_duplicates_its_options_replacing_same_named_ones() -> None:
    spec = {"dnsPolicy": "ClusterFirst", "dnsConfig": {
        "nameservers": ["10.0.0.2", "9.9.9.9"], "searches": ["cluster.local", "extra.example"],
        "options": [{"name": "ndots", "value": "3"}, {"name": "single-request-reopen"}]}}
    assert resolv(pod(**spec)) == (
        "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example extra.example\n"
        "nameserver 10.0.0.2\nnameserver 10.0.0.3\nnameserver 9.9.9.9\noptions ndots:3 single-request-reopen\n")


def test_more_than_three_nameservers_are_cut_with_a_warning() -> None:
    config, warnings = dnsconfig.pod_dns(pod(dnsPolicy="Default", dnsConfig={"nameservers": ["1.1.1.1", "8.8.8.8"]}),
                                         HOST, "cluster.local")
    assert config.servers == ["10.0.0.2", "10.0.0.3", "1.1.1.1"]
    assert warnings == ["Nameserver limits were exceeded, some nameservers have been omitted, the applied "
                        "nameserver line is: 10.0.0.2 10.0.0.3 1.1.1.1"]


def test_more_than_32_search_paths_are_cut_with_a_warning() -> None:
    many = [f"d{i}.example" for i in range(40)]
    config, warnings = dnsconfig.pod_dns(pod(dnsPolicy="None", dnsConfig={"searches": many}), HOST, "cluster.local")
    assert config.searches == many[:32]
    assert warnings == ["Search Line limits were exceeded, some search paths have been omitted, the applied "
                        "search line is: " + " ".join(many[:32])]


def test_nothing_to_say_renders_empty() -> None:
    assert resolv(pod(dnsPolicy="Default"), DNSConfig()) == ""
