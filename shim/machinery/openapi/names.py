"""Names in the documents: definition names, reference prefixes, group-version paths and tags."""
from __future__ import annotations

from typing import Any

import orjson

from shim.machinery import schemas

#: A JSON object of a document: a schema, an operation, a path item, a parameter, a whole document.
Obj = dict[str, Any]

V3_REF_PREFIX = "#/components/schemas/"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
DELETE_OPTIONS = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
STATUS = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
PATCH = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

V2_REF_PREFIX = "#/definitions/"
GVK = "x-kubernetes-group-version-kind"


def split_group_version(group_version: str) -> tuple[str, str]:
    """`"apps/v1"` -> `("apps", "v1")`, `"v1"` -> `("", "v1")`."""
    return schemas.split_api_version(group_version)


def gv_path(group_version: str) -> str:
    """The index key of a group-version: `api/v1` or `apis/<group>/<version>`."""
    group, version = split_group_version(group_version)
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def crd_definition_name(group: str, version: str, kind: str) -> str:
    """Upstream's definition name for a CRD kind: the group's DNS labels reversed, then version and kind."""
    labels = [label for label in group.split(".") if label]
    return ".".join([*reversed(labels), version, kind])


def group_camel(group: str) -> str:
    if not group:
        return "Core"
    trimmed = group[: -len(".k8s.io")] if group.endswith(".k8s.io") else group
    return "".join(part[:1].upper() + part[1:] for part in trimmed.replace("-", ".").split(".") if part)


def group_tag(group: str, version: str) -> str:
    camel = group_camel(group)
    return f"{camel[:1].lower()}{camel[1:]}_{version}"


def canonical(value: Any) -> bytes:
    """Key-sorted JSON: what documents are cached and hashed by."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
