"""CustomResourceDefinitions: names, versions, and the conditions that say they are served."""
from __future__ import annotations

from typing import Any

from shim.machinery import errors, tables, timeutil
from shim.registry.strategy import Causes, Obj, Strategy

CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
CREATED_AT = tables.column("Created At", "date", description="CreationTimestamp is a timestamp representing the "
                           "server time when this object was created.")


def _condition(kind: str, reason: str, message: str) -> Obj:
    return {"type": kind, "status": "True", "lastTransitionTime": timeutil.now_string(), "reason": reason,
            "message": message}


def storage_version(crd: Obj) -> str | None:
    for v in (crd.get("spec") or {}).get("versions") or []:
        if isinstance(v, dict) and v.get("storage"):
            return v.get("name")
    return None


class CRDStrategy(Strategy):
    """Accepted at once: the served resources follow the stored CRDs (see shim.registry.catalog)."""

    has_status_subresource = True

    def _default(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        names = spec.setdefault("names", {})
        if isinstance(names, dict) and names.get("kind"):
            names.setdefault("singular", names["kind"].lower())
            names.setdefault("listKind", names["kind"] + "List")
        spec.setdefault("conversion", {"strategy": "None"})
        for v in spec.get("versions") or []:
            if isinstance(v, dict):
                v.setdefault("served", True)

    def _status(self, obj: Obj, old_status: Obj | None) -> None:
        spec = obj["spec"]
        stored = list((old_status or {}).get("storedVersions") or [])
        version = storage_version(obj)
        if version and version not in stored:
            stored.append(version)
        conditions = (old_status or {}).get("conditions") or [
            _condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            _condition("Established", "InitialNamesAccepted", "the initial names have been accepted")]
        obj["status"] = {"conditions": conditions, "acceptedNames": dict(spec.get("names") or {}),
                         "storedVersions": stored}

    def prepare_for_create(self, obj: Obj) -> None:
        self._default(obj)
        self._status(obj, None)

    def blocks_deletion(self, obj: Obj) -> bool:
        """A CRD is never deleted at once: the first delete only marks it (apiextensions' REST.Delete)."""
        return not (obj.get("metadata") or {}).get("deletionTimestamp")

    def prepare_for_delete(self, obj: Obj) -> None:
        """Add the cleanup finalizer and the Terminating condition; shim.controllers.crds deletes the instances
        and then removes the finalizer."""
        meta = obj["metadata"]
        if CLEANUP_FINALIZER not in (meta.get("finalizers") or []):
            meta["finalizers"] = list(meta.get("finalizers") or []) + [CLEANUP_FINALIZER]
        status = obj.setdefault("status", {})
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "Terminating"]
        status["conditions"] = conditions + [{
            "type": "Terminating", "status": "True", "lastTransitionTime": timeutil.now_string(),
            "reason": "InstanceDeletionPending",
            "message": "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon"}]

    def table_columns(self) -> list[dict[str, Any]]:
        """apiextensions serves CRDs through the default table convertor: Name and Created At."""
        return [tables.NAME_COLUMN, CREATED_AT]

    def table_cells(self, obj: Obj) -> list[Any]:
        meta = obj.get("metadata") or {}
        return [meta.get("name", ""), meta.get("creationTimestamp")]

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        self._default(new)
        self._status(new, old.get("status"))

    def validate(self, obj: Obj) -> Causes:
        causes: Causes = []
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return [errors.field_required("spec")]
        names = spec.get("names")
        if not isinstance(names, dict):
            names = {}
        group = spec.get("group")
        if not group or "." not in str(group):
            causes.append(errors.field_invalid("spec.group", group, "should be a domain with at least one dot"))
        for key in ("plural", "kind"):
            if not names.get(key):
                causes.append(errors.field_required(f"spec.names.{key}"))
        if names.get("plural") and group and obj["metadata"].get("name") != f"{names['plural']}.{group}":
            causes.append(errors.field_invalid("metadata.name", obj["metadata"].get("name"),
                                               "must be spec.names.plural+\".\"+spec.group"))
        if spec.get("scope") not in ("Namespaced", "Cluster"):
            causes.append(errors.field_not_supported("spec.scope", spec.get("scope"), ["Cluster", "Namespaced"]))
        versions = spec.get("versions")
        if not isinstance(versions, list) or not versions:
            causes.append(errors.field_required("spec.versions", "must have exactly one version marked as "
                                                "storage version"))
        else:
            storage = [v for v in versions if isinstance(v, dict) and v.get("storage")]
            if len(storage) != 1:
                causes.append(errors.field_invalid("spec.versions", versions and "versions",
                                                   "must have exactly one version marked as storage version"))
            for i, v in enumerate(versions):
                if not isinstance(v, dict) or not v.get("name"):
                    causes.append(errors.field_required(f"spec.versions[{i}].name"))
        return causes
