"""Services: type, ports, and the cluster IP and node ports the API allocates (shim.registry.kinds.service_allocation;
nothing routes to a cluster IP: it is bookkeeping)."""
from __future__ import annotations

from typing import Any

from shim.machinery import errors, names, tables
from shim.registry.kinds.service_allocation import SERVICE_CIDR, allocate
from shim.registry.strategy import Causes, Obj, Stored, Strategy

#: the range's first address, as upstream gives it to the `kubernetes` Service
KUBERNETES_SERVICE_IP = str(SERVICE_CIDR.network_address + 1)


class ServiceStrategy(Strategy):
    has_status_subresource = True
    tracks_generation = False
    returns_deleted_object = True
    field_labels = frozenset({"metadata.name", "metadata.namespace", "spec.clusterIP", "spec.type"})

    def validate_name(self, name: str) -> list[str]:
        return names.dns1123_label(name)

    def default(self, obj: Obj) -> None:
        """Upstream's scheme defaults (SetDefaults_Service)."""
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            return
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] in ("ClusterIP", "NodePort", "LoadBalancer"):
            spec.setdefault("internalTrafficPolicy", "Cluster")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))

    def prepare_for_create(self, obj: Obj) -> None:
        """The IP families the registry defaults (the cluster IP follows in `admit`), and the empty status."""
        spec = obj.setdefault("spec", {})
        if spec.get("type") != "ExternalName":
            if spec.get("clusterIP") and not spec.get("clusterIPs"):
                spec["clusterIPs"] = [spec["clusterIP"]]
            if spec.get("clusterIP") == "None" and not spec.get("selector"):
                # headless and selectorless: upstream defaults it to both families, whatever the cluster has
                spec.setdefault("ipFamilyPolicy", "RequireDualStack")
                if spec["ipFamilyPolicy"] != "SingleStack":
                    spec.setdefault("ipFamilies", ["IPv4", "IPv6"])
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
        obj["status"] = {"loadBalancer": {}}

    def admit(self, obj: Obj, old: Obj | None, stored: Stored) -> None:
        """The cluster IP and node ports, allocated or checked (upstream does it as the write begins)."""
        allocate(obj, old, stored)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        spec, old_spec = new.setdefault("spec", {}), old.get("spec") or {}
        for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if key in old_spec and not spec.get(key):
                spec[key] = old_spec[key]

    def validate(self, obj: Obj) -> Causes:
        spec = obj.get("spec") or {}
        causes: Causes = []
        if spec.get("type") not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
            causes.append(errors.field_not_supported("spec.type", spec.get("type"),
                                                     ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]))
        for i, port in enumerate(spec.get("ports") or []):
            if not isinstance(port, dict) or not isinstance(port.get("port"), int):
                causes.append(errors.field_required(f"spec.ports[{i}].port"))
        return causes

    def fields(self, obj: Obj) -> dict[str, str]:
        out = super().fields(obj)
        spec = obj.get("spec") or {}
        out["spec.clusterIP"] = spec.get("clusterIP", "")
        out["spec.type"] = spec.get("type", "")
        return out

    def table_columns(self) -> list[dict[str, Any]]:
        return SERVICE_COLUMNS

    def table_cells(self, obj: Obj) -> list[Any]:
        return service_cells(obj)

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        causes = self.validate(new)
        old_ip = (old.get("spec") or {}).get("clusterIP")
        if old_ip and (new.get("spec") or {}).get("clusterIP") != old_ip:
            causes.append(errors.field_invalid("spec.clusterIP", (new.get("spec") or {}).get("clusterIP"),
                                               "field is immutable"))
        return causes


SERVICE_COLUMNS = [
    tables.column("Type", description="type determines how the Service is exposed."),
    tables.column("Cluster-IP", description="clusterIP is the IP address of the service."),
    tables.column("External-IP", description="externalIPs is a list of IP addresses for which nodes in the "
                  "cluster will also accept traffic for this service."),
    tables.column("Port(s)", description="The list of ports that are exposed by this service."),
    tables.AGE_COLUMN,
    tables.column("Selector", priority=1, description="Route service traffic to pods with label keys and values "
                  "matching this selector."),
]


def _external_ip(spec: Obj, status: Obj) -> str:
    external = list(spec.get("externalIPs") or [])
    kind = spec.get("type")
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        balanced = sorted({i.get("ip") or i.get("hostname") for i in (status.get("loadBalancer") or {})
                           .get("ingress") or [] if i.get("ip") or i.get("hostname")})
        return ",".join(balanced + external) or "<pending>"
    if kind == "ExternalName":
        name: str = spec.get("externalName", "")
        return name
    return "<unknown>"


def service_cells(obj: Obj) -> list[Any]:
    """Upstream's printService: Type, Cluster-IP, External-IP, Port(s), Age, Selector."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    ports = []
    for port in spec.get("ports") or []:
        node_port = f":{port['nodePort']}" if port.get("nodePort") else ""
        ports.append(f"{port.get('port')}{node_port}/{port.get('protocol', 'TCP')}")
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    return [spec.get("type", ""), (spec.get("clusterIPs") or ["<none>"])[0], _external_ip(spec, status),
            ",".join(ports) or "<none>", tables.age(obj), selector]
