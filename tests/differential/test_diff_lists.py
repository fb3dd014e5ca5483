"""Raw HTTP lists: limit/continue, resourceVersion and resourceVersionMatch, label and field selectors.

A successful list is compared by its page (kind, list metadata, item names): what is in each item is judged by
the scenarios about writes. Failures are compared whole (code, reason, message, details).
"""
from __future__ import annotations

from typing import Any

import pytest

from differ import Pair, Side

pytestmark = pytest.mark.differential


def page(body: Any) -> Any:
    """A list response as a page: its kind, list metadata and item names."""
    if not isinstance(body, dict) or "items" not in body:
        return body
    return {"kind": body.get("kind"), "apiVersion": body.get("apiVersion"), "metadata": body.get("metadata"),
            "names": [item["metadata"]["name"] for item in body["items"]]}


def make_configmaps(s: Side, count: int = 5) -> list[str]:
    """ConfigMaps c0..c{count-1} labelled by parity; the resourceVersion each create returned."""
    versions = []
    for i in range(count):
        created = s.json("POST", f"/api/v1/namespaces/{s.ns}/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"c{i}", "labels": {"parity": "even" if i % 2 == 0 else "odd", "i": str(i)}}})
        versions.append(created["metadata"]["resourceVersion"])
    return versions


def test_list_limit_and_continue(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        make_configmaps(s)
        path = f"/api/v1/namespaces/{s.ns}/configmaps"
        token = s.request("page-1", "GET", path, params={"limit": 2}, view=page).json()["metadata"]["continue"]
        token = s.request("page-2", "GET", path, params={"limit": 2, "continue": token},
                          view=page).json()["metadata"]["continue"]
        s.request("page-3", "GET", path, params={"limit": 2, "continue": token}, view=page)
        s.request("limit-over-count", "GET", path, params={"limit": 50}, view=page)
        s.request("bad-continue", "GET", path, params={"limit": 2, "continue": "not-a-token"})
        s.request("continue-with-rv", "GET", path, params={"limit": 2, "continue": token, "resourceVersion": "1"})
    pair.run(scenario)


def test_list_resource_version_semantics(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        versions = make_configmaps(s)
        path = f"/api/v1/namespaces/{s.ns}/configmaps"
        s.request("rv-0", "GET", path, params={"resourceVersion": "0"}, view=page)
        s.request("rv-0-limit", "GET", path, params={"resourceVersion": "0", "limit": 2}, view=page)
        s.request("exact-after-first", "GET", path,
                  params={"resourceVersion": versions[0], "resourceVersionMatch": "Exact"}, view=page)
        s.request("exact-after-third-limit", "GET", path,
                  params={"resourceVersion": versions[2], "resourceVersionMatch": "Exact", "limit": 2}, view=page)
        s.request("not-older-than", "GET", path,
                  params={"resourceVersion": versions[0], "resourceVersionMatch": "NotOlderThan"}, view=page)
        s.request("match-without-rv", "GET", path, params={"resourceVersionMatch": "NotOlderThan"})
        s.request("exact-rv-0", "GET", path, params={"resourceVersion": "0", "resourceVersionMatch": "Exact"})
        s.request("bad-match", "GET", path, params={"resourceVersion": versions[0], "resourceVersionMatch": "Soon"})
        s.request("bad-rv", "GET", path, params={"resourceVersion": "abc"})
    pair.run(scenario)


def test_list_resource_version_too_large(pair: Pair) -> None:
    """A list not older than a revision the server has not reached waits, then answers 504 Timeout."""
    def scenario(s: Side) -> None:
        s.request("too-large", "GET", f"/api/v1/namespaces/{s.ns}/configmaps",
                  params={"resourceVersion": "900000000", "resourceVersionMatch": "NotOlderThan"})
    pair.run(scenario)


@pytest.mark.parametrize("selector", [
    "parity=even", "parity==odd", "parity!=even", "parity in (odd)", "i notin (1,2)", "parity", "!parity",
    "parity=even,i=4", "i>2",
])
def test_list_label_selector(pair: Pair, selector: str) -> None:
    def scenario(s: Side) -> None:
        make_configmaps(s)
        s.request("list", "GET", f"/api/v1/namespaces/{s.ns}/configmaps", params={"labelSelector": selector},
                  view=page)
    pair.run(scenario)


@pytest.mark.parametrize("selector", [
    "metadata.name=c1", "metadata.name!=c1", "metadata.namespace={ns}", "metadata.name==c2,metadata.name!=c3",
])
def test_list_field_selector(pair: Pair, selector: str) -> None:
    def scenario(s: Side) -> None:
        make_configmaps(s, 4)
        s.request("list", "GET", f"/api/v1/namespaces/{s.ns}/configmaps",
                  params={"fieldSelector": selector.format(ns=s.ns)}, view=page)
    pair.run(scenario)


def test_list_field_selector_on_pod_fields(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        for name, policy in (("p1", "Never"), ("p2", "Always")):
            s.json("POST", f"/api/v1/namespaces/{s.ns}/pods", {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "spec": {"restartPolicy": policy, "containers": [{"name": "c", "image": "busybox:1.36"}]}})
        path = f"/api/v1/namespaces/{s.ns}/pods"
        s.request("restart-never", "GET", path, params={"fieldSelector": "spec.restartPolicy=Never"}, view=page)
        s.request("pending", "GET", path, params={"fieldSelector": "status.phase=Pending"}, view=page)
        s.request("no-node", "GET", path, params={"fieldSelector": "spec.nodeName="}, view=page)
    pair.run(scenario)


@pytest.mark.parametrize("selector", ["data.mode=fast", "metadata.labels=x", "status.phase=Running"])
def test_list_field_selector_unknown_field(pair: Pair, selector: str) -> None:
    """The error naming a field a kind cannot be selected by (issue 10: v1.34's field-selector wording)."""
    def scenario(s: Side) -> None:
        s.request("list", "GET", f"/api/v1/namespaces/{s.ns}/configmaps", params={"fieldSelector": selector})
    pair.run(scenario)


@pytest.mark.parametrize("param,selector", [
    ("labelSelector", "a in (b"), ("labelSelector", "a=b=c"), ("labelSelector", "Bad Key=1"),
    ("fieldSelector", "metadata.name>c"), ("fieldSelector", "metadata.name"),
])
def test_list_malformed_selector(pair: Pair, param: str, selector: str) -> None:
    def scenario(s: Side) -> None:
        s.request("list", "GET", f"/api/v1/namespaces/{s.ns}/configmaps", params={param: selector})
    pair.run(scenario)


def test_list_across_namespaces_by_label(pair: Pair) -> None:
    """A cluster-wide list narrowed by a label only this test's objects carry."""
    def scenario(s: Side) -> None:
        for i in range(3):
            s.json("POST", f"/api/v1/namespaces/{s.ns}/configmaps", {
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"x{i}", "labels": {"run": s.ns}}})
        s.request("all-namespaces", "GET", "/api/v1/configmaps", params={"labelSelector": f"run={s.ns}"},
                  view=page)
        s.request("paged", "GET", "/api/v1/configmaps", params={"labelSelector": f"run={s.ns}", "limit": 2},
                  view=page)
    pair.run(scenario)
