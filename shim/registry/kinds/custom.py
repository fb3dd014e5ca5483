"""Custom resources: one strategy per served CRD version, driven by that version's schema, subresources and
printer columns. Everything kubeshim knows about custom resources beyond their names lives here."""
from __future__ import annotations

from typing import Any

from shim.machinery import errors, schemas, structural, tables, typed
from shim.machinery.managed_fields import FieldTypes
from shim.machinery.openapi.definitions import crd_schema, typed_definition
from shim.registry.strategy import USER_METADATA, Causes, Obj, Strategy

#: what a version without a schema publishes in OpenAPI
OPEN_SCHEMA = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def json_path_value(obj: Obj, path: str) -> Any:
    """Follow a simple `.a.b` JSON path (what selectableFields, printer columns and scale paths use)."""
    value: Any = obj
    for part in path.strip(".").split("."):
        if not part:
            continue
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


class CustomResourceStrategy(Strategy):
    returns_deleted_object = True
    status_keeps_metadata = USER_METADATA
    #: custom resources have no protobuf form
    protobuf = False
    #: strategic merge patches need Go struct tags; custom resources take JSON, merge and apply patches
    strategic_merge = False
    #: checked against their structural schema (prune_unknown), not upstream's Go types
    go_typed = False

    def __init__(self, version: Obj, api_version: str, *, namespaced: bool = True, terminating: bool = False) -> None:
        """`version`: the CRD's entry in spec.versions; `terminating`: the CRD is being deleted."""
        subresources = version.get("subresources") or {}
        self.api_version = api_version
        self.terminating = terminating
        self.has_status_subresource = "status" in subresources
        self.scale_paths: Obj = subresources.get("scale") or {}
        self.schema: Obj | None = (version.get("schema") or {}).get("openAPIV3Schema")
        self.printer_columns: list[Obj] = version.get("additionalPrinterColumns") or []
        self.selectable = [f["jsonPath"] for f in version.get("selectableFields") or [] if "jsonPath" in f]
        self.field_labels = (frozenset({"metadata.name", "metadata.namespace"} if namespaced else {"metadata.name"})
                             | {p.strip(".") for p in self.selectable})
        self._field_types: FieldTypes | None = None

    # -- storage --------------------------------------------------------------------------------------------

    def from_storage(self, obj: Obj) -> Obj:
        """Versions of a CRD share their objects: one is served at this version by its apiVersion alone, with
        the version's defaults filled in (objects stored before a default was added get it on every read, as
        upstream defaults when decoding from storage)."""
        obj["apiVersion"] = self.api_version
        self.default(obj)
        return obj

    def admit_create(self) -> None:
        if self.terminating:
            raise errors.StatusError(405, "MethodNotAllowed",
                                     "create not allowed while custom resource definition is terminating")

    # -- writes ---------------------------------------------------------------------------------------------

    def default(self, obj: Obj) -> None:
        if self.schema:  # unknown fields are already gone: the registry prunes every write (prune_unknown)
            structural.apply_defaults(obj, self.schema)

    def prune_unknown(self, obj: Obj) -> list[str]:
        pruned: list[str] = []
        if self.schema:
            structural.prune(obj, self.schema, root=True, pruned=pruned)
        return pruned

    def validate(self, obj: Obj) -> Causes:
        return structural.validate(obj, self.schema)

    def field_types(self, api_version: str, kind: str) -> FieldTypes:
        """The version's structural schema as upstream publishes it (metadata typed as ObjectMeta)."""
        if self._field_types is None or self._field_types.kind != kind:
            group, version = schemas.split_api_version(api_version)
            root = crd_schema(self.schema, group, version, kind)
            atom = typed.Converter(typed_definition).convert(root)
            self._field_types = FieldTypes(api_version, kind, atom, status_subresource=self.has_status_subresource)
        return self._field_types

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        if self.has_status_subresource:
            return super().spec_changed(new, old)
        skip = ("metadata", "apiVersion", "kind")
        return {k: v for k, v in new.items() if k not in skip} != {k: v for k, v in old.items() if k not in skip}

    # -- reads ----------------------------------------------------------------------------------------------

    def fields(self, obj: Obj) -> dict[str, str]:
        out = super().fields(obj)
        for path in self.selectable:
            value = json_path_value(obj, path)
            out[path.strip(".")] = "" if value is None else (str(value).lower() if isinstance(value, bool)
                                                            else str(value))
        return out

    def openapi_schema(self) -> Obj:
        return self.schema or OPEN_SCHEMA

    def table_columns(self) -> list[Obj]:
        """The version's additionalPrinterColumns, then Age (a date) unless they have one."""
        columns = [tables.column(c["name"], c.get("type", "string"), c.get("priority", 0), c.get("description", ""),
                                 c.get("format", "")) for c in self.printer_columns]
        if not any(c["name"] == "Age" for c in columns):
            columns.append(tables.CUSTOM_AGE_COLUMN)
        return columns

    def table_cells(self, obj: Obj) -> list[Any]:
        return [_cell(obj, c) for c in self.printer_columns]

    # -- scale ----------------------------------------------------------------------------------------------

    def scale(self, obj: Obj) -> Obj:
        """The object as an autoscaling/v1 Scale, through the version's scale paths."""
        replicas = json_path_value(obj, self.scale_paths["specReplicasPath"])
        status_replicas = json_path_value(obj, self.scale_paths.get("statusReplicasPath", ".status.replicas"))
        meta = obj["metadata"]
        scale: Obj = {"kind": "Scale", "apiVersion": "autoscaling/v1",
                      "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                        "creationTimestamp") if k in meta},
                      "spec": {"replicas": replicas or 0}, "status": {"replicas": status_replicas or 0}}
        selector_path = self.scale_paths.get("labelSelectorPath")
        if selector_path:
            selector = json_path_value(obj, selector_path)
            if selector:
                scale["status"]["selector"] = selector
        return scale

    def set_scale(self, obj: Obj, scale: Obj) -> Obj:
        """The object with the Scale's spec.replicas written back through specReplicasPath."""
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.invalid("Scale", obj["metadata"]["name"], [errors.field_invalid(
                "spec.replicas", replicas, "must be greater than or equal to 0")], "autoscaling")
        parts = self.scale_paths["specReplicasPath"].strip(".").split(".")
        node = obj
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = replicas
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv:
            obj["metadata"]["resourceVersion"] = rv
        return obj


def _cell(obj: Obj, column: Obj) -> Any:
    value = json_path_value(obj, column.get("jsonPath", ""))
    if value is None:
        return None
    if column.get("type") == "date" and isinstance(value, str):
        return tables.age({"metadata": {"creationTimestamp": value}})
    return value
