"""Wire formats: Table (kubectl get), PartialObjectMetadata (metadata informers), YAML and protobuf both ways.

Protobuf bodies are compared field by field as they were on the wire (protowire.py). Objects embedded in these
answers are compared without their managedFields (test_managed_fields.py judges those).
"""
from __future__ import annotations

from typing import Any

import pytest

import protowire
from differ import Pair, Side, without_managed_fields as plain

pytestmark = pytest.mark.differential

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
KUBECTL_GET = f"{TABLE},application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
PARTIAL = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io"
PARTIAL_LIST = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
PROTOBUF = "application/vnd.kubernetes.protobuf"


def seed(s: Side) -> None:
    """Two ConfigMaps, a Pending Pod and a Service: the kinds whose tables kubectl users read most."""
    for name in ("a", "b"):
        s.json("POST", f"/api/v1/namespaces/{s.ns}/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": "web"}},
            "data": {"k": "v", "j": "w"}})
    s.json("POST", f"/api/v1/namespaces/{s.ns}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "ports": [{"containerPort": 80}]}]}})
    s.json("POST", f"/api/v1/namespaces/{s.ns}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}})


@pytest.mark.parametrize("resource", ["configmaps", "pods", "services", "serviceaccounts", "events"])
def test_table_list(pair: Pair, resource: str) -> None:
    def scenario(s: Side) -> None:
        seed(s)
        s.request("table", "GET", f"/api/v1/namespaces/{s.ns}/{resource}", accept=KUBECTL_GET, view=plain)
    pair.run(scenario)


@pytest.mark.parametrize("include", ["None", "Object", "Metadata"])
def test_table_include_object(pair: Pair, include: str) -> None:
    def scenario(s: Side) -> None:
        seed(s)
        s.request("table", "GET", f"/api/v1/namespaces/{s.ns}/configmaps", accept=TABLE,
                  params={"includeObject": include}, view=plain)
    pair.run(scenario)


def test_table_single_object_and_pages(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        seed(s)
        s.request("one", "GET", f"/api/v1/namespaces/{s.ns}/pods/p", accept=TABLE, view=plain)
        s.request("page", "GET", f"/api/v1/namespaces/{s.ns}/configmaps", accept=TABLE, params={"limit": 1},
                  view=plain)
        s.request("cluster-scoped", "GET", f"/api/v1/namespaces/{s.ns}", accept=TABLE, view=plain)
    pair.run(scenario)


def test_table_of_a_review_is_not_acceptable(pair: Pair) -> None:
    """A SelfSubjectAccessReview has no stored object to describe: a Table of it is 406 (a conformance spec)."""
    def scenario(s: Side) -> None:
        s.request("table", "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", accept=TABLE,
                  body={"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                        "spec": {"nonResourceAttributes": {"path": "/", "verb": "get"}}}, view=plain)
    pair.run(scenario)


def test_table_custom_resource(pair: Pair) -> None:
    """Printer columns of a CRD (FlyteWorkflow, installed on both at start)."""
    def scenario(s: Side) -> None:
        path = f"/apis/flyte.lyft.com/v1alpha1/namespaces/{s.ns}/flyteworkflows"
        s.json("POST", path, {"apiVersion": "flyte.lyft.com/v1alpha1", "kind": "FlyteWorkflow",
                              "metadata": {"name": "wf"}, "spec": {"id": "x"}})
        s.request("table", "GET", path, accept=TABLE, view=plain)
    pair.run(scenario)


def test_table_watch(pair: Pair) -> None:
    """kubectl get -w asks for Tables on the watch too."""
    def scenario(s: Side) -> None:
        seed(s)
        s.watch("events", f"/api/v1/namespaces/{s.ns}/configmaps", {}, accept=TABLE, count=2, view=plain)
    pair.run(scenario)


def test_partial_object_metadata(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        seed(s)
        s.request("get", "GET", f"/api/v1/namespaces/{s.ns}/pods/p", accept=PARTIAL, view=plain)
        s.request("list", "GET", f"/api/v1/namespaces/{s.ns}/configmaps", accept=PARTIAL_LIST, view=plain)
        s.request("list-asked-as-single", "GET", f"/api/v1/namespaces/{s.ns}/configmaps", accept=PARTIAL,
                  view=plain)
        s.request("v1beta1", "GET", f"/api/v1/namespaces/{s.ns}/configmaps/a",
                  accept="application/json;as=PartialObjectMetadata;v=v1beta1;g=meta.k8s.io", view=plain)
        s.watch("watch", f"/api/v1/namespaces/{s.ns}/configmaps", {}, accept=PARTIAL, count=2, view=plain)
    pair.run(scenario)


def test_yaml_both_ways(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.request("create", "POST", f"/api/v1/namespaces/{s.ns}/configmaps", content_type="application/yaml",
                  content=b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: yml}\ndata:\n  k: |\n    two\n    3\n",
                  accept="application/yaml", view=plain)
        s.request("get", "GET", f"/api/v1/namespaces/{s.ns}/configmaps/yml", accept="application/yaml", view=plain)
        s.request("error", "GET", f"/api/v1/namespaces/{s.ns}/configmaps/none", accept="application/yaml")
    pair.run(scenario)


def test_yaml_1_1_booleans(pair: Pair) -> None:
    """Upstream reads YAML as YAML 1.1 (go-yaml): an unquoted `y` or `on` is a boolean, not a string."""
    def scenario(s: Side) -> None:
        s.request("name-y", "POST", f"/api/v1/namespaces/{s.ns}/configmaps", content_type="application/yaml",
                  content=b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n", view=plain)
        s.request("value-on", "POST", f"/api/v1/namespaces/{s.ns}/configmaps", content_type="application/yaml",
                  content=b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  k: on\n", view=plain)
    pair.run(scenario)


def test_protobuf_get_and_list(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        seed(s)
        s.request("configmap", "GET", f"/api/v1/namespaces/{s.ns}/configmaps/a", accept=PROTOBUF, view=plain)
        s.request("service", "GET", f"/api/v1/namespaces/{s.ns}/services/web", accept=PROTOBUF, view=plain)
        s.request("list", "GET", f"/api/v1/namespaces/{s.ns}/configmaps", accept=PROTOBUF, view=plain)
        s.request("not-found", "GET", f"/api/v1/namespaces/{s.ns}/configmaps/none", accept=PROTOBUF)
    pair.run(scenario)


def test_protobuf_round_trip(pair: Pair) -> None:
    """A protobuf body in (as client-go >= 0.32 sends), protobuf and JSON out."""
    body = protowire.encode({"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": "pb", "labels": {"wire": "protobuf"}},
                             "data": {"k": "v"}, "binaryData": {"b": "AAEC"}})

    def scenario(s: Side) -> None:
        s.request("create", "POST", f"/api/v1/namespaces/{s.ns}/configmaps", content=body,
                  content_type=PROTOBUF, accept=PROTOBUF, view=plain)
        s.request("as-json", "GET", f"/api/v1/namespaces/{s.ns}/configmaps/pb", view=plain)
        s.request("update", "PUT", f"/api/v1/namespaces/{s.ns}/configmaps/pb", content=body,
                  content_type=PROTOBUF, accept=PROTOBUF, view=plain)
        s.request("garbage", "POST", f"/api/v1/namespaces/{s.ns}/configmaps", content=b"k8s\x00\xff\xff",
                  content_type=PROTOBUF)
    pair.run(scenario)


def test_protobuf_for_custom_resources_falls_back_to_json(pair: Pair) -> None:
    """CRs have no protobuf: client-go's Accept of protobuf-then-JSON gets JSON, protobuf alone gets 406."""
    def scenario(s: Side) -> None:
        path = f"/apis/flyte.lyft.com/v1alpha1/namespaces/{s.ns}/flyteworkflows"
        s.json("POST", path, {"apiVersion": "flyte.lyft.com/v1alpha1", "kind": "FlyteWorkflow",
                              "metadata": {"name": "wf"}, "spec": {"id": "x"}})
        s.request("preferred", "GET", f"{path}/wf", accept=f"{PROTOBUF}, application/json", view=identity)
        s.request("only", "GET", f"{path}/wf", accept=PROTOBUF)
    pair.run(scenario)


def identity(body: Any) -> Any:
    """An object's kind and name (the scenario is about the format, not the content)."""
    return {"kind": body.get("kind"), "name": body.get("metadata", {}).get("name")} if isinstance(body, dict) \
        else body
