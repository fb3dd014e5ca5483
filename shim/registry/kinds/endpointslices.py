"""discovery.k8s.io EndpointSlices: stored and validated (nothing proxies to them; the `kubernetes` Service's
slice and clients' own slices are bookkeeping, as Endpoints are)."""
from __future__ import annotations

import ipaddress
from typing import Any

from shim.machinery import errors, tables
from shim.registry.strategy import Causes, NoStatusStrategy, Obj

ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"]
#: how many addresses or ports a Table cell names before "+ N more..." (upstream's printers)
_SHOWN = 3


class EndpointSliceStrategy(NoStatusStrategy):
    tracks_generation = True

    def validate(self, obj: Obj) -> Causes:
        address_type = obj.get("addressType")
        if not address_type:
            return [errors.field_required("addressType")]
        if address_type not in ADDRESS_TYPES:
            return [errors.field_not_supported("addressType", address_type, ADDRESS_TYPES)]
        causes: Causes = []
        for i, endpoint in enumerate(obj.get("endpoints") or []):
            path = f"endpoints[{i}].addresses"
            addresses = (endpoint or {}).get("addresses") or []
            if not addresses:
                causes.append(errors.field_required(path, "must contain at least 1 address"))
            causes += [errors.field_invalid(f"{path}[{j}]", address, _address_problem(address_type))
                       for j, address in enumerate(addresses) if not _valid_address(address_type, address)]
        return causes

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        if new.get("addressType") != old.get("addressType"):
            return [errors.field_invalid("addressType", new.get("addressType"), "field is immutable")]
        return []

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return any(new.get(key) != old.get(key) for key in ("addressType", "endpoints", "ports"))

    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("AddressType", description="Type of address contained in slice"),
                tables.column("Ports", description="Ports contained in slice"),
                tables.column("Endpoints", description="Endpoints contained in slice")]

    def table_cells(self, obj: Obj) -> list[Any]:
        ports = [str(p["port"]) if isinstance(p, dict) and p.get("port") is not None else "<unset>"
                 for p in obj.get("ports") or []]
        addresses = [a for e in obj.get("endpoints") or [] for a in (e or {}).get("addresses") or []]
        return [obj.get("addressType", ""), _first_few(ports), _first_few(addresses)]


def _first_few(values: list[str]) -> str:
    if not values:
        return "<unset>"
    shown = ",".join(values[:_SHOWN])
    return shown + (f" + {len(values) - _SHOWN} more..." if len(values) > _SHOWN else "")


def _valid_address(address_type: str, address: Any) -> bool:
    if not isinstance(address, str):
        return False
    if address_type == "FQDN":
        return bool(address) and len(address) <= 253
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return parsed.version == (4 if address_type == "IPv4" else 6)


def _address_problem(address_type: str) -> str:
    if address_type == "FQDN":
        return "must be a valid DNS subdomain"
    return f"must be a valid {address_type} address"
