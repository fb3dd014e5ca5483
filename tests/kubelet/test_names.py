"""Names inside a pod: its /etc/hosts (the kubelet's lines, hostAliases, and every Service, rewritten as Services
come and go) and its /etc/resolv.conf, bind-mounted into the container's own root; the host's files untouched."""
from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from shim.clients.base import CONFIGMAPS
from shim.kubelet.hostsfile import SERVICES
from shim.kubelet.runtime.provider import Provider

from .conftest import Harness, make_pod

RESOLVE = ("import socket, sys\n"
           "for name in sys.argv[1:]:\n"
           "    print(name, socket.getaddrinfo(name, 80, socket.AF_INET)[0][4][0])\n")


@pytest.fixture(autouse=True)
def _needs_namespaces(harness: Harness) -> None:
    if not harness.caps[0]:
        pytest.skip("this host allows no private mount namespaces")


def service(name: str, namespace: str = "default") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"app": name}, "ports": [{"port": 8080}]}}


def log_lines(harness: Harness, pod: dict[str, Any], container: str = "c") -> list[str]:
    cid = harness.container_status(pod, container)["containerID"].split("://")[1]
    return [line.split(" ", 3)[3] for line in harness.kubelet.provider.log_path(cid).read_text().splitlines()]


async def run_to_end(harness: Harness, pod: dict[str, Any]) -> dict[str, Any]:
    await harness.create(pod)
    done = await harness.wait_phase(pod["metadata"]["name"], "Succeeded", "Failed")
    assert done["status"]["phase"] == "Succeeded", log_lines(harness, done)
    return done


async def test_a_service_resolves_by_its_fqdn_partial_names_and_short_name(harness: Harness) -> None:
    await harness.client.create(SERVICES, service("db"), "default")
    await harness.start()
    names = ["db.default.svc.cluster.local", "db.default.svc", "db.default", "db"]
    pod = await run_to_end(harness, make_pod("client", [{"name": "c", "command": ["python", "-c", RESOLVE, *names]}],
                                             restartPolicy="Never"))
    assert log_lines(harness, pod) == [f"{name} 127.0.0.1" for name in names]


async def test_another_namespaces_service_resolves_by_namespace_qualified_names_only(harness: Harness) -> None:
    await harness.client.create(SERVICES, service("api", "kube-system"), "kube-system")
    await harness.start()
    script = "getent hosts api.kube-system.svc.cluster.local api.kube-system; getent hosts api || echo no api"
    pod = await run_to_end(harness, make_pod("client", [{"name": "c", "command": ["sh", "-c", script]}],
                                             restartPolicy="Never"))
    assert [line.split()[0] for line in log_lines(harness, pod)] == ["127.0.0.1", "127.0.0.1", "no"]


async def test_a_service_created_after_the_pod_started_resolves_and_a_deleted_one_stops(harness: Harness) -> None:
    await harness.start()
    await harness.create(make_pod("waiter", [{"name": "c", "command": ["sleep", "60"]}]))
    pod = await harness.wait_status("waiter", lambda p: harness.container_status(p, "c")["state"].get("running"))
    cid = harness.container_status(pod, "c")["containerID"].split("://")[1]
    provider: Provider = harness.kubelet.provider

    async def resolves(name: str) -> bool:
        execution = await provider.exec(cid, ["getent", "hosts", name], stdout=True)
        return await execution.wait() == 0

    assert not await resolves("late.default.svc.cluster.local")
    await harness.client.create(SERVICES, service("late"), "default")
    await until(lambda: resolves("late.default.svc.cluster.local"))
    assert await resolves("late")
    await harness.client.delete(SERVICES, "late", "default")
    await until(lambda: _negate(resolves("late")))


async def _negate(result: Any) -> bool:
    return not await result


async def until(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_ready_pod_of_a_headless_service_resolves_by_hostname_and_subdomain(harness: Harness) -> None:
    headless = service("peers")
    headless["spec"].update(clusterIP="None", selector={"app": "peer"})
    await harness.client.create(SERVICES, headless, "default")
    await harness.start()
    member = make_pod("member", [{"name": "c", "command": ["sleep", "60"]}], hostname="m0", subdomain="peers")
    member["metadata"]["labels"] = {"app": "peer"}
    await harness.create(member)
    await harness.wait_status("member", lambda p: harness.container_status(p, "c")["ready"])
    pod = await run_to_end(harness, make_pod("client", [{"name": "c", "command": [
        "getent", "hosts", "m0.peers.default.svc.cluster.local"]}], restartPolicy="Never"))
    assert log_lines(harness, pod)[0].split() == ["127.0.0.1", "m0.peers.default.svc.cluster.local"]


async def test_host_aliases_and_the_pods_own_name_are_in_etc_hosts(harness: Harness) -> None:
    await harness.start()
    aliases = [{"ip": "123.45.67.89", "hostnames": ["foo.local", "bar.local"]}]
    pod = await run_to_end(harness, make_pod("aliased", [{"name": "c", "command": ["cat", "/etc/hosts"]}],
                                             restartPolicy="Never", hostAliases=aliases))
    lines = log_lines(harness, pod)
    assert lines[0] == "# Kubernetes-managed hosts file."
    assert "127.0.0.1\taliased" in lines
    assert lines[lines.index("# Entries added by HostAliases.") + 1] == "123.45.67.89\tfoo.local\tbar.local"
    assert "Kubernetes-managed" not in open("/etc/hosts").read()


async def test_a_host_network_pod_gets_the_nodes_hosts_file_with_its_aliases(harness: Harness) -> None:
    await harness.start()
    aliases = [{"ip": "123.45.67.89", "hostnames": ["foo", "bar"]}]
    pod = await run_to_end(harness, make_pod("hostnet", [{"name": "c", "command": ["cat", "/etc/hosts"]}],
                                             restartPolicy="Never", hostNetwork=True, hostAliases=aliases))
    node = open("/etc/hosts").read().splitlines()
    assert log_lines(harness, pod) == ["# Kubernetes-managed hosts file (host network).", *node, "",
                                       "# Entries added by HostAliases.", "123.45.67.89\tfoo\tbar"]


async def test_hostname_f_is_the_fqdn_with_a_subdomain(harness: Harness) -> None:
    await harness.start()
    pod = await run_to_end(harness, make_pod("p", [{"name": "c", "command": ["hostname", "-f"]}],
                                             restartPolicy="Never", hostname="chosen", subdomain="sub"))
    assert log_lines(harness, pod) == ["chosen.sub.default.svc.cluster.local"]


async def test_resolv_conf_searches_the_cluster_domains_with_ndots_5(harness: Harness) -> None:
    await harness.start()
    pod = await run_to_end(harness, make_pod("dns", [{"name": "c", "command": ["cat", "/etc/resolv.conf"]}],
                                             namespace="default", restartPolicy="Never"))
    lines = log_lines(harness, pod)
    assert lines[0].startswith("search default.svc.cluster.local svc.cluster.local cluster.local")
    assert lines[-1] == "options ndots:5"
    assert "ndots:5" not in open("/etc/resolv.conf").read()


async def test_a_volume_at_etc_hosts_replaces_the_kubelets_file(harness: Harness) -> None:
    await harness.client.create(CONFIGMAPS, {"metadata": {"name": "hosts"}, "data": {"hosts": "10.1.2.3\tmine\n"}},
                                "default")
    await harness.start()
    pod = await run_to_end(harness, make_pod("own", [{"name": "c", "command": ["cat", "/etc/hosts"], "volumeMounts": [
        {"name": "v", "mountPath": "/etc/hosts", "subPath": "hosts"}]}],
        restartPolicy="Never", volumes=[{"name": "v", "configMap": {"name": "hosts"}}]))
    assert log_lines(harness, pod) == ["10.1.2.3\tmine"]
