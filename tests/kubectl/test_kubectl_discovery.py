"""What kubectl learns from discovery and OpenAPI: api-resources, api-versions, version and explain."""
from __future__ import annotations

import json

import pytest

from kubectl_helpers import Kubectl, header, row, table

pytestmark = pytest.mark.kubectl


def test_version_reports_the_server(kubectl: Kubectl) -> None:
    info = json.loads(kubectl.ok("version", "-o", "json"))
    assert info["serverVersion"]["major"] == "1"
    assert info["serverVersion"]["gitVersion"].startswith("v1.")
    assert info["clientVersion"]["gitVersion"].startswith(f"v{kubectl.version}.")


def test_api_resources_lists_builtin_and_custom_kinds(kubectl: Kubectl) -> None:
    out = kubectl.ok("api-resources")
    assert header(out) == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    rows = {(cells[0], cells[-3]): cells for cells in table(out)[1:]}
    assert rows[("pods", "v1")] == ["pods", "po", "v1", "true", "Pod"]
    assert rows[("configmaps", "v1")] == ["configmaps", "cm", "v1", "true", "ConfigMap"]
    assert rows[("namespaces", "v1")] == ["namespaces", "ns", "v1", "false", "Namespace"]
    assert rows[("serviceaccounts", "v1")] == ["serviceaccounts", "sa", "v1", "true", "ServiceAccount"]
    assert rows[("leases", "coordination.k8s.io/v1")] == \
        ["leases", "coordination.k8s.io/v1", "true", "Lease"]
    assert rows[("customresourcedefinitions", "apiextensions.k8s.io/v1")] == \
        ["customresourcedefinitions", "crd,crds", "apiextensions.k8s.io/v1", "false", "CustomResourceDefinition"]
    assert rows[("flyteworkflows", "flyte.lyft.com/v1alpha1")] == \
        ["flyteworkflows", "fly", "flyte.lyft.com/v1alpha1", "true", "FlyteWorkflow"]


def test_api_resources_filters_by_group_and_scope(kubectl: Kubectl) -> None:
    names = kubectl.ok("api-resources", "--api-group=coordination.k8s.io", "-o", "name").split()
    assert names == ["leases.coordination.k8s.io"]
    cluster = kubectl.ok("api-resources", "--namespaced=false", "-o", "name").split()
    assert "namespaces" in cluster and "nodes" in cluster and "pods" not in cluster


def test_api_resources_wide_shows_verbs(kubectl: Kubectl) -> None:
    out = kubectl.ok("api-resources", "-o", "wide")
    assert header(out) == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND", "VERBS", "CATEGORIES"]
    pods = row(out, "pods")
    assert pods["VERBS"] == "create,delete,deletecollection,get,list,patch,update,watch"
    assert pods["CATEGORIES"] == "all"


def test_api_versions_lists_every_group_version(kubectl: Kubectl) -> None:
    versions = kubectl.ok("api-versions").split()
    for expected in ("v1", "apiextensions.k8s.io/v1", "coordination.k8s.io/v1", "events.k8s.io/v1",
                     "rbac.authorization.k8s.io/v1", "flyte.lyft.com/v1alpha1"):
        assert expected in versions
    assert versions == sorted(versions)


def test_explain_a_builtin_field(kubectl: Kubectl) -> None:
    out = kubectl.ok("explain", "pod.spec.containers.image")
    assert "KIND:" in out and "Pod" in out
    assert "FIELD:" in out and "image" in out
    assert "Container image name" in out


def test_explain_a_custom_resource(kubectl: Kubectl) -> None:
    out = kubectl.ok("explain", "flyteworkflows")
    assert "FlyteWorkflow" in out
    assert "flyte.lyft.com" in out


def test_cluster_info_names_the_server(kubectl: Kubectl, kubeshim) -> None:
    out = kubectl.ok("cluster-info")
    assert f"is running at {kubeshim.url}" in out.replace("\x1b[0;32m", "").replace("\x1b[0m", "").replace(
        "\x1b[0;33m", "")


def test_auth_can_i_as_admin(kubectl: Kubectl) -> None:
    assert kubectl.ok("auth", "can-i", "create", "pods").strip() == "yes"


def test_auth_can_i_follows_a_namespaced_role_binding(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "rolebinding", "tenant-edit", "--clusterrole=edit", "--user=tenant", "-n", ns)
    assert kubectl.ok("auth", "can-i", "create", "pods", "--as=tenant", "-n", ns).strip() == "yes"
    assert kubectl.run("auth", "can-i", "create", "pods", "--as=tenant", "-n", "kube-system").stdout.strip() == "no"


def test_a_tenant_is_forbidden_outside_its_namespace(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "rolebinding", "tenant-view", "--clusterrole=view", "--user=viewer", "-n", ns)
    result = kubectl.run("get", "pods", "--as=viewer", "-n", "kube-system")
    assert result.returncode != 0
    assert 'User "viewer" cannot list resource "pods"' in result.stderr
