"""Discovery and OpenAPI: which resources are served, and how the ones both servers serve are described.

`test_discovery_served_resources` is the one place that compares *which* group versions and resources exist
(one difference per missing group version or resource); the other scenarios compare only what both serve, so a
missing kind is reported once, not in every document.
"""
from __future__ import annotations

from typing import Any

import pytest

from differ import Pair, Side

pytestmark = pytest.mark.differential

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def group_versions(s: Side) -> list[str]:
    """Every served group version, the legacy "v1" first."""
    groups = s.json("GET", "/apis")["groups"]
    return ["v1", *(v["groupVersion"] for g in groups for v in g["versions"])]


def resource_list_path(group_version: str) -> str:
    return "/api/v1" if group_version == "v1" else f"/apis/{group_version}"


def label(group_version: str) -> str:
    group, _, version = group_version.rpartition("/")
    return f"{group or 'core'} {version}"


def test_discovery_served_resources(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        served: dict[str, dict[str, str]] = {}
        for gv in group_versions(s):
            resources = s.json("GET", resource_list_path(gv))["resources"]
            served[label(gv)] = {r["name"]: r["kind"] for r in resources}
        s.record("served", served)
    pair.run(scenario)


def common_group_versions(pair: Pair) -> set[str]:
    """The group versions both serve ("v1" for the legacy group)."""
    a, b = (set(g["groupVersion"] for group in c.get("/apis").json()["groups"] for g in group["versions"])
            for c in pair.clients)
    return a & b | {"v1"}


def common_resources(pair: Pair, path: str) -> set[str]:
    a, b = ({r["name"] for r in c.get(path).json()["resources"]} for c in pair.clients)
    return a & b


def shared_resources(pair: Pair) -> dict[str, set[str]]:
    """Per group version both serve, the resources and subresources (`pods/status`) both serve."""
    return {gv: common_resources(pair, resource_list_path(gv)) for gv in sorted(common_group_versions(pair))}


def test_discovery_resource_lists(pair: Pair) -> None:
    """APIResourceList of every group version both serve, for the resources both serve: kind, verbs,
    shortNames, categories, singularName, storageVersionHash (issue 10: storageVersionHash)."""
    shared = shared_resources(pair)

    def scenario(s: Side) -> None:
        for gv in shared:
            body = s.json("GET", resource_list_path(gv))
            body["resources"] = [r for r in body["resources"] if r["name"] in shared[gv]]
            s.record(label(gv), body)
    pair.run(scenario)


def test_discovery_group_list(pair: Pair) -> None:
    common = common_group_versions(pair)

    def scenario(s: Side) -> None:
        s.request("api", "GET", "/api")
        s.request("apis", "GET", "/apis", view=lambda body: {
            **body, "groups": [g for g in body["groups"]
                               if any(v["groupVersion"] in common for v in g["versions"])]})
    pair.run(scenario)


def test_discovery_aggregated(pair: Pair) -> None:
    """The aggregated documents (kubectl >= 1.30 asks for these first), for the resources both serve."""
    shared = shared_resources(pair)

    def resources(gv: str, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**r, "subresources": [sr for sr in r.get("subresources") or []
                                       if f"{r['resource']}/{sr['subresource']}" in shared[gv]]}
                for r in listed if r["resource"] in shared[gv]]

    def served(body: Any, legacy: bool) -> Any:
        if not isinstance(body, dict):
            return body
        items = []
        for item in body.get("items", []):
            group = item.get("metadata", {}).get("name", "")
            versions = []
            for v in item.get("versions", []):
                gv = v["version"] if legacy else f"{group}/{v['version']}"
                if gv in shared:
                    versions.append({**v, "resources": resources(gv, v.get("resources") or [])})
            if versions:
                items.append({**item, "versions": versions})
        return {**body, "items": items}

    def scenario(s: Side) -> None:
        s.request("api", "GET", "/api", accept=AGGREGATED, view=lambda b: served(b, True))
        s.request("apis", "GET", "/apis", accept=AGGREGATED, view=lambda b: served(b, False))
    pair.run(scenario)


def test_discovery_version(pair: Pair) -> None:
    """/version: the fields clients read (the values of a build differ by nature, its shape does not)."""
    def scenario(s: Side) -> None:
        s.request("version", "GET", "/version",
                  view=lambda b: {k: v if k in ("major", "minor") else "<build>" for k, v in b.items()})
    pair.run(scenario)


def test_openapi_v3_configmap(pair: Pair) -> None:
    """What kubectl reads before create/apply: the PATCH parameters (fieldValidation) and the ConfigMap schema."""
    def scenario(s: Side) -> None:
        doc = s.json("GET", "/openapi/v3/api/v1")
        item = doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]
        s.record("patch-parameters", sorted(p.get("name", p.get("$ref")) for p in item["patch"]["parameters"]))
        s.record("configmap-schema", doc["components"]["schemas"]["io.k8s.api.core.v1.ConfigMap"])
        s.record("index-has-core", "api/v1" in s.json("GET", "/openapi/v3")["paths"])
    pair.run(scenario)
