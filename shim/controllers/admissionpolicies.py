"""ValidatingAdmissionPolicy status: each new generation of a policy gets status.typeChecking, its expressions
checked against the schemas of the kinds it matches (kube-controller-manager's
validatingadmissionpolicy-status-controller, pkg/controller/validatingadmissionpolicystatus).

Simplified from upstream: the kinds come from the policy's resource rules without wildcards, resolved among the
resources served here (at most 10, as upstream), and the schemas are the built-in definitions or a CRD version's
openAPIV3Schema; a schema that changes later is not noticed until the policy's next generation (as upstream).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from shim.clients.base import Client, Resource
from shim.machinery import schemas
from shim.machinery.cel import admission as expressions
from shim.machinery.cel import types as t
from shim.machinery.cel.schema import schema_type
from shim.machinery.errors import StatusError

if TYPE_CHECKING:
    from shim.registry.catalog import Catalog
    from shim.registry.resource import ResourceInfo

Obj = dict[str, Any]
POLICIES = Resource("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies")
MANAGER = "validatingadmissionpolicy-status"
MAX_KINDS = 10

#: (group, version, resource) -> (kind, its schema's CEL type), or None when nothing such is served
ResolveResource = Callable[[str, str, str], tuple[str, t.Type] | None]
#: (group, version, kind) -> the kind's CEL type, or None
ResolveKind = Callable[[str, str, str], t.Type | None]


def targets(spec: Obj, resolve: ResolveResource) -> list[tuple[str, t.Type]]:
    """The kinds a policy's resource rules name, sorted, each as `group/version, Kind=K` with its type."""
    found: dict[tuple[str, str, str], t.Type] = {}
    for rule in (spec.get("matchConstraints") or {}).get("resourceRules") or []:
        groups, versions = rule.get("apiGroups") or [], rule.get("apiVersions") or []
        resources = [r for r in rule.get("resources") or [] if "*" not in r and "/" not in r]
        if any("*" in g for g in groups) or any("*" in v for v in versions):
            continue
        for group in sorted(groups):
            for version in sorted(versions):
                for resource in sorted(resources):
                    resolved = resolve(group, version, resource)
                    if resolved is not None and len(found) < MAX_KINDS:
                        found[(group, version, resolved[0])] = resolved[1]
    return [(f"{g}/{v}, Kind={k}", found[(g, v, k)]) for g, v, k in sorted(found)]


def type_checking(policy: Obj, resolve: ResolveResource, resolve_kind: ResolveKind) -> list[Obj]:
    spec = policy.get("spec") or {}
    params = None
    kind = spec.get("paramKind")
    if isinstance(kind, dict):
        group, _, version = str(kind.get("apiVersion", "")).rpartition("/")
        params = resolve_kind(group, version, str(kind.get("kind", "")))
    return expressions.type_check(spec, targets(spec, resolve), params)


def _type(info: "ResourceInfo") -> t.Type | None:
    schema = info.strategy.openapi_schema() or schemas.definition_for(info.api_version, info.kind)
    return None if schema is None else schema_type(schema, info.kind, schemas.resolve)


def resolvers(catalog: "Catalog") -> tuple[ResolveResource, ResolveKind]:
    """Kinds and their types from the resources served here (upstream: its RESTMapper and OpenAPI)."""
    def resource(group: str, version: str, plural: str) -> tuple[str, t.Type] | None:
        info = catalog.lookup(group, version, plural)
        found = None if info is None or info.handler is not None else _type(info)
        return None if info is None or found is None else (info.kind, found)

    def kind(group: str, version: str, name: str) -> t.Type | None:
        info = catalog.by_kind(group, version, name)
        return None if info is None else _type(info)
    return resource, kind


async def update_type_checking(client: Client, resolve: ResolveResource, resolve_kind: ResolveKind) -> None:
    """Give every policy whose generation is newer than its status's observedGeneration its type checking."""
    for policy in (await client.list(POLICIES))["items"]:
        meta, status = policy["metadata"], policy.get("status") or {}
        generation = int(meta.get("generation") or 0)
        if generation <= int(status.get("observedGeneration") or 0):
            continue
        warnings = type_checking(policy, resolve, resolve_kind)
        try:
            await client.patch(POLICIES, meta["name"], {"status": {
                "observedGeneration": generation, "typeChecking": {"expressionWarnings": warnings or None}}},
                subresource="status")
        except StatusError as err:
            if err.code != 404:  # deleted meanwhile: nothing to report on
                raise
