"""OpenAPI documents: the shapes kubectl's field-validation check, client-side apply and explain read."""
from __future__ import annotations

import copy

import pytest

from shim.machinery import openapi, schemas

POD_ENTRY = {"group": "", "version": "v1", "kind": "Pod", "plural": "pods", "namespaced": True, "schema": None,
             "subresources": [{"name": "status", "verbs": ["get", "patch", "update"], "group": "", "version": "v1",
                               "kind": "Pod"}]}
NAMESPACE_ENTRY = {"group": "", "version": "v1", "kind": "Namespace", "plural": "namespaces", "namespaced": False,
                   "schema": None}
DEPLOYMENT_ENTRY = {"group": "apps", "version": "v1", "kind": "Deployment", "plural": "deployments",
                    "namespaced": True, "schema": None, "subresources": [
                        {"name": "status", "verbs": ["get", "patch", "update"], "group": "apps", "version": "v1",
                         "kind": "Deployment"},
                        {"name": "scale", "verbs": ["get", "patch", "update"], "group": "autoscaling", "version": "v1",
                         "kind": "Scale"}]}
CRONTAB_SCHEMA = {"type": "object", "properties": {
    "spec": {"type": "object", "properties": {"cronSpec": {"type": "string"}, "replicas": {"type": "integer"}}},
    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
CRONTAB_ENTRY = {"group": "stable.example.com", "version": "v1", "kind": "CronTab", "plural": "crontabs",
                 "namespaced": True, "schema": CRONTAB_SCHEMA, "subresources": [
                     {"name": "status", "verbs": ["get", "patch", "update"], "group": "stable.example.com",
                      "version": "v1", "kind": "CronTab"}]}
POD_GVK = {"group": "", "kind": "Pod", "version": "v1"}


@pytest.fixture(scope="module")
def core() -> dict:
    return openapi.v3_document("v1", [POD_ENTRY, NAMESPACE_ENTRY])


@pytest.fixture(scope="module")
def crd() -> dict:
    return openapi.v3_document("stable.example.com/v1", [CRONTAB_ENTRY])


def walk(node):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def refs(node) -> set[str]:
    return {n["$ref"] for n in walk(node) if isinstance(n, dict) and isinstance(n.get("$ref"), str)}


def patch_operations(document: dict, gvk: dict) -> list[tuple[str, dict]]:
    return [(path, item["patch"]) for path, item in document["paths"].items()
            if "patch" in item and item["patch"].get("x-kubernetes-group-version-kind") == gvk]


def test_document_header(core):
    assert core["openapi"] == "3.0.0"
    assert core["info"]["title"] and core["info"]["version"]


def test_pod_paths_and_operations(core):
    collection = core["paths"]["/api/v1/namespaces/{namespace}/pods"]
    item = core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]
    assert {"get", "post", "delete"} <= set(collection)
    assert {"get", "put", "patch", "delete"} <= set(item)
    assert "/api/v1/pods" in core["paths"]  # list across namespaces
    assert "/api/v1/namespaces/{name}" in core["paths"]  # cluster-scoped kind
    for operation in (collection["get"], collection["post"], item["get"], item["put"], item["patch"]):
        assert operation["x-kubernetes-group-version-kind"] == POD_GVK


def test_pod_patch_operation_supports_field_validation(core):
    # cli-runtime query_param_verifier_v3: the PATCH operation with the Pod GVK must list fieldValidation;
    # every such operation does, since the verifier stops at whichever it meets first.
    operations = patch_operations(core, POD_GVK)
    assert {path for path, _ in operations} == {"/api/v1/namespaces/{namespace}/pods/{name}",
                                                "/api/v1/namespaces/{namespace}/pods/{name}/status"}
    for _, operation in operations:
        names = [p["name"] for p in operation["parameters"]]
        assert "fieldValidation" in names
        assert all(p["in"] == "query" for p in operation["parameters"])
        # kubectl patcher.go: strategic merge patch is computed from v3 only when the PATCH body offers it
        assert "application/strategic-merge-patch+json" in operation["requestBody"]["content"]


def test_container_schema_has_patch_metadata(core):
    container = core["components"]["schemas"]["io.k8s.api.core.v1.Container"]
    env = container["properties"]["env"]
    assert env["x-kubernetes-patch-merge-key"] == "name"
    assert env["x-kubernetes-patch-strategy"] == "merge"
    ports = container["properties"]["ports"]
    assert ports["x-kubernetes-patch-merge-key"] == "containerPort"
    assert ports["x-kubernetes-list-map-keys"] == ["containerPort", "protocol"]
    assert ports["items"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.ContainerPort"}
    volumes = core["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"]["volumes"]
    assert volumes["x-kubernetes-patch-strategy"] == "merge,retainKeys"


def test_refs_resolve_inside_document(core, crd):
    for document in (core, crd):
        names = set(document["components"]["schemas"])
        for ref in refs(document):
            assert ref.startswith(openapi.V3_REF_PREFIX), ref
            assert ref[len(openapi.V3_REF_PREFIX):] in names, ref


def test_schemas_are_openapi_shaped(core):
    for node in walk(core["components"]["schemas"]):
        if isinstance(node, dict):
            assert not isinstance(node.get("type"), list), node  # explain compares type with strings
            if "$ref" in node:
                assert set(node) == {"$ref"}, node  # siblings go through allOf, as upstream writes them
    pod = core["components"]["schemas"]["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [POD_GVK]
    assert "enum" not in pod["properties"]["apiVersion"]
    assert pod["properties"]["spec"] == {
        "allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}],
        "description": pod["properties"]["spec"]["description"]}
    int_or_string = core["components"]["schemas"].get("io.k8s.apimachinery.pkg.util.intstr.IntOrString")
    assert int_or_string["type"] == "string" and int_or_string["format"] == "int-or-string"


def test_explain_lookup(core):
    # kubectl explain v2: GVK from an operation on the resource path, then the schema whose GVK list has it
    gvk = core["paths"]["/api/v1/namespaces/{namespace}/pods"]["get"]["x-kubernetes-group-version-kind"]
    matches = [name for name, schema in core["components"]["schemas"].items()
               if gvk in schema.get("x-kubernetes-group-version-kind", [])]
    assert matches == ["io.k8s.api.core.v1.Pod"]


def test_scale_subresource_uses_scale_gvk():
    document = openapi.v3_document("apps/v1", [DEPLOYMENT_ENTRY])
    scale = document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["patch"]
    assert scale["x-kubernetes-group-version-kind"] == {"group": "autoscaling", "kind": "Scale", "version": "v1"}
    assert "io.k8s.api.autoscaling.v1.Scale" in document["components"]["schemas"]
    strategy = document["components"]["schemas"]["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]
    assert strategy["x-kubernetes-patch-strategy"] == "retainKeys"


def test_crd_document(crd):
    name = "com.example.stable.v1.CronTab"
    schema = crd["components"]["schemas"][name]
    gvk = {"group": "stable.example.com", "kind": "CronTab", "version": "v1"}
    assert schema["x-kubernetes-group-version-kind"] == [gvk]
    assert schema["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]
    assert schema["properties"]["spec"] == CRONTAB_SCHEMA["properties"]["spec"]
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in crd["components"]["schemas"]
    assert crd["components"]["schemas"][f"{name}List"]["x-kubernetes-group-version-kind"] == [
        {**gvk, "kind": "CronTabList"}]
    operations = patch_operations(crd, gvk)
    assert operations
    for _, operation in operations:
        assert "fieldValidation" in [p["name"] for p in operation["parameters"]]
        # CRDs take no strategic merge patch: kubectl must fall back to a JSON merge patch
        assert "application/strategic-merge-patch+json" not in operation["requestBody"]["content"]
        assert "application/merge-patch+json" in operation["requestBody"]["content"]
    assert CRONTAB_SCHEMA["properties"].keys() == {"spec", "status"}  # input untouched


def test_index_and_hashes(core):
    digest = openapi.document_hash(core)
    assert len(digest) == 128 and digest == digest.upper()
    index = openapi.v3_index(["v1", "apps/v1"], {"v1": digest})
    assert set(index["paths"]) == {"api/v1", "apis/apps/v1"}
    assert index["paths"]["api/v1"] == {"serverRelativeURL": f"/openapi/v3/api/v1?hash={digest}"}
    assert index["paths"]["apis/apps/v1"]["serverRelativeURL"].startswith("/openapi/v3/apis/apps/v1?hash=")
    changed = copy.deepcopy(CRONTAB_ENTRY)
    changed["schema"]["properties"]["spec"]["properties"]["extra"] = {"type": "string"}
    assert openapi.document_hash(openapi.v3_document("stable.example.com/v1", [changed])) != \
        openapi.document_hash(openapi.v3_document("stable.example.com/v1", [CRONTAB_ENTRY]))
    assert openapi.gv_path("v1") == "api/v1"
    assert openapi.gv_path("stable.example.com/v1") == "apis/stable.example.com/v1"


def test_documents_are_cached(core):
    assert openapi.v3_document("v1", [POD_ENTRY, NAMESPACE_ENTRY]) is core


def test_builtin_schema_lookup():
    assert schemas.definition_name_for("v1", "Pod") == "io.k8s.api.core.v1.Pod"
    assert schemas.definition_name_for("apps/v1", "Deployment") == "io.k8s.api.apps.v1.Deployment"
    assert schemas.definition_for("stable.example.com/v1", "CronTab") is None
    spec = schemas.resolve(schemas.definition_for("v1", "Pod")["properties"]["spec"])
    assert spec is schemas.definition("io.k8s.api.core.v1.PodSpec")
    assert schemas.resolve({"allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}]}) is spec
    assert schemas.schema_version() == schemas.KUBERNETES_VERSION


# ---------------------------------------------------------------------------------------------- v2

def decode(data: bytes) -> list[tuple[int, object]]:
    """A minimal protobuf wire decoder: (field number, value) pairs; length-delimited values stay bytes."""
    fields, i = [], 0

    def varint() -> int:
        nonlocal i
        shift = result = 0
        while True:
            byte = data[i]
            i += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return result

    while i < len(data):
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            fields.append((field, varint()))
        elif wire == 2:
            length = varint()
            fields.append((field, data[i:i + length]))
            i += length
        elif wire == 1:
            fields.append((field, data[i:i + 8]))
            i += 8
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return fields


def first(fields, number):
    return next(value for field, value in fields if field == number)


@pytest.fixture(scope="module")
def v2() -> dict:
    return openapi.v2_document({"v1": [POD_ENTRY, NAMESPACE_ENTRY], "stable.example.com/v1": [CRONTAB_ENTRY]})


def test_v2_document_refs_and_field_validation(v2):
    assert v2["swagger"] == "2.0"
    names = set(v2["definitions"])
    for ref in refs(v2):
        assert ref.startswith(openapi.V2_REF_PREFIX) and ref[len(openapi.V2_REF_PREFIX):] in names, ref
    for node in walk(v2["definitions"]):
        if isinstance(node, dict) and node.get("type") == "array":
            assert isinstance(node.get("items"), dict)  # kube-openapi's v2 parser needs exactly one
    patch = v2["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == POD_GVK
    assert {"name": "fieldValidation", "in": "query"}.items() <= next(
        p for p in patch["parameters"] if p["name"] == "fieldValidation").items()
    assert "application/strategic-merge-patch+json" in patch["consumes"]
    assert v2["definitions"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]["items"] == {
        "$ref": "#/definitions/io.k8s.api.core.v1.Container"}
    assert "com.example.stable.v1.CronTab" in v2["definitions"]


def test_v2_protobuf_encoding(v2):
    document = decode(openapi.v2_protobuf(v2))
    assert first(document, 1) == b"2.0"
    definitions = {first(decode(entry), 1).decode(): first(decode(entry), 2)
                   for field, entry in decode(first(document, 9)) if field == 1}
    assert set(definitions) == set(v2["definitions"])
    pod = decode(definitions["io.k8s.api.core.v1.Pod"])
    extensions = {first(decode(e), 1).decode(): first(decode(first(decode(e), 2)), 2).decode()
                  for f, e in pod if f == 31}
    assert extensions["x-kubernetes-group-version-kind"] == '[{"group": "", "kind": "Pod", "version": "v1"}]'
    assert first(decode(first(pod, 22)), 1) == b"object"  # TypeItem
    paths = {first(decode(p), 1).decode(): decode(first(decode(p), 2))
             for f, p in decode(first(document, 8)) if f == 2}
    patch = decode(first(paths["/api/v1/namespaces/{namespace}/pods/{name}"], 8))
    query_names = set()
    for field, item in patch:
        if field == 8:  # ParametersItem -> Parameter -> NonBodyParameter -> QueryParameterSubSchema
            parameter = decode(first(decode(item), 1))
            non_body = [v for f, v in parameter if f == 2]
            if non_body:
                query = [v for f, v in decode(non_body[0]) if f == 3]
                if query:
                    query_names.add(first(decode(query[0]), 4).decode())
    assert "fieldValidation" in query_names
    assert openapi.v2_protobuf(v2) is openapi.v2_protobuf(v2)  # cached


def test_v2_publishes_a_crd_that_keeps_unknown_fields_at_its_root_as_a_bare_object() -> None:
    entry = {**CRONTAB_ENTRY, "schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    v2 = openapi.v2_document({"stable.example.com/v1": [entry]})
    assert v2["definitions"]["com.example.stable.v1.CronTab"] == {
        "type": "object", "x-kubernetes-group-version-kind": [
            {"group": "stable.example.com", "kind": "CronTab", "version": "v1"}]}


def test_v2_drops_properties_and_object_type_where_a_crd_keeps_unknown_fields(v2) -> None:
    status = v2["definitions"]["com.example.stable.v1.CronTab"]["properties"]["status"]
    assert status == {"x-kubernetes-preserve-unknown-fields": True}


def test_v2_drops_the_type_of_a_nullable_crd_field() -> None:
    schema = {"type": "object", "required": ["spec"], "properties": {
        "spec": {"type": "object", "nullable": True, "properties": {"a": {"type": "string"}}}}}
    v2 = openapi.v2_document({"stable.example.com/v1": [{**CRONTAB_ENTRY, "schema": schema}]})
    definition = v2["definitions"]["com.example.stable.v1.CronTab"]
    assert definition["properties"]["spec"] == {} and "required" not in definition
