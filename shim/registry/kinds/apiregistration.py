"""apiregistration.k8s.io/v1 APIServices (kube-aggregator's pkg/apis/apiregistration): stored and validated as
upstream does. A local APIService (no spec.service) is served by this server and Available at once; kubeshim
does not proxy to aggregated API servers, so a service-backed one is stored and its status says it is not
available (shim.controllers.apiservices)."""
from __future__ import annotations

import base64
import binascii
from typing import Any

from shim.machinery import errors, names, tables, timeutil, validation
from shim.registry.strategy import Causes, Obj, Strategy

STORAGE = "apiregistration.k8s.io/apiservices"


def local_available(now: str | None = None) -> Obj:
    """The condition every local APIService has from its creation on."""
    return {"type": "Available", "status": "True", "lastTransitionTime": now or timeutil.now_string(),
            "reason": "Local", "message": "Local APIServices are always available"}


def _ca_bundle_bytes(value: Any) -> int:
    try:
        return len(base64.b64decode(value or "", validate=True))
    except (binascii.Error, ValueError, TypeError):
        return len(str(value))


def _default_port(obj: Obj) -> None:
    service = (obj.get("spec") or {}).get("service")
    if isinstance(service, dict) and service.get("port") is None:
        service["port"] = 443


class APIServiceStrategy(Strategy):
    """No generation (upstream's strategy never sets one); kube-aggregator's types are not in kubeshim's
    protobuf descriptors, so APIServices are served as JSON and YAML only."""

    has_status_subresource = True
    tracks_generation = False
    protobuf = False

    def validate_name(self, name: str) -> list[str]:
        # the name's shape (version.group) is checked with the spec in validate
        return names.path_segment(name)

    def prepare_for_create(self, obj: Obj) -> None:
        _default_port(obj)
        obj["status"] = {}
        if (obj.get("spec") or {}).get("service") is None:
            obj["status"] = {"conditions": [local_available()]}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        _default_port(new)

    def validate(self, obj: Obj) -> Causes:
        spec = obj.get("spec") or {}
        group, version = spec.get("group") or "", spec.get("version") or ""
        name = obj["metadata"].get("name", "")
        required = f"{version}.{group}"
        causes: Causes = []
        if not names.path_segment(name) and name != required:
            causes.append(errors.field_invalid("metadata.name", name, f'must be `spec.version+"."+spec.group`: '
                                                                      f'"{required}"'))
        if not group and version != "v1":
            causes.append(errors.field_required("spec.group", "only v1 may have an empty group and it better be "
                                                              "legacy kube"))
        if group:
            causes += [errors.field_invalid("spec.group", group, p) for p in names.dns1123_subdomain(group)]
        causes += [errors.field_invalid("spec.version", version, p) for p in validation.dns1035_label(version)]
        group_priority, version_priority = spec.get("groupPriorityMinimum", 0), spec.get("versionPriority", 0)
        if not 0 < group_priority <= 20000:
            causes.append(errors.field_invalid("spec.groupPriorityMinimum", group_priority,
                                               "must be positive and less than 20000"))
        if not 0 < version_priority <= 1000:
            causes.append(errors.field_invalid("spec.versionPriority", version_priority,
                                               "must be positive and less than 1000"))
        service = spec.get("service")
        if service is None:
            if spec.get("caBundle"):
                causes.append(errors.field_invalid("spec.caBundle", f"{_ca_bundle_bytes(spec['caBundle'])} bytes",
                                                   "local APIServices may not have a caBundle"))
            if spec.get("insecureSkipTLSVerify"):
                causes.append(errors.field_invalid("spec.insecureSkipTLSVerify", True,
                                                   "local APIServices may not have insecureSkipTLSVerify"))
            return causes
        for key in ("namespace", "name"):
            if not service.get(key):
                causes.append(errors.field_required(f"spec.service.{key}"))
        port = service.get("port", 443)
        for problem in validation.port_number(port):
            causes.append(errors.field_invalid("spec.service.port", port, f"port is not valid: {problem}"))
        if spec.get("insecureSkipTLSVerify") and spec.get("caBundle"):
            causes.append(errors.field_invalid("spec.insecureSkipTLSVerify", True, "may not be true if caBundle is "
                                                                                   "present"))
        return causes

    def validate_status_update(self, new: Obj, old: Obj) -> Causes:
        causes: Causes = []
        for i, condition in enumerate((new.get("status") or {}).get("conditions") or []):
            status = (condition or {}).get("status")
            if status not in ("True", "False", "Unknown"):
                causes.append(errors.field_not_supported(f"status.conditions[{i}].status", status,
                                                         ["True", "False", "Unknown"]))
        return causes

    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("Service", description="The reference to the service that hosts this API endpoint."),
                tables.column("Available", description="Whether this service is available.")]

    def table_cells(self, obj: Obj) -> list[Any]:
        service = (obj.get("spec") or {}).get("service")
        shown = f"{service.get('namespace', '')}/{service.get('name', '')}" if isinstance(service, dict) else "Local"
        available = "Unknown"
        for condition in (obj.get("status") or {}).get("conditions") or []:
            if condition.get("type") == "Available":
                status = condition.get("status", "")
                available = f"{status} ({condition['reason']})" if status != "True" and condition.get("reason") \
                    else status
                break
        return [shown, available]
