"""Deeply nested bodies: upstream decodes JSON and YAML to 10,000 levels, kubeshim takes objects to 200 levels;
past either a request is a 400 Status (never a 500 RecursionError) and nothing stored changes."""
from __future__ import annotations

import json
from typing import Any

import httpx

from apihelpers import expect_http

WORKFLOWS = "/apis/flyte.lyft.com/v1alpha1/namespaces/{ns}/flyteworkflows"
APPLY = {"Content-Type": "application/apply-patch+yaml"}


def nested_lists(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_maps(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


def configmap_text(value: str) -> bytes:
    return f'{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"deep"}},"data":{{"k":{value}}}}}'.encode()


def workflow(name: str, spec: Any) -> dict[str, Any]:
    return {"apiVersion": "flyte.lyft.com/v1alpha1", "kind": "FlyteWorkflow", "metadata": {"name": name},
            "spec": spec}


def configmaps(http: httpx.Client, ns: str) -> list[dict[str, Any]]:
    return http.get(f"/api/v1/namespaces/{ns}/configmaps").json()["items"]


def test_a_deeply_nested_yaml_body_is_decoded_and_refused_for_its_type(http, ns) -> None:
    status = expect_http(http.post(f"/api/v1/namespaces/{ns}/configmaps", content=configmap_text(nested_lists(5000)),
                                   headers={"Content-Type": "application/yaml"}), 400, "BadRequest")
    assert "cannot be handled as a ConfigMap" in status["message"]


def test_a_json_body_nested_past_orjsons_limit_is_refused_for_its_type(http, ns) -> None:
    status = expect_http(http.post(f"/api/v1/namespaces/{ns}/configmaps", content=configmap_text(nested_lists(5000)),
                                   headers={"Content-Type": "application/json"}), 400, "BadRequest")
    assert "cannot be handled as a ConfigMap" in status["message"]


def test_a_deeply_nested_apply_configuration_gets_the_typed_patch_error(http, ns) -> None:
    resp = http.patch(f"/api/v1/namespaces/{ns}/configmaps/deep", content=configmap_text(nested_lists(5000)),
                      headers=APPLY, params={"fieldManager": "m"})
    status = expect_http(resp, 400, "BadRequest")
    assert status["message"].startswith("failed to create typed patch object (/deep; /v1, Kind=ConfigMap): "
                                        ".data.k: expected string, got &value.valueUnstructured{Value:[]interface "
                                        "{}{[]interface {}{")
    assert configmaps(http, ns) == []


def test_a_body_nested_past_upstreams_limit_is_refused(http, ns) -> None:
    for content_type in ("application/json", "application/yaml"):
        status = expect_http(http.post(f"/api/v1/namespaces/{ns}/configmaps",
                                       content=configmap_text(nested_lists(10_001)),
                                       headers={"Content-Type": content_type}), 400, "BadRequest")
        assert "exceeded max depth" in status["message"]


def test_a_custom_resource_nested_past_the_limit_is_refused_and_not_stored(http, ns) -> None:
    path = WORKFLOWS.format(ns=ns)
    for spec in (nested_maps(250), json.loads(nested_lists(300))):
        status = expect_http(http.post(path, json=workflow("deep", spec)), 400, "BadRequest")
        assert "this server takes at most 200" in status["message"]
    assert http.get(path).json()["items"] == []


def test_a_merge_patch_nested_past_the_limit_changes_nothing(http, ns) -> None:
    path = WORKFLOWS.format(ns=ns)
    http.post(path, json=workflow("kept", {"a": 1})).raise_for_status()
    before = http.get(path).json()["items"]
    expect_http(http.patch(f"{path}/kept", json={"spec": nested_maps(400)},
                           headers={"Content-Type": "application/merge-patch+json"}), 400, "BadRequest")
    assert http.get(path).json()["items"] == before


def test_a_yaml_body_whose_aliases_expand_without_bound_is_refused(http, ns) -> None:
    levels = ["a: &a [" + ",".join(['"lol"'] * 9) + "]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    body = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\nlol:\n" + "".join(
        f"  {line}\n" for line in levels)
    status = expect_http(http.post(f"/api/v1/namespaces/{ns}/configmaps", content=body.encode(),
                                   headers={"Content-Type": "application/yaml"}, timeout=10), 400, "BadRequest")
    assert "excessive aliasing" in status["message"]


def test_a_yaml_body_with_an_alias_to_itself_is_refused(http, ns) -> None:
    body = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: loop}\ndata: &d {k: *d}\n"
    status = expect_http(http.post(f"/api/v1/namespaces/{ns}/configmaps", content=body,
                                   headers={"Content-Type": "application/yaml"}), 400, "BadRequest")
    assert "contains itself" in status["message"]
