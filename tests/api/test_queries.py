"""Lists: pagination, label and field selectors (on list and watch), and resourceVersion semantics."""
from __future__ import annotations

import json
import time

import pytest

from apihelpers import cm_manifest, expect_http, expect_status, pod_manifest, unique, watch_events

LABELLED = {"a": {"env": "prod", "tier": "web"}, "b": {"env": "dev", "tier": "web"}, "c": {"env": "prod"}, "d": {}}
LABEL_CASES = [
    ("env=prod", "ac"), ("env==prod", "ac"), ("env!=prod", "bd"), ("env in (prod,dev)", "abc"),
    ("env notin (prod)", "bd"), ("tier", "ab"), ("!tier", "cd"), ("env=prod,tier", "a"),
    ("env in (prod),tier notin (web)", "c"), ("env=nothing", ""),
]


def _names(items) -> str:
    return "".join(sorted(i.metadata.name if hasattr(i, "metadata") else i["metadata"]["name"] for i in items))


@pytest.fixture
def labelled(core, ns) -> str:
    for name, labels in LABELLED.items():
        core.create_namespaced_config_map(ns, cm_manifest(name, labels=labels))
    return ns


@pytest.fixture
def seven(core, ns) -> str:
    for i in range(7):
        core.create_namespaced_config_map(ns, cm_manifest(f"cm{i}"))
    return ns


# -- pagination -----------------------------------------------------------------------------------------------

def test_limit_and_continue_walk_every_item_once(core, seven):
    pages, token = [], None
    while True:
        page = core.list_namespaced_config_map(seven, limit=3, _continue=token)
        pages.append(page)
        token = page.metadata._continue
        if not token:
            break
    assert [len(p.items) for p in pages] == [3, 3, 1]
    assert [n for p in pages for n in (i.metadata.name for i in p.items)] == [f"cm{i}" for i in range(7)]
    assert len({p.metadata.resource_version for p in pages}) == 1, "every page reports the first page's revision"


def test_remaining_item_count_counts_what_is_left(core, seven):
    first = core.list_namespaced_config_map(seven, limit=3)
    assert first.metadata.remaining_item_count == 4
    second = core.list_namespaced_config_map(seven, limit=3, _continue=first.metadata._continue)
    assert second.metadata.remaining_item_count == 1
    last = core.list_namespaced_config_map(seven, limit=3, _continue=second.metadata._continue)
    assert last.metadata.remaining_item_count is None and not last.metadata._continue


def test_limit_larger_than_the_list_gives_no_continue(core, seven):
    page = core.list_namespaced_config_map(seven, limit=50)
    assert len(page.items) == 7
    assert not page.metadata._continue and page.metadata.remaining_item_count is None


def test_continued_pages_show_the_first_page_snapshot(core, seven):
    first = core.list_namespaced_config_map(seven, limit=3)
    core.delete_namespaced_config_map("cm5", seven)
    core.create_namespaced_config_map(seven, cm_manifest("cm9"))
    core.patch_namespaced_config_map("cm4", seven, {"data": {"k": "later"}})
    rest = core.list_namespaced_config_map(seven, limit=10, _continue=first.metadata._continue)
    assert [i.metadata.name for i in rest.items] == ["cm3", "cm4", "cm5", "cm6"]
    assert rest.items[1].data == {"k": "v"}


def test_paginated_list_with_label_selector_filters_every_page(core, ns):
    for i in range(6):
        core.create_namespaced_config_map(ns, cm_manifest(f"cm{i}", labels={"odd": str(i % 2)}))
    first = core.list_namespaced_config_map(ns, limit=2, label_selector="odd=1")
    rest = core.list_namespaced_config_map(ns, limit=2, label_selector="odd=1", _continue=first.metadata._continue)
    assert [i.metadata.name for i in first.items + rest.items] == ["cm1", "cm3", "cm5"]


def test_pagination_across_namespaces_whose_names_share_a_prefix(core):
    run = unique("pg")
    spaces = [run, f"{run}-b"]  # "-" sorts before "/": a "namespace/name" string order would skip the second
    for space in spaces:
        core.create_namespace({"metadata": {"name": space}})
    try:
        for space in spaces:
            for name in ("x", "y"):
                core.create_namespaced_config_map(space, cm_manifest(name, labels={"run": run}))
        seen, token = [], None
        while True:
            page = core.list_config_map_for_all_namespaces(limit=1, label_selector=f"run={run}", _continue=token)
            seen += [(i.metadata.namespace, i.metadata.name) for i in page.items]
            token = page.metadata._continue
            if not token:
                break
        assert seen == [(s, n) for s in spaces for n in ("x", "y")]
    finally:
        for space in spaces:
            core.delete_namespace(space)


def test_expired_continue_token_is_410_with_a_token_for_the_rest(tuned_http):
    tuned_http.post("/api/v1/namespaces", json={"metadata": {"name": "oldpages"}}).raise_for_status()
    for i in range(3):
        tuned_http.post("/api/v1/namespaces/oldpages/configmaps", json=cm_manifest(f"cm{i}")).raise_for_status()
    first = tuned_http.get("/api/v1/namespaces/oldpages/configmaps", params={"limit": "1"}).json()
    for i in range(40):
        tuned_http.post("/api/v1/namespaces/oldpages/configmaps", json=cm_manifest(f"more{i}")).raise_for_status()
    expired = expect_http(tuned_http.get("/api/v1/namespaces/oldpages/configmaps",
                                         params={"limit": "1", "continue": first["metadata"]["continue"]}),
                          410, "Expired")
    rest = tuned_http.get("/api/v1/namespaces/oldpages/configmaps",
                          params={"continue": expired["metadata"]["continue"]}).json()
    assert [i["metadata"]["name"] for i in rest["items"]] == ["cm1", "cm2"] + sorted(f"more{i}" for i in range(40))
    assert rest["metadata"]["resourceVersion"] != first["metadata"]["resourceVersion"]


def test_garbage_continue_token_is_400(http, seven):
    expect_http(http.get(f"/api/v1/namespaces/{seven}/configmaps", params={"limit": "2", "continue": "%%%"}),
                400, "BadRequest")


# -- label selectors ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("selector,expected", LABEL_CASES, ids=[c[0] for c in LABEL_CASES])
def test_label_selector_on_list(core, labelled, selector, expected):
    assert _names(core.list_namespaced_config_map(labelled, label_selector=selector).items) == expected


@pytest.mark.parametrize("selector,expected", LABEL_CASES, ids=[c[0] for c in LABEL_CASES])
def test_label_selector_on_watch_initial_events(http, labelled, selector, expected):
    events = watch_events(http, f"/api/v1/namespaces/{labelled}/configmaps",
                          {"labelSelector": selector, "sendInitialEvents": "true", "allowWatchBookmarks": "true",
                           "resourceVersionMatch": "NotOlderThan", "timeoutSeconds": "5"},
                          until=lambda e: e["type"] == "BOOKMARK")
    assert _names(e["object"] for e in events[:-1]) == expected


def test_label_selector_on_live_watch(core, ns, http):
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    for name, labels in LABELLED.items():
        core.create_namespaced_config_map(ns, cm_manifest(name, labels=labels))
    events = watch_events(http, f"/api/v1/namespaces/{ns}/configmaps",
                          {"labelSelector": "env notin (dev),tier", "resourceVersion": rv, "timeoutSeconds": "1"})
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "a")]


# -- field selectors ------------------------------------------------------------------------------------------

def test_field_selector_metadata_name(core, labelled):
    assert _names(core.list_namespaced_config_map(labelled, field_selector="metadata.name=b").items) == "b"
    assert _names(core.list_namespaced_config_map(labelled, field_selector="metadata.name!=b").items) == "acd"


def test_field_selector_metadata_namespace_across_namespaces(core, labelled):
    items = core.list_config_map_for_all_namespaces(field_selector=f"metadata.namespace={labelled}").items
    assert _names(items) == "abcd"
    assert {i.metadata.namespace for i in items} == {labelled}


def test_field_selectors_combine_with_label_selectors(core, labelled):
    items = core.list_namespaced_config_map(labelled, label_selector="env=prod", field_selector="metadata.name!=a")
    assert _names(items.items) == "c"


def test_pod_field_selector_spec_node_name(core, ns):
    for name in ("p1", "p2", "p3"):
        core.create_namespaced_pod(ns, pod_manifest(name))
    for name, node in (("p1", "n1"), ("p2", "n2")):
        core.create_namespaced_pod_binding(name, ns, {"metadata": {"name": name},
                                                      "target": {"kind": "Node", "name": node}},
                                           _preload_content=False)
    assert _names(core.list_namespaced_pod(ns, field_selector="spec.nodeName=n1").items) == "p1"
    assert _names(core.list_namespaced_pod(ns, field_selector="spec.nodeName=").items) == "p3"
    assert _names(core.list_namespaced_pod(ns, field_selector="spec.nodeName!=").items) == "p1p2"


def test_pod_field_selector_status_phase(core, ns):
    for name in ("p1", "p2"):
        core.create_namespaced_pod(ns, pod_manifest(name))
    core.patch_namespaced_pod_status("p2", ns, {"status": {"phase": "Running"}})
    assert _names(core.list_namespaced_pod(ns, field_selector="status.phase=Running").items) == "p2"
    assert _names(core.list_namespaced_pod(ns, field_selector="status.phase!=Running").items) == "p1"
    assert _names(core.list_namespaced_pod(ns, field_selector="status.phase=Pending,metadata.name=p1").items) == "p1"


def test_event_field_selector_involved_object(core, ns):
    for name, kind, target in (("e1", "Pod", "web"), ("e2", "Pod", "db"), ("e3", "Node", "web")):
        core.create_namespaced_event(ns, {"metadata": {"name": name}, "reason": "R", "message": "m", "type": "Normal",
                                          "involvedObject": {"kind": kind, "name": target, "namespace": ns}})
    select = lambda s: _names(core.list_namespaced_event(ns, field_selector=s).items)  # noqa: E731
    assert select("involvedObject.name=web") == "e1e3"
    assert select("involvedObject.kind=Pod,involvedObject.name=web") == "e1"
    assert select(f"involvedObject.namespace={ns},involvedObject.kind!=Pod") == "e3"
    assert select("reason=R,type=Normal") == "e1e2e3"


def test_events_k8s_io_field_selector_regarding(http, core, ns):
    core.create_namespaced_event(ns, {"metadata": {"name": "e1"}, "reason": "R", "message": "m",
                                      "involvedObject": {"kind": "Pod", "name": "web"}})
    core.create_namespaced_event(ns, {"metadata": {"name": "e2"}, "reason": "R", "message": "m",
                                      "involvedObject": {"kind": "Pod", "name": "db"}})
    listed = http.get(f"/apis/events.k8s.io/v1/namespaces/{ns}/events",
                      params={"fieldSelector": "regarding.name=db"}).json()
    assert _names(listed["items"]) == "e2"


def test_field_selector_on_watch(core, ns, http):
    rv = core.list_namespaced_event(ns).metadata.resource_version
    for name, target in (("e1", "web"), ("e2", "db")):
        core.create_namespaced_event(ns, {"metadata": {"name": name}, "reason": "R", "message": "m",
                                          "involvedObject": {"kind": "Pod", "name": target}})
    events = watch_events(http, f"/api/v1/namespaces/{ns}/events",
                          {"fieldSelector": "involvedObject.name=db", "resourceVersion": rv, "timeoutSeconds": "1"})
    assert [e["object"]["metadata"]["name"] for e in events] == ["e2"]


# -- resourceVersion semantics --------------------------------------------------------------------------------

def test_list_resource_version_zero_answers_from_any_state(core, labelled):
    page = core.list_namespaced_config_map(labelled, resource_version="0")
    assert _names(page.items) == "abcd"
    assert int(page.metadata.resource_version) > 0


def test_list_resource_version_zero_ignores_the_limit(core, labelled):
    """As upstream's watch cache answers it: the whole list, no continue token."""
    page = core.list_namespaced_config_map(labelled, resource_version="0", limit=2)
    assert _names(page.items) == "abcd"
    assert not page.metadata._continue


def test_list_resource_version_not_older_than_gives_current_state(core, labelled):
    mark = core.list_namespaced_config_map(labelled).metadata.resource_version
    core.delete_namespaced_config_map("a", labelled)
    page = core.list_namespaced_config_map(labelled, resource_version=mark)
    assert _names(page.items) == "bcd"
    assert int(page.metadata.resource_version) > int(mark)


def test_exact_list_shows_an_older_revision(core, ns):
    core.create_namespaced_config_map(ns, cm_manifest("a"))
    mark = core.create_namespaced_config_map(ns, cm_manifest("b")).metadata.resource_version
    core.patch_namespaced_config_map("a", ns, {"data": {"k": "new"}})
    core.delete_namespaced_config_map("b", ns)
    core.create_namespaced_config_map(ns, cm_manifest("c"))
    old = core.list_namespaced_config_map(ns, resource_version=mark, resource_version_match="Exact")
    assert old.metadata.resource_version == mark
    assert [(i.metadata.name, i.data["k"]) for i in old.items] == [("a", "v"), ("b", "v")]
    assert _names(core.list_namespaced_config_map(ns).items) == "ac"


def test_exact_list_honours_limit(core, seven):
    mark = core.list_namespaced_config_map(seven).metadata.resource_version
    core.create_namespaced_config_map(seven, cm_manifest("cm00"))
    first = core.list_namespaced_config_map(seven, resource_version=mark, resource_version_match="Exact", limit=4)
    assert [i.metadata.name for i in first.items] == ["cm0", "cm1", "cm2", "cm3"]
    assert first.metadata._continue
    rest = core.list_namespaced_config_map(seven, limit=10, _continue=first.metadata._continue)
    assert [i.metadata.name for i in rest.items] == ["cm4", "cm5", "cm6"]
    assert rest.metadata.resource_version == mark


def test_exact_list_older_than_the_window_is_410(tuned_http):
    tuned_http.post("/api/v1/namespaces", json={"metadata": {"name": "oldexact"}}).raise_for_status()
    mark = tuned_http.post("/api/v1/namespaces/oldexact/configmaps", json=cm_manifest("a")).json()
    for i in range(40):
        tuned_http.post("/api/v1/namespaces/oldexact/configmaps", json=cm_manifest(f"cm{i}")).raise_for_status()
    expect_http(tuned_http.get("/api/v1/namespaces/oldexact/configmaps",
                               params={"resourceVersion": mark["metadata"]["resourceVersion"],
                                       "resourceVersionMatch": "Exact"}), 410, "Expired")


def test_too_large_resource_version_times_out_with_cause(http, ns):
    current = int(http.get(f"/api/v1/namespaces/{ns}/configmaps").json()["metadata"]["resourceVersion"])
    started = time.monotonic()
    resp = http.get(f"/api/v1/namespaces/{ns}/configmaps", params={"resourceVersion": str(current + 100000)})
    elapsed = time.monotonic() - started
    status = expect_http(resp, 504, "Timeout")
    assert status["message"].startswith(f"Timeout: Too large resource version: {current + 100000}, current: ")
    assert {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"} in \
        status["details"]["causes"]
    assert resp.headers.get("Retry-After")
    assert 2.5 <= elapsed < 6, elapsed


def test_resource_version_match_without_resource_version_is_invalid(core, ns):
    expect_status(lambda: core.list_namespaced_config_map(ns, resource_version_match="NotOlderThan"), 422, "Invalid")


def test_exact_match_with_resource_version_zero_is_invalid(core, ns):
    expect_status(lambda: core.list_namespaced_config_map(ns, resource_version="0", resource_version_match="Exact"),
                  422, "Invalid")


def test_list_answers_the_list_kind_and_version(http, labelled):
    body = http.get(f"/api/v1/namespaces/{labelled}/configmaps").json()
    assert (body["kind"], body["apiVersion"]) == ("ConfigMapList", "v1")
    assert json.dumps(body["metadata"]).count("resourceVersion") == 1
    leases = http.get(f"/apis/coordination.k8s.io/v1/namespaces/{labelled}/leases").json()
    assert (leases["kind"], leases["apiVersion"], leases["items"]) == ("LeaseList", "coordination.k8s.io/v1", [])
