"""pods/proxy, services/proxy and nodes/proxy: where a proxied request goes (upstream's ProxyREST and the
ResourceLocation of pods, services and nodes). The server forwards the request there (shim.server.proxy).

The name in the path may carry a scheme and a port: `name`, `name:port` or `scheme:name:port` (http or https).
A pod is reached at its IP and the given port, else the first port its containers declare; a service at a ready
address of its Endpoints that is a pod's IP, on the endpoint port named as the service port the request names;
a node at its address, on the kubelet's port unless another is given. Pods share the host's network here, so
their IP is a loopback address, which upstream refuses ("address not allowed") and kubeshim accepts.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shim.machinery import errors
from shim.registry.strategy import Obj
from shim.registry.subresource import Kind, Subresource

if TYPE_CHECKING:
    from shim.registry.resource import ResourceInfo
    from shim.registry.rest import Verbs

#: the node address types upstream's --kubelet-preferred-address-types tries, InternalIP first: kubeshim's node
#: hostname names no address anyone resolves
NODE_ADDRESS_TYPES = ("InternalIP", "Hostname", "InternalDNS", "ExternalDNS", "ExternalIP")


@dataclass(frozen=True)
class Location:
    """Where a proxied request goes: scheme, host and port (None: the scheme's own)."""

    scheme: str
    host: str
    port: int | None


def split_scheme_name_port(ident: str) -> tuple[str, str, str] | None:
    """(scheme, name, port) of `name`, `name:port` or `scheme:name:port`; None when malformed
    (utilnet.SplitSchemeNamePort)."""
    parts = ident.split(":")
    if len(parts) > 3:
        return None
    scheme = parts.pop(0) if len(parts) == 3 else ""
    name, port = parts[0], parts[1] if len(parts) == 2 else ""
    if not name or scheme not in ("", "http", "https"):
        return None
    return scheme, name, port


def _port(port: str) -> int | None:
    """A port of the path as a number (None: the scheme's own); one Go cannot dial is the transport's error."""
    if not port:
        return None
    if port.isdigit() and int(port) < 65536:
        return int(port)
    if port.isdigit():
        raise errors.unavailable(f"error trying to reach service: dial tcp: address {port}: invalid port")
    raise errors.unavailable(f"error trying to reach service: dial tcp: lookup tcp/{port}: unknown port")


def _reachable(ip: str) -> bool:
    """An address the proxy dials: a unicast one (upstream: global unicast only; here loopback too)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return not (address.is_unspecified or address.is_multicast or address.is_link_local)


class Proxy(Subresource):
    """A connect subresource whose requests are forwarded: any path below it, the methods upstream proxies."""

    name = "proxy"
    verbs = ("create", "delete", "get", "patch", "update")
    views = False

    def location(self, verbs: Verbs, info: ResourceInfo, namespace: str, ident: str) -> Location:
        """Where requests to `ident`'s proxy go; the Status upstream answers when they cannot."""
        raise NotImplementedError


class PodProxy(Proxy):
    kind = Kind("", "v1", "PodProxyOptions")

    def location(self, verbs: Verbs, info: ResourceInfo, namespace: str, ident: str) -> Location:
        split = split_scheme_name_port(ident)
        if split is None:
            raise errors.bad_request(f'invalid pod request "{ident}"')
        scheme, name, port = split
        pod = verbs.registry.get(info, namespace, name)
        if not port:
            port = next((str(c["ports"][0].get("containerPort", "")) for c in (pod.get("spec") or {}).get(
                "containers") or [] if c.get("ports")), "")
        status = pod.get("status") or {}
        ip = ((status.get("podIPs") or [{}])[0]).get("ip") or status.get("podIP") or ""
        if not _reachable(ip):
            raise errors.bad_request("address not allowed")
        return Location(scheme or "http", ip, _port(port))


class ServiceProxy(Proxy):
    kind = Kind("", "v1", "ServiceProxyOptions")

    def location(self, verbs: Verbs, info: ResourceInfo, namespace: str, ident: str) -> Location:
        split = split_scheme_name_port(ident)
        if split is None:
            raise errors.bad_request(f'invalid service request "{ident}"')
        scheme, name, port = split
        if port.lstrip("+-").isdigit():  # a port number names the service port declaring it
            service = verbs.registry.get(info, namespace, name)
            declared = next((p for p in (service.get("spec") or {}).get("ports") or []
                             if p.get("port") == int(port)), None)
            if declared is None:
                raise errors.unavailable(f'no service port {int(port)} found for service "{name}"')
            port = declared.get("name", "")
        endpoints = verbs.registry.get(verbs.resource("", "v1", "endpoints"), namespace, name)
        subsets = endpoints.get("subsets") or []
        if not subsets:
            raise errors.unavailable(f'no endpoints available for service "{name}"')
        for subset in subsets:
            for endpoint_port in subset.get("ports") or []:
                if endpoint_port.get("name", "") != port:
                    continue
                for address in subset.get("addresses") or []:
                    if self._is_pod_address(verbs, namespace, address):
                        return Location(scheme or "http", address["ip"], endpoint_port.get("port"))
        raise errors.unavailable(f'no endpoints available for service "{ident}"')

    @staticmethod
    def _is_pod_address(verbs: Verbs, namespace: str, address: Obj) -> bool:
        """Upstream proxies only to addresses that are the IP of the pod they refer to, in the same namespace."""
        ref = address.get("targetRef") or {}
        if not ref or ref.get("namespace") != namespace:
            return False
        try:
            pod = verbs.registry.get(verbs.resource("", "v1", "pods"), namespace, ref.get("name", ""))
        except errors.StatusError:
            return False
        return address.get("ip") in [ip.get("ip") for ip in (pod.get("status") or {}).get("podIPs") or []]


class NodeProxy(Proxy):
    kind = Kind("", "v1", "NodeProxyOptions")

    def location(self, verbs: Verbs, info: ResourceInfo, namespace: str, ident: str) -> Location:
        split = split_scheme_name_port(ident)
        if split is None:
            raise errors.bad_request(f'invalid node request "{ident}"')
        scheme, name, port = split
        node = verbs.registry.get(info, "", name)
        status = node.get("status") or {}
        addresses = {a.get("type"): a.get("address", "") for a in reversed(status.get("addresses") or [])}
        host = next((addresses[t] for t in NODE_ADDRESS_TYPES if addresses.get(t)), "")
        if not host:
            raise errors.bad_request(f'no preferred addresses found; known addresses: {list(addresses.values())}')
        kubelet_port = str(((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port", 10250))
        if not port or port == kubelet_port:
            return Location("https", host, int(kubelet_port))
        return Location(scheme or "http", host, _port(port))
