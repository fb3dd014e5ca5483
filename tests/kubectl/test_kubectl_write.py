"""Writes through kubectl: create -f, apply (including a CRD and its custom resource in one file), delete,
label, annotate and edit. Validation stays on (kubectl's default): it reads the server's /openapi/v3."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
import yaml

from kubectl_helpers import Kubectl, unique

pytestmark = pytest.mark.kubectl

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels:
    app: web
spec:
  containers:
  - name: main
    image: python:3.11
    command: ["python", "-m", "http.server"]
    ports:
    - containerPort: 8000
"""


def crd_and_resource(group: str, size: int = 3) -> str:
    """A multi-document file: a namespaced CRD, then an object of its kind."""
    return f"""\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.{group}
spec:
  group: {group}
  scope: Namespaced
  names:
    kind: Widget
    plural: widgets
    singular: widget
    shortNames: [wdg]
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size:
                type: integer
              color:
                type: string
---
apiVersion: {group}/v1
kind: Widget
metadata:
  name: w1
spec:
  size: {size}
  color: blue
"""


def apply_until_mapped(kubectl: Kubectl, path: Path, ns: str, attempts: int = 5) -> str:
    """`kubectl apply -f` of a CRD and its resource. kubectl maps every document before sending any, so the
    first run may report the new kind as unknown ("ensure CRDs are installed first") after creating the CRD,
    exactly as against a real cluster; a second run maps it. Returns the successful run's output."""
    last = None
    for _ in range(attempts):
        last = kubectl.run("apply", "-f", str(path), "-n", ns)
        if last.returncode == 0:
            return last.stdout
        assert "ensure CRDs are installed first" in last.stderr or "no matches for kind" in last.stderr, \
            last.stderr
        time.sleep(0.2)
    raise AssertionError(f"apply never succeeded: {last.stderr if last else ''}")


def test_create_from_file_with_validation(kubectl: Kubectl, ns: str, tmp_path: Path) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(POD.format(name="from-file"))
    assert kubectl.ok("create", "-f", str(path), "-n", ns).strip() == "pod/from-file created"
    pod = kubectl.get_json("pod", "from-file", "-n", ns)
    assert pod["spec"]["containers"][0]["ports"] == [{"containerPort": 8000, "protocol": "TCP"}]
    assert pod["status"]["phase"] == "Pending"


def test_create_existing_object_is_already_exists(kubectl: Kubectl, ns: str, tmp_path: Path) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(POD.format(name="twice"))
    kubectl.ok("create", "-f", str(path), "-n", ns)
    result = kubectl.fails("create", "-f", str(path), "-n", ns)
    assert 'pods "twice" already exists' in result.stderr


def test_create_invalid_object_shows_field_errors(kubectl: Kubectl, ns: str, tmp_path: Path) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(POD.format(name="no-image").replace("    image: python:3.11\n", ""))
    result = kubectl.fails("create", "-f", str(path), "-n", ns)
    assert 'The Pod "no-image" is invalid' in result.stderr
    assert "spec.containers[0].image: Required value" in result.stderr


UNKNOWN_FIELD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unknown\ndata:\n  a: b\nbogus: 1\n"


def test_create_rejects_unknown_fields_with_strict_validation(kubectl: Kubectl, ns: str, tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text(UNKNOWN_FIELD)
    result = kubectl.fails("create", "-f", str(path), "-n", ns)
    assert 'unknown field "bogus"' in result.stderr
    kubectl.fails("get", "cm", "unknown", "-n", ns)


def test_create_with_validate_warn_warns_about_unknown_fields(kubectl: Kubectl, ns: str, tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text(UNKNOWN_FIELD)
    result = kubectl.run("create", "-f", str(path), "-n", ns, "--validate=warn")
    assert result.returncode == 0, result.stderr
    assert 'Warning: unknown field "bogus"' in result.stderr
    assert kubectl.get_json("cm", "unknown", "-n", ns)["data"] == {"a": "b"}


def test_apply_creates_then_updates(kubectl: Kubectl, ns: str, tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: one\n  b: two\n")
    assert kubectl.ok("apply", "-f", str(path), "-n", ns).strip() == "configmap/applied created"
    assert kubectl.ok("apply", "-f", str(path), "-n", ns).strip() == "configmap/applied unchanged"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: uno\n")
    assert kubectl.ok("apply", "-f", str(path), "-n", ns).strip() == "configmap/applied configured"
    assert kubectl.get_json("cm", "applied", "-n", ns)["data"] == {"a": "uno"}, "b was removed by apply"


def test_apply_crd_and_custom_resource_in_one_file(kubectl: Kubectl, ns: str, tmp_path: Path) -> None:
    group = f"{unique('kt')}.example.com"
    path = tmp_path / "widgets.yaml"
    path.write_text(crd_and_resource(group))
    try:
        out = apply_until_mapped(kubectl, path, ns)
        assert f"widget.{group}/w1" in out
        widget = kubectl.get_json("wdg", "w1", "-n", ns)
        assert widget["apiVersion"] == f"{group}/v1" and widget["kind"] == "Widget"
        assert widget["spec"] == {"size": 3, "color": "blue"}
        path.write_text(crd_and_resource(group, size=5))
        out = kubectl.ok("apply", "-f", str(path), "-n", ns)
        assert f"customresourcedefinition.apiextensions.k8s.io/widgets.{group} unchanged" in out
        assert f"widget.{group}/w1 configured" in out
        assert kubectl.get_json("wdg", "w1", "-n", ns)["spec"]["size"] == 5
    finally:
        kubectl.run("delete", f"widgets.{group}", "w1", "-n", ns)
        kubectl.run("delete", "crd", f"widgets.{group}")


def test_deleting_a_crd_deletes_its_custom_resources(kubectl: Kubectl, ns: str, tmp_path: Path) -> None:
    """Recreating a deleted CRD must not bring its old objects back."""
    group = f"{unique('kt')}.example.com"
    path = tmp_path / "widgets.yaml"
    path.write_text(crd_and_resource(group))
    apply_until_mapped(kubectl, path, ns)
    assert kubectl.ok("delete", "crd", f"widgets.{group}").strip() == \
        f'customresourcedefinition.apiextensions.k8s.io "widgets.{group}" deleted'
    kubectl.fails("get", "crd", f"widgets.{group}")
    try:
        out = apply_until_mapped(kubectl, path, ns)
        assert f"widget.{group}/w1 created" in out
    finally:
        kubectl.run("delete", "crd", f"widgets.{group}")


def test_delete_object(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "configmap", "doomed", "-n", ns)
    assert kubectl.ok("delete", "configmap", "doomed", "-n", ns).strip() == \
        kubectl.deleted('configmap "doomed"', ns)
    assert 'configmaps "doomed" not found' in kubectl.fails("get", "configmap", "doomed", "-n", ns).stderr


def test_delete_by_label_selector(kubectl: Kubectl, ns: str) -> None:
    for name, tier in (("a", "x"), ("b", "x"), ("c", "y")):
        kubectl.ok("create", "configmap", name, "-n", ns)
        kubectl.ok("label", "configmap", name, f"tier={tier}", "-n", ns)
    out = kubectl.ok("delete", "configmaps", "-l", "tier=x", "-n", ns)
    assert sorted(out.strip().splitlines()) == [kubectl.deleted(f'configmap "{name}"', ns) for name in "ab"]
    assert kubectl.ok("get", "cm", "-n", ns, "-o", "name", "-l", "tier").split() == ["configmap/c"]


def test_delete_missing_object_is_not_found(kubectl: Kubectl, ns: str) -> None:
    assert 'configmaps "ghost" not found' in kubectl.fails("delete", "configmap", "ghost", "-n", ns).stderr


def test_delete_cascade_foreground_removes_dependents_first(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "configmap", "owner", "-n", ns)
    owner = kubectl.get_json("cm", "owner", "-n", ns)
    kubectl.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "dependent", "namespace": ns,
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                             "uid": owner["metadata"]["uid"], "blockOwnerDeletion": True}]}})
    out = kubectl.ok("delete", "configmap", "owner", "-n", ns, "--cascade=foreground", "--timeout=30s")
    assert out.strip() == kubectl.deleted('configmap "owner"', ns)
    assert kubectl.ok("get", "cm", "-n", ns, "-o", "name").split() == [], "owner and dependent are gone"


def test_delete_cascade_orphan_keeps_dependents(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "configmap", "owner", "-n", ns)
    owner = kubectl.get_json("cm", "owner", "-n", ns)
    kubectl.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "dependent", "namespace": ns,
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                             "uid": owner["metadata"]["uid"]}]}})
    kubectl.ok("delete", "configmap", "owner", "-n", ns, "--cascade=orphan", "--timeout=30s")
    dependent = kubectl.get_json("cm", "dependent", "-n", ns)
    assert not dependent["metadata"].get("ownerReferences")


def test_delete_pod_without_node_is_immediate(kubectl: Kubectl, ns: str, tmp_path: Path) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(POD.format(name="unscheduled"))
    kubectl.ok("create", "-f", str(path), "-n", ns)
    assert kubectl.ok("delete", "-f", str(path), "-n", ns, "--timeout=20s").strip() == \
        kubectl.deleted('pod "unscheduled"', ns)
    kubectl.fails("get", "pod", "unscheduled", "-n", ns)


def test_label_add_overwrite_and_remove(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "configmap", "labelled", "-n", ns)
    assert kubectl.ok("label", "cm", "labelled", "tier=gold", "-n", ns).strip() == "configmap/labelled labeled"
    result = kubectl.fails("label", "cm", "labelled", "tier=silver", "-n", ns)
    assert "already has a value (gold)" in result.stderr
    kubectl.ok("label", "cm", "labelled", "tier=silver", "--overwrite", "-n", ns)
    assert kubectl.get_json("cm", "labelled", "-n", ns)["metadata"]["labels"] == {"tier": "silver"}
    assert kubectl.ok("label", "cm", "labelled", "tier-", "-n", ns).strip() == "configmap/labelled unlabeled"
    assert not kubectl.get_json("cm", "labelled", "-n", ns)["metadata"].get("labels")


def test_annotate_add_and_remove(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "configmap", "noted", "-n", ns)
    out = kubectl.ok("annotate", "cm", "noted", "example.com/note=hello world", "-n", ns).strip()
    assert out in ("configmap/noted annotate", "configmap/noted annotated")  # 1.27 says "annotate"
    assert kubectl.get_json("cm", "noted", "-n", ns)["metadata"]["annotations"] == \
        {"example.com/note": "hello world"}
    kubectl.ok("annotate", "cm", "noted", "example.com/note-", "-n", ns)
    assert not kubectl.get_json("cm", "noted", "-n", ns)["metadata"].get("annotations")


def test_edit_with_editor_changes_the_object(kubectl: Kubectl, ns: str, tmp_path: Path) -> None:
    kubectl.ok("create", "configmap", "edited", "--from-literal=color=blue", "-n", ns)
    editor = tmp_path / "editor.py"
    editor.write_text(f"#!{sys.executable}\n"
                      "import sys, yaml\n"
                      "path = sys.argv[-1]\n"
                      "obj = yaml.safe_load(open(path))\n"
                      "obj['data']['color'] = 'green'\n"
                      "obj['data']['size'] = 'large'\n"
                      "yaml.safe_dump(obj, open(path, 'w'))\n")
    editor.chmod(0o755)
    out = kubectl.ok("edit", "configmap", "edited", "-n", ns, env={"EDITOR": str(editor)})
    assert out.strip() == "configmap/edited edited"
    assert kubectl.get_json("cm", "edited", "-n", ns)["data"] == {"color": "green", "size": "large"}


def test_replace_with_stale_resource_version_conflicts(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "configmap", "raced", "--from-literal=a=1", "-n", ns)
    stale = kubectl.get_json("cm", "raced", "-n", ns)
    kubectl.ok("label", "cm", "raced", "x=y", "-n", ns)
    stale["data"]["a"] = "2"
    result = kubectl.fails("replace", "-f", "-", input=json.dumps(stale))
    assert "the object has been modified; please apply your changes to the latest version" in result.stderr


def test_scale_is_not_offered_for_configmaps(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "configmap", "plain", "-n", ns)
    assert kubectl.run("scale", "configmap", "plain", "--replicas=2", "-n", ns).returncode != 0


def test_create_namespace_and_object_in_it_from_one_file(kubectl: Kubectl, tmp_path: Path) -> None:
    name = unique("kt")
    path = tmp_path / "both.yaml"
    path.write_text(yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inside", "namespace": name},
         "data": {"k": "v"}}]))
    try:
        out = kubectl.ok("create", "-f", str(path))
        assert out.split("\n")[:2] == [f"namespace/{name} created", "configmap/inside created"]
        assert kubectl.get_json("cm", "inside", "-n", name)["data"] == {"k": "v"}
    finally:
        kubectl.run("delete", "namespace", name, "--wait=false")


def test_create_refuses_unknown_fields_of_a_custom_resource_with_strict_validation(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("apply", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.strict.example.com"},
        "spec": {"group": "strict.example.com", "scope": "Namespaced",
                 "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                     "type": "object", "properties": {"spec": {"type": "object", "properties": {
                         "size": {"type": "integer"}}}}}}}]}}))
    gadget = {"apiVersion": "strict.example.com/v1", "kind": "Gadget", "metadata": {"name": "g", "namespace": ns},
              "spec": {"size": 3, "colour": "red"}}
    failed = kubectl.fails("create", "-f", "-", input=yaml.safe_dump(gadget))
    assert 'strict decoding error: unknown field "spec.colour"' in failed.stderr
    warned = kubectl.run("create", "--validate=warn", "-f", "-", input=yaml.safe_dump(gadget))
    assert warned.returncode == 0, warned.stderr
    assert 'unknown field "spec.colour"' in warned.stderr
    assert kubectl.get_json("gadget", "g", "-n", ns)["spec"] == {"size": 3}
