"""`kubectl get`: namespaces and -A, output formats, label selectors and short names."""
from __future__ import annotations

import json

import pytest
import yaml

from kubectl_helpers import Kubectl, header, row, table, unique

pytestmark = pytest.mark.kubectl


def configmap(name: str, namespace: str, labels: dict[str, str] | None = None, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}}, "data": data}


def test_get_all_namespaces_prints_namespace_column(kubectl: Kubectl, ns: str) -> None:
    other = unique("kt")
    kubectl.ok("create", "namespace", other)
    try:
        kubectl.create(configmap("here", ns, a="1"))
        kubectl.create(configmap("there", other))
        out = kubectl.ok("get", "configmaps", "-A")
        assert header(out) == ["NAMESPACE", "NAME", "DATA", "AGE"]
        pairs = [cells[:3] for cells in table(out)[1:]]
        assert [ns, "here", "1"] in pairs and [other, "there", "0"] in pairs
    finally:
        kubectl.run("delete", "namespace", other, "--wait=false")


def test_get_in_namespace_lists_only_that_namespace(kubectl: Kubectl, ns: str) -> None:
    kubectl.create(configmap("mine", ns))
    out = kubectl.ok("get", "configmaps", "-n", ns, "-o", "name")
    assert out.split() == ["configmap/mine"]


def test_get_output_yaml_is_the_object(kubectl: Kubectl, ns: str) -> None:
    kubectl.create(configmap("as-yaml", ns, {"app": "web"}, key="value"))
    obj = yaml.safe_load(kubectl.ok("get", "configmap", "as-yaml", "-n", ns, "-o", "yaml"))
    assert obj["apiVersion"] == "v1" and obj["kind"] == "ConfigMap"
    assert obj["metadata"]["name"] == "as-yaml" and obj["metadata"]["namespace"] == ns
    assert obj["metadata"]["labels"] == {"app": "web"}
    assert obj["data"] == {"key": "value"}
    assert obj["metadata"]["uid"] and obj["metadata"]["resourceVersion"] and obj["metadata"]["creationTimestamp"]


def test_get_output_json_of_a_list(kubectl: Kubectl, ns: str) -> None:
    kubectl.create(configmap("one", ns))
    kubectl.create(configmap("two", ns))
    doc = json.loads(kubectl.ok("get", "configmaps", "-n", ns, "-o", "json"))
    assert doc["kind"] == "List" and doc["apiVersion"] == "v1"
    assert sorted(i["metadata"]["name"] for i in doc["items"]) == ["one", "two"]
    assert {i["kind"] for i in doc["items"]} == {"ConfigMap"}


def test_get_output_jsonpath(kubectl: Kubectl, ns: str) -> None:
    kubectl.create(configmap("jp", ns, answer="42"))
    assert kubectl.ok("get", "cm", "jp", "-n", ns, "-o", "jsonpath={.data.answer}") == "42"


@pytest.mark.parametrize("selector, expected", [
    ("tier=gold", ["gold"]),
    ("tier!=gold", ["plain", "silver"]),
    ("tier in (gold,silver)", ["gold", "silver"]),
    ("tier notin (gold)", ["plain", "silver"]),
    ("tier", ["gold", "silver"]),
    ("!tier", ["plain"]),
    ("tier=silver,app=web", ["silver"]),
])
def test_get_with_label_selector(kubectl: Kubectl, ns: str, selector: str, expected: list[str]) -> None:
    kubectl.create(configmap("gold", ns, {"tier": "gold"}))
    kubectl.create(configmap("silver", ns, {"tier": "silver", "app": "web"}))
    kubectl.create(configmap("plain", ns))
    out = kubectl.ok("get", "configmaps", "-n", ns, "-l", selector, "-o", "name")
    assert sorted(out.split()) == [f"configmap/{n}" for n in expected]


def test_get_with_field_selector(kubectl: Kubectl, ns: str) -> None:
    kubectl.create(configmap("wanted", ns))
    kubectl.create(configmap("other", ns))
    out = kubectl.ok("get", "configmaps", "-n", ns, "--field-selector", "metadata.name=wanted", "-o", "name")
    assert out.split() == ["configmap/wanted"]


def test_get_missing_object_is_not_found(kubectl: Kubectl, ns: str) -> None:
    result = kubectl.fails("get", "configmap", "absent", "-n", ns)
    assert 'configmaps "absent" not found' in result.stderr


def test_get_by_short_name_cm(kubectl: Kubectl, ns: str) -> None:
    kubectl.create(configmap("short", ns))
    assert row(kubectl.ok("get", "cm", "-n", ns), "short")["DATA"] == "0"


def test_get_by_short_name_ns(kubectl: Kubectl, ns: str) -> None:
    assert row(kubectl.ok("get", "ns", ns), ns)["STATUS"] == "Active"


def test_get_by_short_name_sa(kubectl: Kubectl, ns: str) -> None:
    """The service-account controller gives every namespace its `default` account."""
    kubectl.ok("wait", "--for=jsonpath={.metadata.name}=default", "sa/default", "-n", ns, "--timeout=20s")
    assert "serviceaccount/default" in kubectl.ok("get", "sa", "-n", ns, "-o", "name").split()


def test_get_by_short_name_po(kubectl: Kubectl, ns: str) -> None:
    kubectl.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "short-pod", "namespace": ns},
                    "spec": {"containers": [{"name": "main", "image": "python:3.11"}]}})
    assert kubectl.ok("get", "po", "-n", ns, "-o", "name").split() == ["pod/short-pod"]


def test_flyte_crd_is_installed_at_first_start(kubectl: Kubectl) -> None:
    crd = kubectl.get_json("crd", "flyteworkflows.flyte.lyft.com")
    assert crd["spec"]["group"] == "flyte.lyft.com"
    assert crd["spec"]["names"]["shortNames"] == ["fly"]
    assert crd["spec"]["scope"] == "Namespaced"
    assert [v["name"] for v in crd["spec"]["versions"]] == ["v1alpha1"]
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]}["Established"] == "True"


def test_get_by_short_name_fly(kubectl: Kubectl, ns: str) -> None:
    kubectl.create({"apiVersion": "flyte.lyft.com/v1alpha1", "kind": "FlyteWorkflow",
                    "metadata": {"name": "wf1", "namespace": ns},
                    "spec": {"id": "p:d:wf", "nodes": {"start": {"id": "start"}}},
                    "inputs": {}, "executionId": {"project": "p", "domain": "d", "name": "x"}})
    out = kubectl.ok("get", "fly", "-n", ns)
    assert header(out) == ["NAME", "AGE"]
    assert row(out, "wf1")
    wf = kubectl.get_json("fly", "wf1", "-n", ns)
    assert wf["kind"] == "FlyteWorkflow" and wf["spec"]["nodes"]["start"]["id"] == "start"
    assert wf["executionId"]["project"] == "p", "preserve-unknown-fields keeps top-level fields"


def test_get_multiple_kinds_at_once(kubectl: Kubectl, ns: str) -> None:
    kubectl.create(configmap("multi", ns))
    out = kubectl.ok("get", "cm,sa", "-n", ns, "-o", "name")
    assert "configmap/multi" in out.split()


def test_get_all_category_includes_pods(kubectl: Kubectl, ns: str) -> None:
    name = unique("p")
    kubectl.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
                    "spec": {"containers": [{"name": "main", "image": "python:3.11"}]}})
    assert f"pod/{name}" in kubectl.ok("get", "all", "-n", ns, "-o", "name").split()
