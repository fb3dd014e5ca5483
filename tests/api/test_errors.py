"""Failures: upstream's Status code, reason and message shape, never a 500, and a failed request changes nothing."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from apihelpers import cm_manifest, expect_http, expect_status, http_client, pod_manifest

MIB = 1024 * 1024
CM = "/api/v1/namespaces/{ns}/configmaps"
EXISTING = "/api/v1/namespaces/{ns}/configmaps/existing"
JSON_HEADERS = {"Content-Type": "application/json"}
MERGE = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
UNACCEPTABLE = {"Accept": "application/json;as=Table;v=v9;g=meta.k8s.io"}


@dataclass
class Bad:
    """One bad request: what to send and the Status it must get."""

    method: str
    path: str
    code: int
    reason: str
    body: Any = None  # dict/list -> JSON, bytes -> raw
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


def _big_cm() -> bytes:
    return json.dumps(cm_manifest("big", data={"k": "x" * (3 * MIB)})).encode()


CASES: dict[str, Bad] = {
    "malformed-json-create": Bad("POST", CM, 400, "BadRequest", b'{"apiVersion": "v1", "kind": "ConfigMap", "meta',
                                 JSON_HEADERS),
    "malformed-json-update": Bad("PUT", EXISTING, 400, "BadRequest", b"{not json", JSON_HEADERS),
    "malformed-merge-patch": Bad("PATCH", EXISTING, 400, "BadRequest", b'{"data": ', MERGE),
    "malformed-yaml": Bad("POST", CM, 400, "BadRequest", b"a: [b\nc: }", {"Content-Type": "application/yaml"}),
    "garbage-protobuf": Bad("POST", CM, 400, "BadRequest", b"k8s\x00\xff\xff\xff",
                            {"Content-Type": "application/vnd.kubernetes.protobuf"}),
    "empty-body": Bad("POST", CM, 400, "BadRequest", b"", JSON_HEADERS),
    "array-body": Bad("POST", CM, 400, "BadRequest", [cm_manifest("x")]),
    "metadata-not-an-object": Bad("POST", CM, 400, "BadRequest",
                                  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": "x"}),
    "kind-does-not-match-path": Bad("POST", CM, 400, "BadRequest",
                                    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}),
    "api-version-does-not-match-path": Bad("POST", CM, 400, "BadRequest",
                                           {"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
    "kind-mismatch-on-update": Bad("PUT", EXISTING, 400, "BadRequest",
                                   {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "existing"}}),
    "name-differs-from-url": Bad("PUT", EXISTING, 400, "BadRequest", cm_manifest("other")),
    "namespace-differs-from-url": Bad("POST", CM, 400, "BadRequest",
                                      {**cm_manifest("x"), "metadata": {"name": "x", "namespace": "elsewhere"}}),
    "wrong-field-type": Bad("POST", CM, 400, "BadRequest",
                            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": ["a"]}),
    "wrong-nested-field-type": Bad("POST", "/api/v1/namespaces/{ns}/pods", 400, "BadRequest",
                                   pod_manifest("x", containers=[{"name": "c", "image": "i", "command": "echo hi"}])),
    "wrong-field-type-in-patch": Bad("PATCH", EXISTING, 400, "BadRequest", {"data": {"k": 5}}, MERGE),
    "invalid-name": Bad("POST", CM, 422, "Invalid", cm_manifest("Bad_Name")),
    "too-long-name": Bad("POST", CM, 422, "Invalid", cm_manifest("a" * 254)),
    "missing-name": Bad("POST", CM, 422, "Invalid", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
    "invalid-label-value": Bad("POST", CM, 422, "Invalid", cm_manifest("x", labels={"a": "-bad-"})),
    "invalid-data-key": Bad("POST", CM, 422, "Invalid", cm_manifest("x", data={"bad key!": "v"})),
    "invalid-update": Bad("PUT", EXISTING, 422, "Invalid", cm_manifest("existing", labels={"a": "x" * 64})),
    "failed-json-patch-test": Bad("PATCH", EXISTING, 422, "Invalid",
                                  [{"op": "test", "path": "/data/k", "value": "nope"},
                                   {"op": "replace", "path": "/data/k", "value": "changed"}], JSON_PATCH),
    "malformed-json-patch": Bad("PATCH", EXISTING, 400, "BadRequest", b'[{"op": "jump"', JSON_PATCH),
    "unknown-resource-list": Bad("GET", "/api/v1/namespaces/{ns}/widgets", 404, "NotFound"),
    "unknown-resource-create": Bad("POST", "/api/v1/namespaces/{ns}/widgets", 404, "NotFound", cm_manifest("x")),
    "unknown-subresource": Bad("PUT", EXISTING + "/status", 404, "NotFound", cm_manifest("existing")),
    "body-over-size-limit": Bad("POST", CM, 413, "RequestEntityTooLarge", _big_cm(), JSON_HEADERS),
    "patch-over-size-limit": Bad("PATCH", EXISTING, 413, "RequestEntityTooLarge",
                                 json.dumps({"data": {"k": "x" * (3 * MIB)}}).encode(), MERGE),
    "bad-resource-version-list": Bad("GET", CM, 400, "BadRequest", params={"resourceVersion": "abc"}),
    "bad-resource-version-watch": Bad("GET", CM, 400, "BadRequest", params={"watch": "1", "resourceVersion": "x1"}),
    "bad-resource-version-in-update": Bad("PUT", EXISTING, 400, "BadRequest",
                                          {**cm_manifest("existing"),
                                           "metadata": {"name": "existing", "resourceVersion": "abc"}}),
    "bad-label-selector": Bad("GET", CM, 400, "BadRequest", params={"labelSelector": "a in (b"}),
    "bad-label-selector-watch": Bad("GET", CM, 400, "BadRequest", params={"watch": "1", "labelSelector": "!!a"}),
    "bad-label-selector-delete-collection": Bad("DELETE", CM, 400, "BadRequest", params={"labelSelector": "=x"}),
    "unsupported-field-selector": Bad("GET", CM, 400, "BadRequest", params={"fieldSelector": "spec.nodeName=x"}),
    "unsupported-field-selector-watch": Bad("GET", CM, 400, "BadRequest",
                                            params={"watch": "1", "fieldSelector": "status.phase=Running"}),
    "malformed-field-selector": Bad("GET", CM, 400, "BadRequest", params={"fieldSelector": "metadata.name"}),
    "unsupported-field-selector-delete-collection": Bad("DELETE", CM, 400, "BadRequest",
                                                        params={"fieldSelector": "data.k=v"}),
    "non-json-content-type": Bad("POST", CM, 415, "UnsupportedMediaType", b"name: x",
                                 {"Content-Type": "text/plain"}),
    "non-json-content-type-update": Bad("PUT", EXISTING, 415, "UnsupportedMediaType", b"<cm/>",
                                        {"Content-Type": "application/xml"}),
    "unknown-patch-type": Bad("PATCH", EXISTING, 415, "UnsupportedMediaType", b"{}",
                              {"Content-Type": "application/json"}),
    "bad-dry-run": Bad("POST", CM, 422, "Invalid", cm_manifest("x"), params={"dryRun": "Some"}),
    "bad-field-validation": Bad("PUT", EXISTING, 422, "Invalid", cm_manifest("existing"),
                                params={"fieldValidation": "Sometimes"}),
    "bad-delete-dry-run": Bad("DELETE", EXISTING, 422, "Invalid", params={"dryRun": "Some"}),
    "bad-propagation-policy": Bad("DELETE", EXISTING, 422, "Invalid", params={"propagationPolicy": "Sideways"}),
    "stale-delete-precondition": Bad("DELETE", EXISTING, 409, "Conflict",
                                     {"kind": "DeleteOptions", "apiVersion": "v1",
                                      "preconditions": {"resourceVersion": "1"}}),
    "put-on-collection": Bad("PUT", CM, 405, "MethodNotAllowed", cm_manifest("x")),
    "bad-timeout-seconds": Bad("GET", CM, 400, "BadRequest", params={"watch": "1", "timeoutSeconds": "soon"}),
    # the answer's form is chosen before the verb runs, as upstream negotiates it first
    "unacceptable-answer-to-create": Bad("POST", CM, 406, "NotAcceptable", cm_manifest("x"), UNACCEPTABLE),
    "unacceptable-answer-to-update": Bad("PUT", EXISTING, 406, "NotAcceptable",
                                         cm_manifest("existing", data={"k": "changed"}), UNACCEPTABLE),
    "unacceptable-answer-to-patch": Bad("PATCH", EXISTING, 406, "NotAcceptable", {"data": {"k": "changed"}},
                                        {**MERGE, **UNACCEPTABLE}),
    "unacceptable-answer-to-delete": Bad("DELETE", EXISTING, 406, "NotAcceptable", headers=UNACCEPTABLE),
    "list-view-of-a-created-object": Bad("POST", CM, 406, "NotAcceptable", cm_manifest("x"), {
        "Accept": "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"}),
    "delete-options-of-the-wrong-type": Bad("DELETE", EXISTING, 400, "BadRequest", {"dryRun": -1.5}),
    "delete-options-of-the-wrong-type-in-an-eviction": Bad(
        "POST", "/api/v1/namespaces/{ns}/pods/p/eviction", 400, "BadRequest",
        {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p"},
         "deleteOptions": {"dryRun": -1.5}}),
    "strategic-patch-item-without-its-merge-key": Bad(
        "PATCH", "/api/v1/namespaces/{ns}/pods/p", 400, "BadRequest",
        {"spec": {"containers": [{"name": "main", "ports": [{}]}]}},
        {"Content-Type": "application/strategic-merge-patch+json"}),
}


def _snapshot(http: httpx.Client, ns: str) -> list[tuple[str, str, str, Any]]:
    """What a bad request could have touched: the namespace's config maps and pods."""
    out = []
    for plural in ("configmaps", "pods"):
        items = http.get(f"/api/v1/namespaces/{ns}/{plural}").json()["items"]
        out += [(plural, i["metadata"]["name"], i["metadata"]["resourceVersion"], i.get("data")) for i in items]
    return out


def _send(http: httpx.Client, bad: Bad, ns: str) -> httpx.Response:
    kw: dict[str, Any] = {"params": bad.params, "headers": bad.headers}
    if isinstance(bad.body, bytes):
        kw["content"] = bad.body
    elif bad.body is not None:
        kw["content"] = json.dumps(bad.body).encode()
        kw["headers"] = {"Content-Type": "application/json", **bad.headers}
    return http.request(bad.method, bad.path.format(ns=ns), **kw)


@pytest.mark.parametrize("case", list(CASES))
def test_rejected_request_answers_status_and_changes_nothing(http, ns, case):
    bad = CASES[case]
    http.post(f"/api/v1/namespaces/{ns}/configmaps", json=cm_manifest("existing")).raise_for_status()
    if "/pods/p" in bad.path:
        http.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest("p", containers=[
            {"name": "main", "image": "busybox:1.36", "ports": [{"containerPort": 80}]}])).raise_for_status()
    before = _snapshot(http, ns)
    status = expect_http(_send(http, bad, ns), bad.code, bad.reason)
    assert status["message"]
    assert _snapshot(http, ns) == before


def test_body_over_size_limit_is_413_when_sent_chunked(http, ns):
    before = _snapshot(http, ns)
    payload = _big_cm()
    chunks = (payload[i:i + 65536] for i in range(0, len(payload), 65536))
    resp = http.post(f"/api/v1/namespaces/{ns}/configmaps", content=chunks, headers=JSON_HEADERS)
    expect_http(resp, 413, "RequestEntityTooLarge")
    assert _snapshot(http, ns) == before


def test_body_just_under_the_limit_is_read(http, ns):
    """2.9 MiB passes the body limit and reaches validation (a ConfigMap holds at most 1 MiB)."""
    big = cm_manifest("big", data={"k": "x" * (3 * MIB - 100 * 1024)})
    expect_http(http.post(f"/api/v1/namespaces/{ns}/configmaps", json=big), 422, "Invalid")
    almost = cm_manifest("almost", data={"k": "x" * (MIB - 200)})
    assert http.post(f"/api/v1/namespaces/{ns}/configmaps", json=almost).status_code == 201


def test_bad_token_is_401_unauthorized(kubeshim, ns):
    with http_client(kubeshim, token="not-a-token") as bad:
        status = expect_http(bad.get(f"/api/v1/namespaces/{ns}/configmaps"), 401, "Unauthorized")
        assert status["message"] == "Unauthorized"
        expect_http(bad.post(f"/api/v1/namespaces/{ns}/configmaps", json=cm_manifest("x")), 401, "Unauthorized")
        expect_http(bad.get("/api/v1"), 401, "Unauthorized")
    with http_client(kubeshim, token="") as anonymous:
        expect_http(anonymous.post(f"/api/v1/namespaces/{ns}/configmaps", json=cm_manifest("x"),
                                   headers={"Authorization": "Basic Zm9vOmJhcg=="}), 401, "Unauthorized")


def test_bad_token_changes_nothing(kubeshim, http, ns):
    before = _snapshot(http, ns)
    with http_client(kubeshim, token="forged") as bad:
        bad.post(f"/api/v1/namespaces/{ns}/configmaps", json=cm_manifest("x"))
        bad.delete(f"/api/v1/namespaces/{ns}")
    assert _snapshot(http, ns) == before
    assert http.get(f"/api/v1/namespaces/{ns}").json()["status"]["phase"] == "Active"


def test_anonymous_request_is_403_forbidden(kubeshim, ns):
    with http_client(kubeshim, token="") as anonymous:
        status = expect_http(anonymous.get(f"/api/v1/namespaces/{ns}/configmaps"), 403, "Forbidden")
        assert 'User "system:anonymous" cannot list resource "configmaps"' in status["message"]


def test_a_namespace_is_forbidden_in_itself(kubeshim, ns):
    """Upstream takes /api/v1/namespaces/NAME as a request in the namespace NAME (RBAC there may allow it)."""
    with http_client(kubeshim, token="") as anonymous:
        status = expect_http(anonymous.delete(f"/api/v1/namespaces/{ns}"), 403, "Forbidden")
    assert status["message"] == (f'namespaces "{ns}" is forbidden: User "system:anonymous" cannot delete resource '
                                 f'"namespaces" in API group "" in the namespace "{ns}"')


def test_the_router_refuses_media_types_no_route_has(http, ns):
    """Built-in kinds are routed by media type before any handler: its words, with empty details."""
    http.post(f"/api/v1/namespaces/{ns}/configmaps", json=cm_manifest("a")).raise_for_status()
    refused = expect_http(http.get(f"/api/v1/namespaces/{ns}/configmaps/a", headers={"Accept": "text/html"}),
                          406, "NotAcceptable")
    assert (refused["message"], refused["details"]) == (
        "406: Not Acceptable\n\nAvailable representations: application/json, application/yaml, "
        "application/vnd.kubernetes.protobuf", {})
    refused = expect_http(http.patch(f"/api/v1/namespaces/{ns}/configmaps/a", content=b"{}",
                                     headers={"Content-Type": "application/json"}), 415, "UnsupportedMediaType")
    assert (refused["message"], refused["details"]) == ("415: Unsupported Media Type", {})


def test_bad_write_options_are_an_invalid_of_the_verbs_options_kind(http, ns):
    """Upstream validates a write's options before its body: every problem, as causes of one Invalid."""
    status = expect_http(http.post(f"/api/v1/namespaces/{ns}/configmaps", json=cm_manifest("x"),
                                   params={"dryRun": "Maybe", "fieldValidation": "Sometimes"}), 422, "Invalid")
    assert status["details"] == {"group": "meta.k8s.io", "kind": "CreateOptions", "causes": [
        {"reason": "FieldValueNotSupported", "message": 'Unsupported value: ["Maybe"]: supported values: "All"',
         "field": "dryRun"},
        {"reason": "FieldValueNotSupported", "field": "fieldValidation",
         "message": 'Unsupported value: "Sometimes": supported values: "", "Ignore", "Strict", "Warn"'}]}
    status = expect_http(http.patch(f"/api/v1/namespaces/{ns}/configmaps/x", content=b"{}", params={"force": "true"},
                                    headers={"Content-Type": "application/merge-patch+json"}), 422, "Invalid")
    assert status["message"] == ('PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified '
                                 'for non-apply patch')


def test_an_unknown_resource_is_the_routers_404(http, ns):
    refused = expect_http(http.get(f"/api/v1/namespaces/{ns}/gizmos"), 404, "NotFound")
    assert (refused["message"], refused["details"]) == ("the server could not find the requested resource", {})


def test_not_found_has_upstream_message_shape(core, ns):
    status = expect_status(lambda: core.read_namespaced_config_map("nope", ns), 404, "NotFound")
    assert status["message"] == 'configmaps "nope" not found'
    assert status["details"] == {"name": "nope", "kind": "configmaps"}


def test_not_found_names_the_group_for_grouped_resources(http, ns):
    status = expect_http(http.get(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/nope"), 404, "NotFound")
    assert status["message"] == 'leases.coordination.k8s.io "nope" not found'
    assert status["details"] == {"name": "nope", "group": "coordination.k8s.io", "kind": "leases"}


def test_missing_namespace_is_404_for_namespace_on_create(core):
    status = expect_status(lambda: core.create_namespaced_config_map("no-such-ns", cm_manifest("x")),
                           404, "NotFound")
    assert status["message"] == 'namespaces "no-such-ns" not found'


def test_already_exists_is_409_with_upstream_message(core, ns):
    core.create_namespaced_config_map(ns, cm_manifest("dup"))
    status = expect_status(lambda: core.create_namespaced_config_map(ns, cm_manifest("dup", data={"k": "other"})),
                           409, "AlreadyExists")
    assert status["message"] == 'configmaps "dup" already exists'
    assert status["details"] == {"name": "dup", "kind": "configmaps"}
    assert core.read_namespaced_config_map("dup", ns).data == {"k": "v"}


def test_stale_update_is_409_conflict_with_upstream_message(core, ns):
    first = core.create_namespaced_config_map(ns, cm_manifest("c"))
    current = core.patch_namespaced_config_map("c", ns, {"data": {"k": "newer"}})
    first.data = {"k": "stale"}
    status = expect_status(lambda: core.replace_namespaced_config_map("c", ns, first), 409, "Conflict")
    assert status["message"] == ('Operation cannot be fulfilled on configmaps "c": the object has been modified; '
                                 'please apply your changes to the latest version and try again')
    assert status["details"] == {"name": "c", "kind": "configmaps"}
    after = core.read_namespaced_config_map("c", ns)
    assert (after.data, after.metadata.resource_version) == ({"k": "newer"}, current.metadata.resource_version)


def test_stale_patch_with_resource_version_is_409_conflict(core, ns):
    first = core.create_namespaced_config_map(ns, cm_manifest("c"))
    core.patch_namespaced_config_map("c", ns, {"data": {"k": "newer"}})
    expect_status(lambda: core.patch_namespaced_config_map(
        "c", ns, {"metadata": {"resourceVersion": first.metadata.resource_version}, "data": {"k": "stale"}}),
        409, "Conflict")
    assert core.read_namespaced_config_map("c", ns).data == {"k": "newer"}


def test_update_of_missing_object_is_404(core, ns):
    expect_status(lambda: core.replace_namespaced_config_map("ghost", ns, cm_manifest("ghost")), 404, "NotFound")
    expect_status(lambda: core.patch_namespaced_config_map("ghost", ns, {"data": {"a": "b"}}), 404, "NotFound")
    expect_status(lambda: core.delete_namespaced_config_map("ghost", ns), 404, "NotFound")


def test_invalid_name_lists_causes(core, ns):
    status = expect_status(lambda: core.create_namespaced_config_map(ns, cm_manifest("Bad_Name")), 422, "Invalid")
    assert status["message"].startswith('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"')
    [cause] = status["details"]["causes"]
    assert (cause["reason"], cause["field"]) == ("FieldValueInvalid", "metadata.name")
    assert status["details"]["kind"] == "ConfigMap" and status["details"]["name"] == "Bad_Name"


def test_too_long_namespace_name_is_invalid_and_not_created(core, http):
    name = "n" * 64
    status = expect_status(lambda: core.create_namespace({"metadata": {"name": name}}), 422, "Invalid")
    assert status["details"]["causes"][0]["field"] == "metadata.name"
    expect_http(http.get(f"/api/v1/namespaces/{name}"), 404, "NotFound")


def test_invalid_pod_lists_every_cause(core, ns):
    body = pod_manifest("bad", restartPolicy="Sometimes")
    body["spec"]["containers"] = [{"name": "a"}, {"name": "a", "image": "x"}]
    status = expect_status(lambda: core.create_namespaced_pod(ns, body), 422, "Invalid")
    fields = {c["field"] for c in status["details"]["causes"]}
    assert {"spec.containers[0].image", "spec.containers[1].name", "spec.restartPolicy"} <= fields
    assert core.list_namespaced_pod(ns).items == []


@pytest.mark.parametrize("method,path", [
    ("GET", "/no/such/thing"), ("GET", "/apis/nothing.example.com/v1"), ("GET", "/apis/nothing.example.com"),
    ("GET", "/apis/nothing.example.com/v1/things"), ("POST", "/apis/nothing.example.com/v1/namespaces/x/things"),
])
def test_a_path_no_handler_serves_is_the_muxs_plain_404(http, method, path):
    """Upstream's HTTP mux answers paths outside the API and groups it does not serve: Go's plain-text 404."""
    resp = http.request(method, path, json=cm_manifest("x") if method == "POST" else None)
    assert (resp.status_code, resp.headers["content-type"], resp.text) == (404, "text/plain; charset=utf-8",
                                                                           "404 page not found\n")


def test_an_unknown_version_of_a_served_group_is_the_routers_404(http):
    status = expect_http(http.get("/api/v2"), 404, "NotFound")
    assert status["details"] == {}


def test_an_unknown_path_is_authorized_as_a_non_resource_url(kubeshim):
    with http_client(kubeshim, token="") as anonymous:
        status = expect_http(anonymous.get("/no/such/thing"), 403, "Forbidden")
    assert status["message"] == 'forbidden: User "system:anonymous" cannot get path "/no/such/thing"'


def test_failed_requests_never_answer_500(http, ns):
    """A grab bag of odd requests: each must answer a 4xx Status."""
    odd = [
        ("POST", f"/api/v1/namespaces/{ns}/configmaps", {"content": b"null", "headers": JSON_HEADERS}),
        ("POST", f"/api/v1/namespaces/{ns}/configmaps", {"content": b'"a string"', "headers": JSON_HEADERS}),
        ("POST", f"/api/v1/namespaces/{ns}/configmaps",
         {"json": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": 5}}}),
        ("POST", f"/api/v1/namespaces/{ns}/configmaps",
         {"json": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": ["a"]}}}),
        ("POST", f"/api/v1/namespaces/{ns}/configmaps",
         {"json": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": {"a": 1}}}}),
        ("POST", f"/api/v1/namespaces/{ns}/configmaps",
         {"json": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "finalizers": "f"}}}),
        ("POST", f"/api/v1/namespaces/{ns}/configmaps",
         {"json": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": ["a"]}}),
        ("POST", f"/api/v1/namespaces/{ns}/pods", {"json": {"apiVersion": "v1", "kind": "Pod",
                                                            "metadata": {"name": "x"}, "spec": "nope"}}),
        ("POST", f"/api/v1/namespaces/{ns}/pods", {"json": {"apiVersion": "v1", "kind": "Pod",
                                                            "metadata": {"name": "x"},
                                                            "spec": {"containers": "nope"}}}),
        ("POST", f"/api/v1/namespaces/{ns}/services", {"json": {"apiVersion": "v1", "kind": "Service",
                                                                "metadata": {"name": "x"}, "spec": []}}),
        ("POST", f"/api/v1/namespaces/{ns}/secrets", {"json": {"apiVersion": "v1", "kind": "Secret",
                                                               "metadata": {"name": "x"}, "data": {"a": "!!"}}}),
        ("PATCH", f"/api/v1/namespaces/{ns}/configmaps/x", {"content": b"[]", "headers": JSON_PATCH}),
        ("PATCH", f"/api/v1/namespaces/{ns}", {"content": b'"x"', "headers": MERGE}),
        ("PATCH", f"/api/v1/namespaces/{ns}", {"content": b'[{"op": "add", "path": "/metadata", "value": 1}]',
                                               "headers": JSON_PATCH}),
        ("DELETE", f"/api/v1/namespaces/{ns}/configmaps/x", {"content": b"{bad", "headers": JSON_HEADERS}),
        ("GET", f"/api/v1/namespaces/{ns}/configmaps", {"params": {"limit": "-1"}}),
        ("GET", f"/api/v1/namespaces/{ns}/configmaps", {"params": {"limit": "many"}}),
        ("GET", f"/api/v1/namespaces/{ns}/configmaps", {"params": {"watch": "maybe"}}),
        ("GET", f"/api/v1/namespaces/{ns}/configmaps", {"params": {"resourceVersion": "-5"}}),
        ("GET", f"/api/v1/namespaces/{ns}/configmaps", {"params": {"continue": "eyJ2IjoxfQ"}}),
        ("GET", f"/api/v1/namespaces/{ns}/configmaps", {"params": {"resourceVersionMatch": "Sometime",
                                                                   "resourceVersion": "1"}}),
        ("GET", f"/api/v1/namespaces/{ns}/configmaps", {"headers": {"Accept": "application/xml"}}),
        ("GET", f"/api/v1/namespaces/{ns}/pods/x/log", {}),
        ("POST", f"/api/v1/namespaces/{ns}/pods/x/binding", {"json": {"target": {"name": "n"}}}),
        ("POST", f"/api/v1/namespaces/{ns}/serviceaccounts/x/token", {"json": {}}),
    ]
    wrong = []
    for method, path, kw in odd:
        resp = http.request(method, path, **kw)
        if not 400 <= resp.status_code < 500 or resp.json().get("kind") != "Status":
            wrong.append((method, path, kw, resp.status_code, resp.text[:200]))
    assert wrong == []


def test_a_pod_with_an_unparsable_quantity_is_refused_as_it_decodes(api_client, ns) -> None:
    """Upstream decodes a quantity into its Go type: a malformed one fails the decoding, before validation."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    core = client.CoreV1Api(api_client)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "badqty"},
           "spec": {"containers": [{"name": "c", "image": "x", "resources": {"limits": {"memory": "lots"}}}]}}
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod(ns, pod)
    assert err.value.status == 400
    assert json.loads(err.value.body)["message"] == (
        "Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular expression "
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    assert core.list_namespaced_pod(ns).items == []


def test_a_pod_requesting_more_than_its_limit_is_invalid(api_client, ns) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    core = client.CoreV1Api(api_client)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "overreq"},
           "spec": {"containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": "2"},
                                                                            "limits": {"cpu": "1"}}}]}}
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod(ns, pod)
    assert err.value.status == 422
    assert "must be less than or equal to cpu limit" in err.value.body


def test_a_yaml_integer_past_64_bits_is_read_as_a_float(http, ns):
    """go-yaml reads it as a float64; kept as a Python int it could not be stored (orjson stops at 64 bits)."""
    body = (b"apiVersion: flyte.lyft.com/v1alpha1\nkind: FlyteWorkflow\nmetadata: {name: big}\n"
            b"spec: {n: 100000000000000000000}\n")
    resp = http.post(f"/apis/flyte.lyft.com/v1alpha1/namespaces/{ns}/flyteworkflows", content=body,
                     headers={"Content-Type": "application/yaml"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["spec"]["n"] == 1e20
