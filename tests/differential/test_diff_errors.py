"""Errors of every kind over raw HTTP, compared whole: code, reason, message, details and causes.

Each case sets up what it needs without recording it, then records the one failing request as step `error`.
"""
from __future__ import annotations

import json
from typing import Callable

import pytest

from differ import Pair, Side, without_managed_fields

pytestmark = pytest.mark.differential

CASES: dict[str, Callable[[Side], None]] = {}


def case(fn: Callable[[Side], None]) -> Callable[[Side], None]:
    CASES[fn.__name__.replace("_", "-")] = fn
    return fn


def cms(s: Side) -> str:
    return f"/api/v1/namespaces/{s.ns}/configmaps"


def cm(name: str = "a", **extra: object) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}, **extra}


def made(s: Side, name: str = "a", **extra: object) -> dict:
    return s.json("POST", cms(s), cm(name, **extra))


@case
def not_found(s: Side) -> None:
    s.request("error", "GET", f"{cms(s)}/nothing")


@case
def already_exists(s: Side) -> None:
    made(s)
    s.request("error", "POST", cms(s), body=cm())


@case
def conflict_on_stale_update(s: Side) -> None:
    old = made(s)
    s.json("PUT", f"{cms(s)}/a", {**old, "data": {"k": "newer"}})
    s.request("error", "PUT", f"{cms(s)}/a", body={**old, "data": {"k": "stale"}})


@case
def invalid_name(s: Side) -> None:
    s.request("error", "POST", cms(s), body=cm("Bad_Name"))


@case
def invalid_pod_with_many_causes(s: Side) -> None:
    s.request("error", "POST", f"/api/v1/namespaces/{s.ns}/pods", body={
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "Bad Name"}, {"name": "ok", "image": "x", "ports": [{"containerPort": 0}]}]}})


@case
def pod_without_containers(s: Side) -> None:
    s.request("error", "POST", f"/api/v1/namespaces/{s.ns}/pods",
              body={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}})


@case
def malformed_json(s: Side) -> None:
    s.request("error", "POST", cms(s), content=b'{"apiVersion": "v1", "kind": "ConfigMap", nope',
              content_type="application/json")


@case
def wrong_kind_in_body(s: Side) -> None:
    s.request("error", "POST", cms(s), body={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a"}})


@case
def namespace_mismatch(s: Side) -> None:
    s.request("error", "POST", cms(s), body=cm(metadata={"name": "a", "namespace": "elsewhere"}))


@case
def wrong_type_of_field(s: Side) -> None:
    s.request("error", "POST", cms(s), body=cm(data={"k": 5}))


@case
def unsupported_media_type(s: Side) -> None:
    s.request("error", "POST", cms(s), content=json.dumps(cm()).encode(), content_type="text/plain")


@case
def unsupported_patch_type(s: Side) -> None:
    made(s)
    s.request("error", "PATCH", f"{cms(s)}/a", content=b"{}", content_type="application/json")


@case
def strategic_merge_patch_on_custom_resource(s: Side) -> None:
    path = f"/apis/flyte.lyft.com/v1alpha1/namespaces/{s.ns}/flyteworkflows"
    s.json("POST", path, {"apiVersion": "flyte.lyft.com/v1alpha1", "kind": "FlyteWorkflow",
                          "metadata": {"name": "wf"}, "spec": {"id": "x"}})
    s.request("error", "PATCH", f"{path}/wf", body={"spec": {"id": "y"}},
              content_type="application/strategic-merge-patch+json")


@case
def not_acceptable(s: Side) -> None:
    made(s)
    s.request("error", "GET", f"{cms(s)}/a", accept="text/html")


@case
def method_not_allowed_on_collection(s: Side) -> None:
    s.request("error", "PUT", cms(s), body=cm())


@case
def method_not_allowed_on_subresource(s: Side) -> None:
    s.json("POST", f"/api/v1/namespaces/{s.ns}/serviceaccounts",
           {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}})
    s.request("error", "GET", f"/api/v1/namespaces/{s.ns}/serviceaccounts/robot/token")


@case
def unknown_resource(s: Side) -> None:
    s.request("error", "GET", f"/api/v1/namespaces/{s.ns}/gizmos")


@case
def unknown_group(s: Side) -> None:
    s.request("error", "GET", "/apis/nothing.example.com/v1/things")


@case
def unknown_subresource(s: Side) -> None:
    made(s)
    s.request("error", "GET", f"{cms(s)}/a/status")


@case
def unauthorized(s: Side) -> None:
    s.request("error", "GET", cms(s), token="not-a-token")


@case
def anonymous(s: Side) -> None:
    s.request("error", "GET", cms(s), token="")


@case
def forbidden(s: Side) -> None:
    s.json("POST", f"/api/v1/namespaces/{s.ns}/serviceaccounts",
           {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "nobody"}})
    issued = s.json("POST", f"/api/v1/namespaces/{s.ns}/serviceaccounts/nobody/token",
                    {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
    s.request("error", "GET", cms(s), token=issued["status"]["token"])


@case
def forbidden_cluster_scope(s: Side) -> None:
    s.json("POST", f"/api/v1/namespaces/{s.ns}/serviceaccounts",
           {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "nobody"}})
    issued = s.json("POST", f"/api/v1/namespaces/{s.ns}/serviceaccounts/nobody/token",
                    {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
    s.request("error", "DELETE", "/api/v1/namespaces/default", token=issued["status"]["token"])


@case
def create_in_terminating_namespace(s: Side) -> None:
    other = f"{s.ns}-t"
    s.json("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other}})
    s.json("POST", f"/api/v1/namespaces/{other}/configmaps", cm(metadata={"name": "held", "finalizers": ["x/y"]}))
    s.json("DELETE", f"/api/v1/namespaces/{other}")
    s.request("error", "POST", f"/api/v1/namespaces/{other}/configmaps", body=cm())
    s.json("PATCH", f"/api/v1/namespaces/{other}/configmaps/held", {"metadata": {"finalizers": None}},
           content_type="application/merge-patch+json")


@case
def create_in_missing_namespace(s: Side) -> None:
    s.request("error", "POST", f"/api/v1/namespaces/{s.ns}-missing/configmaps", body=cm())


@case
def json_patch_test_fails(s: Side) -> None:
    """issue 10: the message of a failed `test` operation (kubeshim's leaked Python types)."""
    made(s)
    s.request("error", "PATCH", f"{cms(s)}/a", body=[{"op": "test", "path": "/data/k", "value": "other"}],
              content_type="application/json-patch+json")


@case
def json_patch_missing_path(s: Side) -> None:
    made(s)
    s.request("error", "PATCH", f"{cms(s)}/a", body=[{"op": "remove", "path": "/data/nothing"}],
              content_type="application/json-patch+json")


@case
def json_patch_not_a_list(s: Side) -> None:
    made(s)
    s.request("error", "PATCH", f"{cms(s)}/a", body={"op": "remove", "path": "/data/k"},
              content_type="application/json-patch+json")


@case
def json_patch_bad_op(s: Side) -> None:
    made(s)
    s.request("error", "PATCH", f"{cms(s)}/a", body=[{"op": "frobnicate", "path": "/data/k"}],
              content_type="application/json-patch+json")


@case
def merge_patch_malformed(s: Side) -> None:
    made(s)
    s.request("error", "PATCH", f"{cms(s)}/a", content=b"{nope", content_type="application/merge-patch+json")


@case
def merge_patch_missing_object(s: Side) -> None:
    s.request("error", "PATCH", f"{cms(s)}/nothing", body={"data": {"k": "v"}},
              content_type="application/merge-patch+json")


@case
def apply_without_field_manager(s: Side) -> None:
    s.request("error", "PATCH", f"{cms(s)}/a", content=json.dumps(cm()).encode(),
              content_type="application/apply-patch+yaml")


@case
def apply_malformed_yaml(s: Side) -> None:
    s.request("error", "PATCH", f"{cms(s)}/a", content=b"apiVersion: v1\nkind: [ConfigMap\n",
              content_type="application/apply-patch+yaml", params={"fieldManager": "m"})


@case
def apply_name_mismatch(s: Side) -> None:
    s.request("error", "PATCH", f"{cms(s)}/a", content=json.dumps(cm("b")).encode(),
              content_type="application/apply-patch+yaml", params={"fieldManager": "m"})


REPEATED_KEYS = b"""apiVersion: v1
kind: ConfigMap
metadata:
  name: a
data:
  k: "1"
  k: "2"
  nested: |
    x
  nested: z
"""


@case
def apply_strict_repeated_key(s: Side) -> None:
    """Refused once the apply succeeds, naming each repeated key's line; nothing is created."""
    s.request("error", "PATCH", f"{cms(s)}/a", content=REPEATED_KEYS, content_type="application/apply-patch+yaml",
              params={"fieldManager": "m", "fieldValidation": "Strict"})
    s.request("after", "GET", f"{cms(s)}/a")


@case
def apply_warn_repeated_key(s: Side) -> None:
    """Not an error: applied (the last value wins) with a Warning per repeated key."""
    s.request("applied", "PATCH", f"{cms(s)}/a", content=REPEATED_KEYS, content_type="application/apply-patch+yaml",
              params={"fieldManager": "m", "fieldValidation": "Warn"}, view=without_managed_fields)


@case
def update_name_mismatch(s: Side) -> None:
    made(s)
    s.request("error", "PUT", f"{cms(s)}/a", body=cm("b"))


@case
def update_missing_object(s: Side) -> None:
    s.request("error", "PUT", f"{cms(s)}/nothing", body=cm("nothing"))


@case
def delete_precondition_uid(s: Side) -> None:
    made(s)
    s.request("error", "DELETE", f"{cms(s)}/a", body={"apiVersion": "v1", "kind": "DeleteOptions",
                                                      "preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}})


@case
def delete_precondition_resource_version(s: Side) -> None:
    made(s)
    s.request("error", "DELETE", f"{cms(s)}/a", body={"apiVersion": "v1", "kind": "DeleteOptions",
                                                      "preconditions": {"resourceVersion": "1"}})


@case
def delete_bad_propagation_policy(s: Side) -> None:
    made(s)
    s.request("error", "DELETE", f"{cms(s)}/a", body={"propagationPolicy": "Sometimes"})


@case
def invalid_dry_run(s: Side) -> None:
    s.request("error", "POST", cms(s), body=cm(), params={"dryRun": "Maybe"})


@case
def invalid_field_validation(s: Side) -> None:
    s.request("error", "POST", cms(s), body=cm(), params={"fieldValidation": "Sometimes"})


@case
def strict_unknown_field(s: Side) -> None:
    s.request("error", "POST", cms(s), body=cm(spec={"x": 1}), params={"fieldValidation": "Strict"})


@case
def strict_duplicate_field(s: Side) -> None:
    s.request("error", "POST", cms(s), params={"fieldValidation": "Strict"}, content_type="application/json",
              view=without_managed_fields,
              content=b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"1","k":"2"}}')


@case
def warn_unknown_field(s: Side) -> None:
    """Not an error: created, with a Warning header naming the field."""
    s.request("created", "POST", cms(s), body=cm(spec={"x": 1}), params={"fieldValidation": "Warn"},
              view=without_managed_fields)


@case
def immutable_configmap(s: Side) -> None:
    old = made(s, immutable=True)
    s.request("error", "PUT", f"{cms(s)}/a", body={**old, "data": {"k": "changed"}})


@case
def generate_name_invalid(s: Side) -> None:
    s.request("error", "POST", cms(s), body=cm(metadata={"generateName": "Bad_"}))


@case
def missing_name(s: Side) -> None:
    s.request("error", "POST", cms(s), body=cm(metadata={}))


@case
def name_too_long(s: Side) -> None:
    s.request("error", "POST", cms(s), body=cm("x" * 254))


@case
def label_value_invalid(s: Side) -> None:
    s.request("error", "POST", cms(s), body=cm(metadata={"name": "a", "labels": {"k": "bad value!"}}))


@case
def body_too_large(s: Side) -> None:
    s.request("error", "POST", cms(s), body=cm(data={"k": "x" * (3 * 1024 * 1024 + 1)}))


@pytest.mark.parametrize("name", list(CASES))
def test_error(pair: Pair, name: str) -> None:
    pair.run(CASES[name])


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("encoding", ["json", "yaml", "apply"])
def test_deeply_nested_body(pair: Pair, encoding: str) -> None:
    """A 5,000-level nested value is refused with a Status, never a 500 (issue 10: RecursionError)."""
    value = nested(5000)
    text = f'{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"a"}},"data":{{"k":{value}}}}}'
    content_type = {"json": "application/json", "yaml": "application/yaml",
                    "apply": "application/apply-patch+yaml"}[encoding]

    def scenario(s: Side) -> None:
        if encoding == "apply":
            s.request("error", "PATCH", f"{cms(s)}/a", content=text.encode(), content_type=content_type,
                      params={"fieldManager": "m"})
        else:
            s.request("error", "POST", cms(s), content=text.encode(), content_type=content_type)
    pair.run(scenario)


def test_deeply_nested_custom_resource(pair: Pair) -> None:
    """Where unknown fields are preserved the nesting reaches storage; upstream bounds it, kubeshim must too."""
    def scenario(s: Side) -> None:
        body = ('{"apiVersion":"flyte.lyft.com/v1alpha1","kind":"FlyteWorkflow","metadata":{"name":"wf"},'
                f'"spec":{{"deep":{nested(5000)}}}}}')
        s.request("error", "POST", f"/apis/flyte.lyft.com/v1alpha1/namespaces/{s.ns}/flyteworkflows",
                  content=body.encode(), content_type="application/json")
    pair.run(scenario)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_write_verbs_on_watch_path(pair: Pair, method: str) -> None:
    """/api/v1/watch/... serves GET only: other verbs are 405, not an endless watch (issue 10)."""
    def scenario(s: Side) -> None:
        s.request("error", method, f"/api/v1/watch/namespaces/{s.ns}/pods", body={}, timeout=3)
    pair.run(scenario)
