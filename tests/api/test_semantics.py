"""Object semantics every client relies on: server-set metadata, generation, no-op writes, status rules."""
from __future__ import annotations

import re

from apihelpers import cm_manifest, expect_http, pod_manifest

RFC3339_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
UID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
GENERATE_ALPHABET = set("bcdfghjklmnpqrstvwxz2456789")


def test_create_sets_uid_creation_timestamp_and_resource_version(http, ns):
    obj = http.post(f"/api/v1/namespaces/{ns}/configmaps", json=cm_manifest("meta")).json()
    meta = obj["metadata"]
    assert UID.match(meta["uid"])
    assert RFC3339_SECONDS.match(meta["creationTimestamp"])
    assert meta["resourceVersion"].isdigit()
    assert http.get(f"/api/v1/namespaces/{ns}/configmaps/meta").json()["metadata"] == meta


def test_server_owned_metadata_in_the_body_is_ignored_on_create(http, ns):
    body = cm_manifest("owned")
    body["metadata"].update({"uid": "11111111-1111-1111-1111-111111111111",
                             "creationTimestamp": "2001-01-01T00:00:00Z",
                             "deletionTimestamp": "2001-01-01T00:00:00Z", "generation": 7})
    meta = http.post(f"/api/v1/namespaces/{ns}/configmaps", json=body).json()["metadata"]
    assert meta["uid"] != body["metadata"]["uid"]
    assert meta["creationTimestamp"] != "2001-01-01T00:00:00Z"
    assert "deletionTimestamp" not in meta


def test_resource_versions_increase_with_every_write(core, ns):
    a = core.create_namespaced_config_map(ns, cm_manifest("a"))
    b = core.create_namespaced_config_map(ns, cm_manifest("b"))
    a2 = core.patch_namespaced_config_map("a", ns, {"data": {"k": "v2"}})
    assert int(a.metadata.resource_version) < int(b.metadata.resource_version) < int(a2.metadata.resource_version)


def test_uid_and_creation_timestamp_survive_updates(core, ns):
    created = core.create_namespaced_config_map(ns, cm_manifest("keep"))
    created.metadata.uid = "22222222-2222-2222-2222-222222222222"
    created.data = {"k": "changed"}
    updated = core.replace_namespaced_config_map("keep", ns, created)
    assert updated.metadata.creation_timestamp == core.read_namespaced_config_map("keep", ns) \
        .metadata.creation_timestamp
    assert updated.metadata.uid != "22222222-2222-2222-2222-222222222222"


def test_generation_starts_at_one(core, ns):
    assert core.create_namespaced_pod(ns, pod_manifest("gen")).metadata.generation == 1


def test_generation_bumps_on_spec_change(core, ns):
    core.create_namespaced_pod(ns, pod_manifest("gen"))
    pod = core.patch_namespaced_pod("gen", ns, {"spec": {"containers": [{"name": "main", "image": "busybox:1.37"}]}})
    assert pod.spec.containers[0].image == "busybox:1.37"
    assert pod.metadata.generation == 2


def test_generation_stays_on_label_and_annotation_change(core, ns):
    core.create_namespaced_pod(ns, pod_manifest("gen"))
    pod = core.patch_namespaced_pod("gen", ns, {"metadata": {"labels": {"a": "b"}, "annotations": {"c": "d"}}})
    assert pod.metadata.labels == {"a": "b"}
    assert pod.metadata.generation == 1


def test_generation_stays_on_status_change(core, ns):
    core.create_namespaced_pod(ns, pod_manifest("gen"))
    pod = core.patch_namespaced_pod_status("gen", ns, {"status": {"phase": "Running"}})
    assert pod.status.phase == "Running"
    assert pod.metadata.generation == 1


def test_generate_name_appends_five_random_characters(core, ns):
    body = cm_manifest("")
    body["metadata"] = {"generateName": "job-"}
    a = core.create_namespaced_config_map(ns, body).metadata
    b = core.create_namespaced_config_map(ns, body).metadata
    for meta in (a, b):
        assert meta.generate_name == "job-"
        assert meta.name.startswith("job-") and len(meta.name) == len("job-") + 5
        assert set(meta.name[4:]) <= GENERATE_ALPHABET
    assert a.name != b.name


def test_generate_name_cuts_a_long_prefix_to_58_characters(core, ns):
    prefix = "x" * 70
    meta = core.create_namespaced_config_map(ns, {"metadata": {"generateName": prefix}}).metadata
    assert meta.name.startswith("x" * 58) and len(meta.name) == 63


def test_managed_fields_record_the_manager_and_operation(http, ns):
    obj = http.post(f"/api/v1/namespaces/{ns}/configmaps", params={"fieldManager": "my-tool"},
                    json=cm_manifest("mf", labels={"a": "b"})).json()
    [entry] = obj["metadata"]["managedFields"]
    assert entry["manager"] == "my-tool"
    assert entry["operation"] == "Update"
    assert entry["apiVersion"] == "v1"
    assert entry["fieldsType"] == "FieldsV1"
    assert "f:data" in entry["fieldsV1"] and "f:labels" in entry["fieldsV1"]["f:metadata"]
    assert RFC3339_SECONDS.match(entry["time"])


def test_managed_fields_default_manager_is_the_user_agent_name(http, ns):
    obj = http.post(f"/api/v1/namespaces/{ns}/configmaps", json=cm_manifest("ua"),
                    headers={"User-Agent": "some-controller/v1.2.3 (linux/amd64)"}).json()
    assert obj["metadata"]["managedFields"][0]["manager"] == "some-controller"


def test_managed_fields_follow_changes_by_several_managers(http, ns):
    path = f"/api/v1/namespaces/{ns}/configmaps"
    obj = http.post(path, params={"fieldManager": "first"},
                    json=cm_manifest("mf", labels={"a": "1", "b": "2"}, data={"x": "1"})).json()
    obj["metadata"]["labels"] = {"a": "1"}
    obj["data"] = {"x": "1", "y": "2"}
    obj = http.put(f"{path}/mf", params={"fieldManager": "second"}, json=obj).json()
    by_manager = {e["manager"]: e["fieldsV1"] for e in obj["metadata"]["managedFields"]}
    assert set(by_manager) == {"first", "second"}
    assert by_manager["second"] == {"f:data": {"f:y": {}}}
    assert by_manager["first"]["f:metadata"]["f:labels"] == {".": {}, "f:a": {}}, \
        "a removed field belongs to nobody; the map it created stays its own"
    assert by_manager["first"]["f:data"] == {".": {}, "f:x": {}}


def test_noop_update_keeps_resource_version(core, ns):
    created = core.create_namespaced_config_map(ns, cm_manifest("noop"))
    again = core.replace_namespaced_config_map("noop", ns, created)
    assert again.metadata.resource_version == created.metadata.resource_version
    patched = core.patch_namespaced_config_map("noop", ns, {"data": {"k": "v"}})
    assert patched.metadata.resource_version == created.metadata.resource_version


def test_main_endpoint_ignores_status(core, ns):
    pod = core.create_namespaced_pod(ns, pod_manifest("st"))
    pod.status.phase = "Running"
    pod.metadata.labels = {"x": "y"}
    updated = core.replace_namespaced_pod("st", ns, pod)
    assert updated.metadata.labels == {"x": "y"}
    assert updated.status.phase == "Pending"
    assert core.patch_namespaced_pod("st", ns, {"status": {"phase": "Failed"}}).status.phase == "Pending"


def test_status_endpoint_ignores_spec(core, ns):
    pod = core.create_namespaced_pod(ns, pod_manifest("st"))
    pod.spec.containers[0].image = "other:1"
    pod.status.phase = "Running"
    updated = core.replace_namespaced_pod_status("st", ns, pod)
    assert updated.status.phase == "Running"
    assert updated.spec.containers[0].image == "busybox:1.36"
    assert core.read_namespaced_pod("st", ns).spec.containers[0].image == "busybox:1.36"


def test_update_without_resource_version_is_unconditional(core, ns):
    created = core.create_namespaced_config_map(ns, cm_manifest("uncond"))
    core.patch_namespaced_config_map("uncond", ns, {"data": {"k": "other"}})
    created.metadata.resource_version = None
    created.data = {"k": "mine"}
    assert core.replace_namespaced_config_map("uncond", ns, created).data == {"k": "mine"}


def test_delete_answers_success_status_for_plain_kinds(http, ns):
    http.post(f"/api/v1/namespaces/{ns}/configmaps", json=cm_manifest("del")).raise_for_status()
    resp = http.delete(f"/api/v1/namespaces/{ns}/configmaps/del")
    body = resp.json()
    assert resp.status_code == 200
    assert (body["kind"], body["status"]) == ("Status", "Success")
    assert body["details"]["name"] == "del" and body["details"]["kind"] == "configmaps"


def test_delete_answers_the_object_for_pods(http, ns):
    http.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest("del")).raise_for_status()
    body = http.delete(f"/api/v1/namespaces/{ns}/pods/del").json()
    assert (body["kind"], body["metadata"]["name"]) == ("Pod", "del")
    expect_http(http.get(f"/api/v1/namespaces/{ns}/pods/del"), 404, "NotFound")
