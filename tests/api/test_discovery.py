"""Discovery: /version, /api, /apis, group and resource lists, and aggregated discovery (v2, v2beta1)."""
from __future__ import annotations

import base64
import hashlib

import pytest
from kubernetes import client
from kubernetes.dynamic import DynamicClient

from apihelpers import http_client, unique
from harness import wait_for

V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
GROUPS = {"coordination.k8s.io", "events.k8s.io", "apiextensions.k8s.io", "admissionregistration.k8s.io",
          "rbac.authorization.k8s.io"}


def storage_version_hash(group: str, version: str, kind: str) -> str:
    """Upstream's definition (apiserver's endpoints/discovery): 8 bytes of sha256("group/version/kind")."""
    return base64.b64encode(hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()[:8]).decode()


def _resources(doc: dict) -> dict[str, dict]:
    return {r["name"]: r for r in doc["resources"]}


def _crd(group: str, scope: str = "Namespaced") -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"gadgets.{group}"},
            "spec": {"group": group, "scope": scope,
                     "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "shortNames": ["gd"],
                               "categories": ["all"]},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "subresources": {"status": {}},
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}}}]}}


def test_version_reports_kubernetes_version(api_client):
    info = client.VersionApi(api_client).get_code()
    assert (info.major, info.minor) == ("1", "34")
    assert info.git_version.startswith("v1.34.")
    assert info.platform


def test_api_lists_core_v1(http):
    doc = http.get("/api").json()
    assert doc["kind"] == "APIVersions"
    assert doc["versions"] == ["v1"]
    assert doc["serverAddressByClientCIDRs"]


def test_core_v1_resource_list(http):
    doc = http.get("/api/v1").json()
    assert (doc["kind"], doc["groupVersion"]) == ("APIResourceList", "v1")
    res = _resources(doc)
    for name in ("pods", "namespaces", "configmaps", "secrets", "serviceaccounts", "services", "endpoints", "events",
                 "resourcequotas", "limitranges", "podtemplates", "nodes", "pods/status", "pods/binding", "pods/log",
                 "nodes/status", "namespaces/finalize", "namespaces/status", "bindings"):
        assert name in res, name
    pods = res["pods"]
    assert (pods["kind"], pods["namespaced"], pods["singularName"]) == ("Pod", True, "pod")
    assert set(pods["verbs"]) == {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
    assert "po" in pods["shortNames"]
    assert res["namespaces"]["namespaced"] is False and res["nodes"]["namespaced"] is False
    assert res["configmaps"]["shortNames"] == ["cm"]
    assert res["pods/status"]["kind"] == "Pod"
    assert set(res["pods/status"]["verbs"]) == {"get", "patch", "update"}
    assert res["pods/binding"]["verbs"] == ["create"]


def test_apis_lists_groups_with_preferred_versions(http):
    doc = http.get("/apis").json()
    assert doc["kind"] == "APIGroupList"
    groups = {g["name"]: g for g in doc["groups"]}
    assert GROUPS <= set(groups)
    lease = groups["coordination.k8s.io"]
    assert lease["preferredVersion"] == {"groupVersion": "coordination.k8s.io/v1", "version": "v1"}
    assert {"groupVersion": "coordination.k8s.io/v1", "version": "v1"} in lease["versions"]


def test_api_group_document(http):
    doc = http.get("/apis/rbac.authorization.k8s.io").json()
    assert (doc["kind"], doc["name"]) == ("APIGroup", "rbac.authorization.k8s.io")
    assert doc["preferredVersion"]["groupVersion"] == "rbac.authorization.k8s.io/v1"


@pytest.mark.parametrize("gv,resource,namespaced", [
    ("coordination.k8s.io/v1", "leases", True), ("events.k8s.io/v1", "events", True),
    ("apiextensions.k8s.io/v1", "customresourcedefinitions", False),
    ("admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations", False),
    ("admissionregistration.k8s.io/v1", "validatingwebhookconfigurations", False),
    ("rbac.authorization.k8s.io/v1", "roles", True), ("rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
])
def test_group_version_resource_list(http, gv, resource, namespaced):
    doc = http.get(f"/apis/{gv}").json()
    assert (doc["kind"], doc["groupVersion"]) == ("APIResourceList", gv)
    assert _resources(doc)[resource]["namespaced"] is namespaced


def test_unknown_group_version_is_404(http):
    assert http.get("/apis/nothing.example.com/v1").status_code == 404
    assert http.get("/apis/rbac.authorization.k8s.io/v9").status_code == 404
    assert http.get("/apis/nothing.example.com").status_code == 404


@pytest.mark.parametrize("version,accept", [("v2", V2), ("v2beta1", V2BETA1)])
def test_aggregated_discovery_for_apis(http, version, accept):
    resp = http.get("/apis", headers={"Accept": f"{accept},application/json"})
    assert resp.status_code == 200
    content_type = resp.headers["content-type"].replace(" ", "")
    assert f"g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList" in content_type
    doc = resp.json()
    assert (doc["kind"], doc["apiVersion"]) == ("APIGroupDiscoveryList", f"apidiscovery.k8s.io/{version}")
    groups = {item["metadata"]["name"]: item for item in doc["items"]}
    assert GROUPS <= set(groups)
    assert "" not in groups
    [v1] = [v for v in groups["coordination.k8s.io"]["versions"] if v["version"] == "v1"]
    lease = {r["resource"]: r for r in v1["resources"]}["leases"]
    assert lease["scope"] == "Namespaced"
    assert lease["responseKind"] == {"group": "", "version": "", "kind": "Lease"}  # empty: the resource's own
    assert lease["singularResource"] == "lease"
    assert "watch" in lease["verbs"]


@pytest.mark.parametrize("version,accept", [("v2", V2), ("v2beta1", V2BETA1)])
def test_aggregated_discovery_for_core(http, version, accept):
    resp = http.get("/api", headers={"Accept": accept})
    assert f"v={version}" in resp.headers["content-type"]
    [core] = resp.json()["items"]
    [v1] = core["versions"]
    assert v1["version"] == "v1"
    pods = {r["resource"]: r for r in v1["resources"]}["pods"]
    assert pods["responseKind"] == {"group": "", "version": "", "kind": "Pod"}
    subs = {s["subresource"]: s for s in pods["subresources"]}
    assert {"status", "binding", "log"} <= set(subs)
    assert subs["status"]["responseKind"]["kind"] == "Pod"


def test_groups_are_listed_by_aggregator_priority(api_client, http):
    """kubectl resolves a resource name two groups serve (`events`) by this order."""
    group = f"{unique('prio')}.example.com"
    ext = client.ApiextensionsV1Api(api_client)
    ext.create_custom_resource_definition(_crd(group))
    try:
        wait_for(lambda: group in [g["name"] for g in http.get("/apis").json()["groups"]], what="group served")
        names = [g["name"] for g in http.get("/apis").json()["groups"]]
        aggregated = [i["metadata"]["name"] for i in http.get("/apis", headers={"Accept": V2}).json()["items"]]
    finally:
        ext.delete_custom_resource_definition(f"gadgets.{group}")
    assert names == aggregated
    assert names[:5] == ["apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io",
                         "authorization.k8s.io"]
    assert names.index("admissionregistration.k8s.io") + 1 == names.index("apiextensions.k8s.io")
    assert names.index(group) > names.index("flowcontrol.apiserver.k8s.io")


def test_resources_are_listed_by_name(http):
    names = [r["name"] for r in http.get("/api/v1").json()["resources"]]
    assert names == sorted(names)
    assert names.index("pods") < names.index("pods/binding") < names.index("podtemplates")


def test_custom_resources_answer_their_group_version_in_aggregated_discovery(api_client, http):
    group = f"{unique('rk')}.example.com"
    ext = client.ApiextensionsV1Api(api_client)
    ext.create_custom_resource_definition(_crd(group))
    try:
        def gadgets() -> dict | None:
            items = {i["metadata"]["name"]: i for i in http.get("/apis", headers={"Accept": V2}).json()["items"]}
            return items[group]["versions"][0]["resources"][0] if group in items else None
        resource = wait_for(gadgets, what="group served")
    finally:
        ext.delete_custom_resource_definition(f"gadgets.{group}")
    assert resource["responseKind"] == {"group": group, "version": "v1", "kind": "Gadget"}
    assert resource["verbs"] == ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]


def test_plain_accept_gets_unaggregated_documents(http):
    resp = http.get("/apis", headers={"Accept": "application/json"})
    assert resp.json()["kind"] == "APIGroupList"
    assert "apidiscovery" not in resp.headers["content-type"]
    resp = http.get("/api", headers={"Accept": "application/json, */*"})
    assert resp.json()["kind"] == "APIVersions"


def test_unknown_aggregated_version_falls_back_to_plain(http):
    accept = "application/json;g=apidiscovery.k8s.io;v=v9;as=APIGroupDiscoveryList,application/json"
    assert http.get("/apis", headers={"Accept": accept}).json()["kind"] == "APIGroupList"


def test_crd_appears_in_and_leaves_discovery(api_client, http):
    group = f"{unique('disc')}.example.com"
    ext = client.ApiextensionsV1Api(api_client)
    ext.create_custom_resource_definition(_crd(group))
    try:
        groups = {g["name"] for g in http.get("/apis").json()["groups"]}
        assert group in groups
        doc = http.get(f"/apis/{group}/v1").json()
        res = _resources(doc)
        assert res["gadgets"]["kind"] == "Gadget" and res["gadgets"]["shortNames"] == ["gd"]
        assert res["gadgets"]["categories"] == ["all"]
        assert "gadgets/status" in res
        aggregated = http.get("/apis", headers={"Accept": V2}).json()
        assert group in {i["metadata"]["name"] for i in aggregated["items"]}
    finally:
        ext.delete_custom_resource_definition(f"gadgets.{group}")
    wait_for(lambda: group not in {g["name"] for g in http.get("/apis").json()["groups"]}, what="group gone")
    assert http.get(f"/apis/{group}/v1").status_code == 404
    aggregated = http.get("/apis", headers={"Accept": V2}).json()
    assert group not in {i["metadata"]["name"] for i in aggregated["items"]}


def test_storage_version_hash_names_the_version_objects_are_stored_in(api_client, http):
    group = f"{unique('svh')}.example.com"
    crd = _crd(group)
    v1 = crd["spec"]["versions"][0]
    crd["spec"]["versions"] = [{**v1, "name": "v1beta1", "storage": False}, v1]
    ext = client.ApiextensionsV1Api(api_client)
    ext.create_custom_resource_definition(crd)
    try:
        wait_for(lambda: http.get(f"/apis/{group}/v1beta1").status_code == 200, what="version served")
        hashes = {v: _resources(http.get(f"/apis/{group}/{v}").json())["gadgets"].get("storageVersionHash")
                  for v in ("v1", "v1beta1")}
        assert hashes["v1"] == hashes["v1beta1"] == storage_version_hash(group, "v1", "Gadget")
        assert "storageVersionHash" not in _resources(http.get(f"/apis/{group}/v1").json())["gadgets/status"]
    finally:
        ext.delete_custom_resource_definition(f"gadgets.{group}")


def test_cohabiting_resources_share_one_storage_version_hash(http):
    core = _resources(http.get("/api/v1").json())["events"]["storageVersionHash"]
    events = _resources(http.get("/apis/events.k8s.io/v1").json())["events"]["storageVersionHash"]
    assert core == events == storage_version_hash("", "v1", "Event")


def test_dynamic_client_discovers_builtin_and_custom_kinds(api_client):
    group = f"{unique('dyn')}.example.com"
    ext = client.ApiextensionsV1Api(api_client)
    ext.create_custom_resource_definition(_crd(group, scope="Cluster"))
    try:
        dyn = DynamicClient(api_client)
        leases = dyn.resources.get(api_version="coordination.k8s.io/v1", kind="Lease")
        assert leases.namespaced and leases.name == "leases"
        gadgets = dyn.resources.get(api_version=f"{group}/v1", kind="Gadget")
        assert not gadgets.namespaced
        created = gadgets.create(body={"apiVersion": f"{group}/v1", "kind": "Gadget", "metadata": {"name": "g1"},
                                       "spec": {"size": 3}})
        assert created.spec.size == 3
        assert [i.metadata.name for i in gadgets.get().items] == ["g1"]
    finally:
        ext.delete_custom_resource_definition(f"gadgets.{group}")


def test_discovery_needs_authentication(kubeshim):
    with http_client(kubeshim, token="wrong") as bad:
        assert bad.get("/apis").status_code == 401
        assert bad.get("/api/v1").status_code == 401


def test_health_endpoints_answer_ok(http):
    for path in ("/healthz", "/livez", "/readyz"):
        resp = http.get(path)
        assert (resp.status_code, resp.text) == (200, "ok")
