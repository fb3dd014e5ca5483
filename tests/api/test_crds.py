"""CustomResourceDefinitions: served at once, several versions, structural schemas, subresources, conditions."""
from __future__ import annotations

from typing import Iterator

import pytest
from kubernetes import client

from apihelpers import expect_http, expect_page_not_found, expect_status, gone, unique, watch_events
from harness import wait_for

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "integer", "minimum": 1},
                "color": {"type": "string", "enum": ["red", "blue"], "default": "red"},
                "replicas": {"type": "integer", "default": 1},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "tags": {"type": "array", "items": {"type": "string"}},
                "selector": {"type": "string"},
            },
        },
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"},
                                                    "replicas": {"type": "integer"}}},
    },
}


def _version(name: str, storage: bool, served: bool = True, **extra) -> dict:
    return {"name": name, "served": served, "storage": storage, "schema": {"openAPIV3Schema": SCHEMA}, **extra}


def crd_body(group: str, plural: str = "widgets", kind: str = "Widget", scope: str = "Namespaced",
             versions: list | None = None) -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": scope,
                     "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"},
                     "versions": versions or [_version("v1", True, subresources={
                         "status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                 "statusReplicasPath": ".status.replicas",
                                                 "labelSelectorPath": ".spec.selector"}})]}}


@pytest.fixture
def ext(api_client) -> client.ApiextensionsV1Api:
    return client.ApiextensionsV1Api(api_client)


@pytest.fixture
def group(ext) -> Iterator[str]:
    """A fresh API group with a namespaced `widgets` CRD (status + scale subresources) at v1."""
    name = f"{unique('crd')}.example.com"
    ext.create_custom_resource_definition(crd_body(name))
    yield name
    try:
        ext.delete_custom_resource_definition(f"widgets.{name}")
    except client.ApiException:
        pass


def widget(group: str, name: str, version: str = "v1", **spec) -> dict:
    return {"apiVersion": f"{group}/{version}", "kind": "Widget", "metadata": {"name": name},
            "spec": {"size": 1, **spec}}


def test_crd_gets_names_accepted_and_established_conditions(ext, group):
    crd = ext.read_custom_resource_definition(f"widgets.{group}")
    conditions = {c.type: c for c in crd.status.conditions}
    assert conditions["NamesAccepted"].status == "True"
    assert conditions["Established"].status == "True"
    assert crd.status.accepted_names.plural == "widgets"
    assert crd.status.accepted_names.kind == "Widget"
    assert crd.status.stored_versions == ["v1"]


def test_custom_resources_are_served_at_once(custom, group, ns):
    created = custom.create_namespaced_custom_object(group, "v1", ns, "widgets", widget(group, "w1"))
    assert created["metadata"]["uid"] and created["metadata"]["generation"] == 1
    got = custom.get_namespaced_custom_object(group, "v1", ns, "widgets", "w1")
    assert got["spec"]["size"] == 1
    listed = custom.list_namespaced_custom_object(group, "v1", ns, "widgets")
    assert (listed["kind"], listed["apiVersion"]) == ("WidgetList", f"{group}/v1")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["w1"]
    patched = custom.patch_namespaced_custom_object(group, "v1", ns, "widgets", "w1", {"spec": {"size": 5}})
    assert patched["spec"]["size"] == 5
    deleted = custom.delete_namespaced_custom_object(group, "v1", ns, "widgets", "w1")
    assert deleted["metadata"]["name"] == "w1", "custom resources answer DELETE with the object"
    expect_status(lambda: custom.get_namespaced_custom_object(group, "v1", ns, "widgets", "w1"), 404, "NotFound")


def test_not_found_custom_resource_message_names_the_group(http, group, ns):
    status = expect_http(http.get(f"/apis/{group}/v1/namespaces/{ns}/widgets/nope"), 404, "NotFound")
    assert status["message"] == f'widgets.{group} "nope" not found'


def test_cluster_scoped_custom_resources(ext, custom):
    name = f"{unique('crdc')}.example.com"
    ext.create_custom_resource_definition(crd_body(name, "gizmos", "Gizmo", scope="Cluster",
                                                   versions=[_version("v1", True)]))
    try:
        body = {"apiVersion": f"{name}/v1", "kind": "Gizmo", "metadata": {"name": "g"}, "spec": {"size": 2}}
        created = custom.create_cluster_custom_object(name, "v1", "gizmos", body)
        assert "namespace" not in created["metadata"]
        assert custom.get_cluster_custom_object(name, "v1", "gizmos", "g")["spec"]["size"] == 2
        custom.delete_cluster_custom_object(name, "v1", "gizmos", "g")
        assert custom.list_cluster_custom_object(name, "v1", "gizmos")["items"] == []
    finally:
        ext.delete_custom_resource_definition(f"gizmos.{name}")


def test_namespaced_custom_resource_is_404_without_namespace_path(http, group):
    assert http.post(f"/apis/{group}/v1/widgets", json=widget(group, "x")).status_code in (404, 405)


def test_several_served_versions_share_storage(ext, custom, ns):
    name = f"{unique('crdv')}.example.com"
    ext.create_custom_resource_definition(crd_body(name, versions=[
        _version("v1", True), _version("v1beta1", False), _version("v1alpha1", False, served=False)]))
    try:
        custom.create_namespaced_custom_object(name, "v1beta1", ns, "widgets", widget(name, "w", "v1beta1"))
        as_v1 = custom.get_namespaced_custom_object(name, "v1", ns, "widgets", "w")
        assert as_v1["apiVersion"] == f"{name}/v1"
        as_beta = custom.get_namespaced_custom_object(name, "v1beta1", ns, "widgets", "w")
        assert as_beta["apiVersion"] == f"{name}/v1beta1"
        assert as_beta["metadata"]["uid"] == as_v1["metadata"]["uid"]
        beta_list = custom.list_namespaced_custom_object(name, "v1beta1", ns, "widgets")
        assert [i["apiVersion"] for i in beta_list["items"]] == [f"{name}/v1beta1"]
        expect_page_not_found(lambda: custom.list_namespaced_custom_object(name, "v1alpha1", ns, "widgets"))
        crd = ext.read_custom_resource_definition(f"widgets.{name}")
        assert crd.status.stored_versions == ["v1"]
    finally:
        ext.delete_custom_resource_definition(f"widgets.{name}")


def test_watch_on_another_version_shows_that_version(ext, custom, http, ns):
    name = f"{unique('crdw')}.example.com"
    ext.create_custom_resource_definition(crd_body(name, versions=[_version("v1", True), _version("v2", False)]))
    try:
        rv = custom.list_namespaced_custom_object(name, "v2", ns, "widgets")["metadata"]["resourceVersion"]
        custom.create_namespaced_custom_object(name, "v1", ns, "widgets", widget(name, "w"))
        [event] = watch_events(http, f"/apis/{name}/v2/namespaces/{ns}/widgets",
                               {"resourceVersion": rv, "timeoutSeconds": "1"})
        assert event["object"]["apiVersion"] == f"{name}/v2"
    finally:
        ext.delete_custom_resource_definition(f"widgets.{name}")


def test_unknown_fields_are_pruned(custom, group, ns):
    body = widget(group, "w", unknown="dropped")
    body["extra"] = {"also": "dropped"}
    created = custom.create_namespaced_custom_object(group, "v1", ns, "widgets", body)
    assert "unknown" not in created["spec"] and "extra" not in created
    stored = custom.get_namespaced_custom_object(group, "v1", ns, "widgets", "w")
    assert "unknown" not in stored["spec"] and "extra" not in stored


def test_preserve_unknown_fields_keeps_them(custom, group, ns):
    body = widget(group, "w", free={"anything": {"nested": [1, 2]}, "goes": True})
    created = custom.create_namespaced_custom_object(group, "v1", ns, "widgets", body)
    assert created["spec"]["free"] == {"anything": {"nested": [1, 2]}, "goes": True}


def test_defaults_are_applied(custom, group, ns):
    created = custom.create_namespaced_custom_object(group, "v1", ns, "widgets", widget(group, "w"))
    assert created["spec"]["color"] == "red"
    assert created["spec"]["replicas"] == 1


def test_validation_errors_are_422_with_causes(custom, group, ns, http):
    before = http.get(f"/apis/{group}/v1/namespaces/{ns}/widgets").json()["items"]
    body = widget(group, "w", color="green", tags=["ok", 3])
    body["spec"]["size"] = 0
    status = expect_status(lambda: custom.create_namespaced_custom_object(group, "v1", ns, "widgets", body),
                           422, "Invalid")
    fields = {c["field"]: c for c in status["details"]["causes"]}
    assert {"spec.color", "spec.size", "spec.tags[1]"} <= set(fields)
    assert fields["spec.color"]["reason"] == "FieldValueNotSupported"
    assert status["details"]["kind"] == "Widget" and status["details"]["group"] == group
    assert status["message"].startswith(f'Widget.{group} "w" is invalid: ')
    missing = {"apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "m"}, "spec": {}}
    status = expect_status(lambda: custom.create_namespaced_custom_object(group, "v1", ns, "widgets", missing),
                           422, "Invalid")
    assert [c["reason"] for c in status["details"]["causes"]] == ["FieldValueRequired"]
    assert http.get(f"/apis/{group}/v1/namespaces/{ns}/widgets").json()["items"] == before


def test_invalid_update_changes_nothing(custom, group, ns):
    created = custom.create_namespaced_custom_object(group, "v1", ns, "widgets", widget(group, "w"))
    expect_status(lambda: custom.patch_namespaced_custom_object(group, "v1", ns, "widgets", "w",
                                                                {"spec": {"size": "big"}}), 422, "Invalid")
    after = custom.get_namespaced_custom_object(group, "v1", ns, "widgets", "w")
    assert after["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_wrong_kind_for_custom_resource_path_is_invalid(http, group, ns):
    body = widget(group, "w")
    body["kind"] = "Gadget"
    status = expect_http(http.post(f"/apis/{group}/v1/namespaces/{ns}/widgets", json=body), 422, "Invalid")
    assert status["message"] == f'Gadget.{group} "w" is invalid: kind: Invalid value: "Gadget": must be Widget'


def test_status_subresource_main_endpoint_ignores_status(custom, group, ns):
    body = widget(group, "w")
    body["status"] = {"ready": True}
    created = custom.create_namespaced_custom_object(group, "v1", ns, "widgets", body)
    assert "status" not in created
    updated = custom.patch_namespaced_custom_object(group, "v1", ns, "widgets", "w",
                                                    {"spec": {"size": 2}, "status": {"ready": True}})
    assert updated["spec"]["size"] == 2 and "status" not in updated
    assert updated["metadata"]["generation"] == 2


def test_status_subresource_ignores_spec_and_keeps_generation(custom, group, ns):
    custom.create_namespaced_custom_object(group, "v1", ns, "widgets", widget(group, "w"))
    updated = custom.patch_namespaced_custom_object_status(group, "v1", ns, "widgets", "w",
                                                           {"spec": {"size": 9}, "status": {"ready": True}})
    assert updated["status"] == {"ready": True}
    assert updated["spec"]["size"] == 1
    assert updated["metadata"]["generation"] == 1
    got = custom.get_namespaced_custom_object_status(group, "v1", ns, "widgets", "w")
    assert got["status"] == {"ready": True}


def test_generation_ignores_metadata_changes_on_custom_resources(custom, group, ns):
    custom.create_namespaced_custom_object(group, "v1", ns, "widgets", widget(group, "w"))
    updated = custom.patch_namespaced_custom_object(group, "v1", ns, "widgets", "w",
                                                    {"metadata": {"labels": {"a": "b"}}})
    assert updated["metadata"]["generation"] == 1


def test_scale_subresource_reads_and_writes_replicas(custom, group, ns):
    custom.create_namespaced_custom_object(group, "v1", ns, "widgets", widget(group, "w", replicas=2,
                                                                               selector="app=w"))
    custom.patch_namespaced_custom_object_status(group, "v1", ns, "widgets", "w", {"status": {"replicas": 2}})
    scale = custom.get_namespaced_custom_object_scale(group, "v1", ns, "widgets", "w")
    assert (scale["kind"], scale["apiVersion"]) == ("Scale", "autoscaling/v1")
    assert scale["spec"]["replicas"] == 2 and scale["status"]["replicas"] == 2
    assert scale["status"]["selector"] == "app=w"
    scale["spec"]["replicas"] = 5
    custom.replace_namespaced_custom_object_scale(group, "v1", ns, "widgets", "w", scale)
    assert custom.get_namespaced_custom_object(group, "v1", ns, "widgets", "w")["spec"]["replicas"] == 5
    custom.patch_namespaced_custom_object_scale(group, "v1", ns, "widgets", "w", {"spec": {"replicas": 7}})
    assert custom.get_namespaced_custom_object(group, "v1", ns, "widgets", "w")["spec"]["replicas"] == 7


def test_strategic_merge_patch_on_custom_resource_is_415(http, custom, group, ns):
    custom.create_namespaced_custom_object(group, "v1", ns, "widgets", widget(group, "w"))
    resp = http.patch(f"/apis/{group}/v1/namespaces/{ns}/widgets/w", content=b'{"spec": {"size": 3}}',
                      headers={"Content-Type": "application/strategic-merge-patch+json"})
    expect_http(resp, 415, "UnsupportedMediaType")


def test_custom_resource_list_and_watch_honour_selectors(custom, group, ns, http):
    rv = custom.list_namespaced_custom_object(group, "v1", ns, "widgets")["metadata"]["resourceVersion"]
    for name, color in (("a", "red"), ("b", "blue")):
        body = widget(group, name, color=color)
        body["metadata"]["labels"] = {"color": color}
        custom.create_namespaced_custom_object(group, "v1", ns, "widgets", body)
    listed = custom.list_namespaced_custom_object(group, "v1", ns, "widgets", label_selector="color=blue")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["b"]
    events = watch_events(http, f"/apis/{group}/v1/namespaces/{ns}/widgets",
                          {"resourceVersion": rv, "fieldSelector": "metadata.name=a", "timeoutSeconds": "1"})
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "a")]


def test_crd_deletion_stops_serving_its_resources(ext, custom, ns):
    name = f"{unique('crdd')}.example.com"
    ext.create_custom_resource_definition(crd_body(name))
    custom.create_namespaced_custom_object(name, "v1", ns, "widgets", widget(name, "w"))
    ext.delete_custom_resource_definition(f"widgets.{name}")
    wait_for(lambda: gone(lambda: ext.read_custom_resource_definition(f"widgets.{name}")), what="CRD gone")
    expect_page_not_found(lambda: custom.list_namespaced_custom_object(name, "v1", ns, "widgets"))


def test_recreated_crd_does_not_resurrect_old_instances(ext, custom, ns):
    name = f"{unique('crdr')}.example.com"
    ext.create_custom_resource_definition(crd_body(name))
    custom.create_namespaced_custom_object(name, "v1", ns, "widgets", widget(name, "w"))
    ext.delete_custom_resource_definition(f"widgets.{name}")
    wait_for(lambda: gone(lambda: ext.read_custom_resource_definition(f"widgets.{name}")), what="CRD gone")
    ext.create_custom_resource_definition(crd_body(name))
    try:
        assert custom.list_namespaced_custom_object(name, "v1", ns, "widgets")["items"] == []
    finally:
        ext.delete_custom_resource_definition(f"widgets.{name}")


def test_invalid_crd_is_422(ext):
    body = crd_body("nodots")
    status = expect_status(lambda: ext.create_custom_resource_definition(body), 422, "Invalid")
    assert any(c["field"] == "spec.group" for c in status["details"]["causes"])
    body = crd_body(f"{unique('crdi')}.example.com")
    body["spec"]["versions"][0]["storage"] = False
    expect_status(lambda: ext.create_custom_resource_definition(body), 422, "Invalid")


def test_namespace_deletion_removes_custom_resources(core, custom, group):
    space = unique("nscr")
    core.create_namespace({"metadata": {"name": space}})
    custom.create_namespaced_custom_object(group, "v1", space, "widgets", widget(group, "w"))
    core.delete_namespace(space)
    wait_for(lambda: gone(lambda: core.read_namespace(space)), what="namespace gone")
    assert custom.list_namespaced_custom_object(group, "v1", space, "widgets")["items"] == []
