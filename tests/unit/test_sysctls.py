"""A pod's sysctls validated as upstream does (the conformance test "should reject invalid sysctls")."""
from __future__ import annotations

from typing import Any

from shim.registry.kinds.pods import PodStrategy
from shim.registry.kinds.sysctls import PATTERN, namespace_of

Obj = dict[str, Any]


def causes(*names: str, **spec: Any) -> list[dict[str, str]]:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Always",
                    "securityContext": {"sysctls": [{"name": n, "value": "1"} for n in names]}, **spec}}
    return PodStrategy().validate(pod)


def test_well_formed_sysctls_pass() -> None:
    assert causes("kernel.shm_rmid_forced", "net.ipv4.conf.eno2/100.rp_filter", "net/ipv4/ip_forward") == []


def test_malformed_names_are_refused_with_upstreams_regex() -> None:
    found = causes("foo-", "bar..", "Kernel.x", "a" * 254)
    assert [c["field"] for c in found] == [f"spec.securityContext.sysctls[{i}].name" for i in range(4)]
    assert found[0]["message"] == f'Invalid value: "foo-": must have at most 253 characters and match regex {PATTERN}'
    assert PATTERN == r"^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$"


def test_a_missing_or_repeated_name_is_refused() -> None:
    assert [c["message"] for c in causes("", "kernel.msgmax", "kernel.msgmax")] == [
        "Required value", 'Duplicate value: "kernel.msgmax"']


def test_namespaced_sysctls_are_refused_where_the_pod_shares_the_hosts_namespace() -> None:
    assert [c["message"] for c in causes("net.core.somaxconn", hostNetwork=True)] == [
        "Invalid value: \"net.core.somaxconn\": may not be specified when 'hostNetwork' is true"]
    assert [c["message"] for c in causes("kernel.shmmax", "fs.mqueue.msg_max", hostIPC=True)] == [
        "Invalid value: \"kernel.shmmax\": may not be specified when 'hostIPC' is true",
        "Invalid value: \"fs.mqueue.msg_max\": may not be specified when 'hostIPC' is true"]
    assert causes("kernel.shmmax", hostNetwork=True) == []


def test_namespaces_of_sysctls_follow_upstreams_table() -> None:
    assert [namespace_of(n) for n in ("net/ipv4/ip_forward", "kernel.sem", "kernel.shm*", "vm.swappiness")] == [
        "Net", "IPC", "IPC", ""]
