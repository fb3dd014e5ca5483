"""ClusterIPs and NodePorts handed out as kube-apiserver's service REST storage does (pkg/registry/core/service
storage/alloc.go with its IP and port allocators): from the service CIDR (10.96.0.0/12, single-stack IPv4) and
the node-port range (30000-32767), a requested value checked against the range and against every other
service, a taken one refused in upstream's words.

What is allocated is read from the stored services themselves, so a delete releases at once and nothing can
leak; dynamic picks come from the upper part of each range as upstream's allocators prefer, leaving the first
addresses and ports to services that ask for a given one.
"""
from __future__ import annotations

import ipaddress
import secrets
from typing import Any

from shim.machinery import errors
from shim.registry.strategy import Causes, Obj, Stored

STORAGE = "/services"
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
NODE_PORTS = range(30000, 32768)
NODE_PORT_RANGE = f"{NODE_PORTS.start}-{NODE_PORTS.stop - 1}"
#: how many of the first addresses (ports) a dynamic pick leaves alone, as upstream's static band
_IP_BAND = min(max(16, (SERVICE_CIDR.num_addresses - 2) // 16), 256)
_PORT_BAND = min(max(16, len(NODE_PORTS) // 32), 128)
_PICK_ATTEMPTS = 64


def needs_cluster_ip(spec: Obj) -> bool:
    return bool(spec.get("type", "ClusterIP") != "ExternalName")


def needs_node_ports(spec: Obj) -> bool:
    return spec.get("type") in ("NodePort", "LoadBalancer")


def allocate(service: Obj, old: Obj | None, stored: Stored) -> None:
    """Fill in the cluster IP and node ports `service` lacks and check the ones it asks for (mutates it);
    raises upstream's 422."""
    spec = service.get("spec")
    if not isinstance(spec, dict):
        return
    name = str(service["metadata"].get("name") or "")
    others = [s for s in stored.items(STORAGE) if (s["metadata"].get("namespace"), s["metadata"].get("name"))
              != (service["metadata"].get("namespace"), name)]
    old_spec = (old or {}).get("spec") or {}
    if needs_cluster_ip(spec) and not old_spec.get("clusterIP"):
        _allocate_cluster_ip(spec, name, others)
    if needs_node_ports(spec):
        _allocate_node_ports(spec, old_spec, name, others)
    elif needs_node_ports(old_spec):
        _drop_node_ports(spec, old_spec)


def _allocate_cluster_ip(spec: Obj, name: str, others: list[Obj]) -> None:
    ips = spec.get("clusterIPs") or []
    if spec.get("clusterIP") and not ips:
        spec["clusterIPs"] = ips = [spec["clusterIP"]]
    elif not spec.get("clusterIP") and isinstance(ips, list) and ips:
        spec["clusterIP"] = ips[0]
    requested = spec.get("clusterIP") or ""
    if not isinstance(requested, str) or not isinstance(ips, list):
        return  # the type check refuses it
    causes = _ip_causes(ips)
    if causes:
        raise errors.invalid("Service", name, causes)
    if requested == "None":
        return
    used = {ip for s in others for ip in ((s.get("spec") or {}).get("clusterIPs") or [])}
    if not requested:
        ip = _pick_ip(used)
        spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
        return
    address = ipaddress.ip_address(requested)
    if not _in_range(address):
        problem = "the provided network does not match the current range"  # the CIDR allocator's ErrMismatchedNetwork
    elif str(address) in used:
        problem = "provided IP is already allocated"
    else:
        return
    raise errors.invalid("Service", name, [errors.field_invalid("spec.clusterIPs", ips,
                                                                f"failed to allocate IP {requested}: {problem}")])


def _ip_causes(ips: list[Any]) -> Causes:
    """Upstream's loose pre-validation of spec.clusterIPs (ValidateServiceClusterIPsRelatedFields' share)."""
    causes: Causes = []
    for i, ip in enumerate(ips):
        if i == 0 and ip == "None":
            if len(ips) > 1:
                causes.append(errors.field_invalid("spec.clusterIPs", ips, "'None' must be the first and only value"))
            continue
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            causes.append(errors.field_invalid(f"spec.clusterIPs[{i}]", ip, "must be a valid IP address, (e.g. "
                                                                           "10.9.8.7 or 2001:db8::ffff)"))
            continue
        if address.version == 6:
            causes.append(errors.field_invalid(f"spec.clusterIPs[{i}]", ips, "IPv6 is not configured on this "
                                                                            "cluster"))
    return causes


def _in_range(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a service may have `address`: in the CIDR, neither its network nor its broadcast address."""
    return address in SERVICE_CIDR and address not in (SERVICE_CIDR.network_address, SERVICE_CIDR.broadcast_address)


def _pick_ip(used: set[str]) -> str:
    """A random free address past the static band (then anywhere), as AllocateNextService."""
    size = SERVICE_CIDR.num_addresses - 2
    for low in (_IP_BAND, 0):
        for _ in range(_PICK_ATTEMPTS):
            candidate = str(SERVICE_CIDR.network_address + 1 + low + secrets.randbelow(size - low))
            if candidate not in used:
                return candidate
    free = next((str(SERVICE_CIDR.network_address + 1 + i) for i in range(size)
                 if str(SERVICE_CIDR.network_address + 1 + i) not in used), None)
    if free is None:
        raise errors.internal("failed to allocate a serviceIP: range is full")
    return free


def _used_node_ports(others: list[Obj]) -> set[int]:
    used: set[int] = set()
    for other in others:
        spec = other.get("spec") or {}
        used |= {p["nodePort"] for p in spec.get("ports") or [] if isinstance(p.get("nodePort"), int)}
        if isinstance(spec.get("healthCheckNodePort"), int):
            used.add(spec["healthCheckNodePort"])
    return used


def _claim_port(port: int, field: str, used: set[int], name: str) -> None:
    if port not in NODE_PORTS:
        problem = f"provided port is not in the valid range. The range of valid ports is {NODE_PORT_RANGE}"
    elif port in used:
        problem = "provided port is already allocated"
    else:
        used.add(port)
        return
    raise errors.invalid("Service", name, [errors.field_invalid(field, port, problem)])


def _pick_port(used: set[int]) -> int:
    for low in (_PORT_BAND, 0):
        for _ in range(_PICK_ATTEMPTS):
            candidate = NODE_PORTS.start + low + secrets.randbelow(len(NODE_PORTS) - low)
            if candidate not in used:
                used.add(candidate)
                return candidate
    free = next((p for p in NODE_PORTS if p not in used), None)
    if free is None:
        raise errors.internal("failed to allocate a nodePort: range is full")
    used.add(free)
    return free


def _allocate_node_ports(spec: Obj, old_spec: Obj, name: str, others: list[Obj]) -> None:
    """Each port's nodePort (one per port number across protocols), and the health-check port of a Local
    LoadBalancer; on update an unset nodePort keeps the one its port (by name) had, and a kept one is not
    checked again (upstream's patchAllocatedValues and updateNodePorts)."""
    used = _used_node_ports(others)
    ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
    old_ports = [p for p in old_spec.get("ports") or [] if isinstance(p, dict)] if needs_node_ports(old_spec) else []
    had = {p.get("nodePort") for p in old_ports if isinstance(p.get("nodePort"), int)}
    by_name = {p.get("name", ""): p.get("nodePort") for p in old_ports}
    taken_now = {p.get("nodePort") for p in ports if isinstance(p.get("nodePort"), int)}
    for port in ports:
        if not port.get("nodePort") and by_name.get(port.get("name", "")) in had - taken_now:
            port["nodePort"] = by_name[port.get("name", "")]
    by_number: dict[Any, int] = {}
    claimed: set[int] = set()
    for i, port in enumerate(ports):
        wanted = port.get("nodePort")
        if isinstance(wanted, int) and wanted:
            if wanted not in claimed and wanted not in had:
                _claim_port(wanted, f"spec.ports[{i}].nodePort", used, name)
            claimed.add(wanted)
            by_number.setdefault(port.get("port"), wanted)
        elif port.get("port") in by_number:
            port["nodePort"] = by_number[port.get("port")]
        else:
            port["nodePort"] = by_number[port.get("port")] = _pick_port(used)
    if spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local":
        wanted = spec.get("healthCheckNodePort")
        if isinstance(wanted, int) and wanted:
            if wanted != old_spec.get("healthCheckNodePort"):
                _claim_port(wanted, "spec.healthCheckNodePort", used, name)
        else:
            spec["healthCheckNodePort"] = _pick_port(used)


def _drop_node_ports(spec: Obj, old_spec: Obj) -> None:
    """A service no longer of a node-port type loses the node ports it kept unchanged (dropTypeDependentFields)."""
    old = {(p.get("port"), p.get("nodePort")) for p in old_spec.get("ports") or [] if isinstance(p, dict)}
    for port in spec.get("ports") or []:
        if isinstance(port, dict) and (port.get("port"), port.get("nodePort")) in old:
            port.pop("nodePort", None)
    if spec.get("healthCheckNodePort") == old_spec.get("healthCheckNodePort"):
        spec.pop("healthCheckNodePort", None)
