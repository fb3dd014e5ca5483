"""Discovery documents: /api, /apis, /api/v1, /apis/G/V and aggregated discovery (apidiscovery.k8s.io)."""
from __future__ import annotations

import base64
import hashlib
from typing import Any

from shim.registry.catalog import Catalog
from shim.registry.resource import ResourceInfo

Obj = dict[str, Any]
SERVER_ADDRESS = [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]


def _resources(catalog: Catalog, group: str, version: str) -> list[ResourceInfo]:
    """A group version's resources by name."""
    return sorted((r for r in catalog.all() if r.group == group and r.version == version), key=lambda r: r.plural)


def api_versions() -> Obj:
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": SERVER_ADDRESS}


def _group(group: str, versions: list[str]) -> Obj:
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list(catalog: Catalog) -> Obj:
    groups = [_group(g, vs) for g, vs in catalog.groups().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(catalog: Catalog, group: str) -> Obj | None:
    versions = catalog.groups().get(group)
    if not versions or not group:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)}


def storage_version_hash(r: ResourceInfo) -> str:
    """What clients compare to notice that a resource's storage version changed (a storage migration is due):
    the first 8 bytes of sha256("group/version/kind") of the stored form, in base64."""
    group, _, version = r.storage_version.rpartition("/")
    digest = hashlib.sha256(f"{group}/{version}/{r.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def resource_list(catalog: Catalog, group: str, version: str) -> Obj | None:
    infos = _resources(catalog, group, version)
    if not infos:
        return None
    out = []
    for r in infos:
        entry: Obj = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
                      "verbs": list(r.verbs)}
        if r.handler is None:
            entry["storageVersionHash"] = storage_version_hash(r)
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        out.append(entry)
        for sub, handler in r.subresources.items():
            kind = handler.response_kind(r)
            sub_entry: Obj = {"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced,
                              "kind": kind.kind, "verbs": list(handler.verbs)}
            if (kind.group, kind.version) != (r.group, r.version):
                sub_entry.update({"group": kind.group, "version": kind.version})
            out.append(sub_entry)
    out.sort(key=lambda entry: entry["name"])  # upstream's installer registers paths in sorted order
    if not group:  # the legacy group's list has no apiVersion upstream
        return {"kind": "APIResourceList", "groupVersion": version, "resources": out}
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}", "resources": out}


def aggregated(catalog: Catalog, legacy: bool, version: str) -> Obj:
    """APIGroupDiscoveryList for /api (legacy) or /apis, in apidiscovery.k8s.io `version` (v2 or v2beta1)."""
    groups = catalog.groups()
    items = []
    for group, versions in groups.items():
        if bool(group) == legacy:
            continue
        item_versions = []
        for v in versions:
            resources = []
            for r in _resources(catalog, group, v):
                own = (r.group, r.version) if r.names_own_group_version else ("", "")
                res: Obj = {"resource": r.plural, "responseKind": {"group": own[0], "version": own[1], "kind": r.kind},
                            "scope": "Namespaced" if r.namespaced else "Cluster", "singularResource": r.singular,
                            "verbs": list(r.verbs)}
                if r.short_names:
                    res["shortNames"] = list(r.short_names)
                if r.categories:
                    res["categories"] = list(r.categories)
                subs = []
                for sub, handler in sorted(r.subresources.items()):
                    kind = handler.response_kind(r)
                    group_version = own if (kind.group, kind.version) == (r.group, r.version) else (
                        kind.group, kind.version)
                    subs.append({"subresource": sub,
                                 "responseKind": {"group": group_version[0], "version": group_version[1],
                                                  "kind": kind.kind},
                                 "verbs": list(handler.verbs)})
                if subs:
                    res["subresources"] = subs
                resources.append(res)
            item_versions.append({"version": v, "resources": resources, "freshness": "Current"})
        items.append({"metadata": {"name": group} if group else {}, "versions": item_versions})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"apidiscovery.k8s.io/{version}",
            "metadata": {}, "items": items}


def wants_aggregated(accept: str) -> str | None:
    """The apidiscovery version the client asked for first, if any (v2 from 1.30, v2beta1 before)."""
    for part in accept.split(","):
        params = dict(p.strip().split("=", 1) for p in part.split(";")[1:] if "=" in p)
        if params.get("as") == "APIGroupDiscoveryList" and params.get("g") == "apidiscovery.k8s.io":
            if params.get("v") in ("v2", "v2beta1"):
                return params["v"]
    return None
