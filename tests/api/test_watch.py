"""Watch streams: resume, expiry, selectors, bookmarks, timeouts and the WatchList protocol."""
from __future__ import annotations

import time
import pytest
from kubernetes import client, watch

from apihelpers import cm_manifest, expect_http, pod_manifest, unique, watch_events

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _stream(core: client.CoreV1Api, ns: str, seconds: int, **kw) -> list[tuple[str, str, str]]:
    """(type, name, resourceVersion) of every configmap event until the server ends the watch."""
    out = []
    for event in watch.Watch().stream(core.list_namespaced_config_map, ns, timeout_seconds=seconds, **kw):
        out.append((event["type"], event["object"].metadata.name, event["object"].metadata.resource_version))
    return out


def test_watch_from_resource_version_sees_exactly_the_later_events(core, ns):
    core.create_namespaced_config_map(ns, cm_manifest("a"))
    mark = core.create_namespaced_config_map(ns, cm_manifest("b")).metadata.resource_version
    core.patch_namespaced_config_map("a", ns, {"data": {"k": "2"}})
    core.delete_namespaced_config_map("b", ns)
    core.create_namespaced_config_map(ns, cm_manifest("c"))
    events = _stream(core, ns, 1, resource_version=mark)
    assert [(t, n) for t, n, _ in events] == [("MODIFIED", "a"), ("DELETED", "b"), ("ADDED", "c")]
    rvs = [int(rv) for _, _, rv in events]
    assert rvs == sorted(rvs) and rvs[0] > int(mark)


def test_watch_without_resource_version_starts_with_current_state(core, ns):
    core.create_namespaced_config_map(ns, cm_manifest("a"))
    core.create_namespaced_config_map(ns, cm_manifest("b"))
    events = _stream(core, ns, 1)
    assert sorted((t, n) for t, n, _ in events) == [("ADDED", "a"), ("ADDED", "b")]


def test_watch_delivers_live_changes_in_order(core, ns, http):
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    with http.stream("GET", f"/api/v1/namespaces/{ns}/configmaps",
                     params={"watch": "1", "resourceVersion": rv, "timeoutSeconds": "5"}) as resp:
        lines = resp.iter_lines()
        core.create_namespaced_config_map(ns, cm_manifest("live"))
        core.patch_namespaced_config_map("live", ns, {"data": {"k": "2"}})
        core.delete_namespaced_config_map("live", ns)
        import json
        got = [json.loads(next(lines)) for _ in range(3)]
    assert [e["type"] for e in got] == ["ADDED", "MODIFIED", "DELETED"]
    assert got[1]["object"]["data"] == {"k": "2"}
    assert got[2]["object"]["data"] == {"k": "2"}, "DELETED carries the last state"


def test_watch_with_too_old_resource_version_is_410_expired(tuned, tuned_http):
    tuned_http.post("/api/v1/namespaces", json={"metadata": {"name": "old"}}).raise_for_status()
    first = tuned_http.post("/api/v1/namespaces/old/configmaps", json=cm_manifest("first")).json()
    for i in range(40):
        tuned_http.post("/api/v1/namespaces/old/configmaps", json=cm_manifest(f"cm{i}")).raise_for_status()
    status = expect_http(tuned_http.get("/api/v1/namespaces/old/configmaps",
                                        params={"watch": "1", "resourceVersion": first["metadata"]["resourceVersion"]}),
                         410, "Expired")
    assert status["message"].startswith(f"too old resource version: {first['metadata']['resourceVersion']} (")


def test_typed_client_watch_from_expired_version_raises_410(tuned):
    from kubernetes import config
    with config.new_client_from_config(str(tuned.kubeconfig)) as api_client:
        api = client.CoreV1Api(api_client)
        api.create_namespace({"metadata": {"name": "old2"}})
        first = api.create_namespaced_config_map("old2", cm_manifest("first")).metadata.resource_version
        for i in range(40):
            api.create_namespaced_config_map("old2", cm_manifest(f"cm{i}"))
        with pytest.raises(client.ApiException) as info:
            list(watch.Watch().stream(api.list_namespaced_config_map, "old2", resource_version=first,
                                      timeout_seconds=2))
    assert info.value.status == 410


def test_watch_resumes_within_the_kept_window(tuned_http):
    tuned_http.post("/api/v1/namespaces", json={"metadata": {"name": "keep"}}).raise_for_status()
    mark = tuned_http.post("/api/v1/namespaces/keep/configmaps", json=cm_manifest("m")).json()
    for i in range(5):
        tuned_http.post("/api/v1/namespaces/keep/configmaps", json=cm_manifest(f"cm{i}")).raise_for_status()
    events = watch_events(tuned_http, "/api/v1/namespaces/keep/configmaps",
                          {"resourceVersion": mark["metadata"]["resourceVersion"], "timeoutSeconds": "1"})
    assert [e["object"]["metadata"]["name"] for e in events] == [f"cm{i}" for i in range(5)]


def test_label_selector_watch_sends_leaving_object_as_deleted(core, ns, http):
    core.create_namespaced_config_map(ns, cm_manifest("x", labels={"app": "web"}))
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.patch_namespaced_config_map("x", ns, {"metadata": {"labels": {"app": "db"}}})
    core.patch_namespaced_config_map("x", ns, {"metadata": {"labels": {"app": "web"}}})
    core.patch_namespaced_config_map("x", ns, {"data": {"k": "2"}})
    core.create_namespaced_config_map(ns, cm_manifest("other", labels={"app": "db"}))
    events = watch_events(http, f"/api/v1/namespaces/{ns}/configmaps",
                          {"resourceVersion": rv, "labelSelector": "app=web", "timeoutSeconds": "1"})
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == \
        [("DELETED", "x"), ("ADDED", "x"), ("MODIFIED", "x")]
    assert events[0]["object"]["metadata"]["labels"] == {"app": "web"}, "DELETED shows the last matching state"
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)


def test_field_selector_watch_follows_pod_phase(core, ns):
    core.create_namespaced_pod(ns, pod_manifest("p"))
    rv = core.list_namespaced_pod(ns).metadata.resource_version
    core.patch_namespaced_pod_status("p", ns, {"status": {"phase": "Running"}})
    core.patch_namespaced_pod_status("p", ns, {"status": {"phase": "Running", "podIP": "10.0.0.1"}})
    core.patch_namespaced_pod_status("p", ns, {"status": {"phase": "Succeeded"}})
    events = [(e["type"], e["object"].status.phase) for e in watch.Watch().stream(
        core.list_namespaced_pod, ns, field_selector="status.phase=Running", resource_version=rv,
        timeout_seconds=1)]
    assert events == [("ADDED", "Running"), ("MODIFIED", "Running"), ("DELETED", "Running")]


def test_field_selector_on_name_watches_one_object(core, ns):
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, cm_manifest("one"))
    core.create_namespaced_config_map(ns, cm_manifest("two"))
    core.delete_namespaced_config_map("one", ns)
    names = _stream(core, ns, 1, resource_version=rv, field_selector="metadata.name=one")
    assert [(t, n) for t, n, _ in names] == [("ADDED", "one"), ("DELETED", "one")]


def test_cluster_wide_watch_sees_every_namespace(core, http):
    label = unique("w")
    a, b = unique("nsa"), unique("nsb")
    for name in (a, b):
        core.create_namespace({"metadata": {"name": name}})
    try:
        rv = core.list_config_map_for_all_namespaces(limit=1).metadata.resource_version
        core.create_namespaced_config_map(a, cm_manifest("x", labels={"run": label}))
        core.create_namespaced_config_map(b, cm_manifest("x", labels={"run": label}))
        events = watch_events(http, "/api/v1/configmaps", {"resourceVersion": rv, "labelSelector": f"run={label}",
                                                           "timeoutSeconds": "1"})
        assert sorted(e["object"]["metadata"]["namespace"] for e in events) == sorted([a, b])
    finally:
        core.delete_namespace(a)
        core.delete_namespace(b)


def test_events_k8s_io_watch_sees_core_events(core, ns, http):
    rv = core.list_namespaced_event(ns).metadata.resource_version
    core.create_namespaced_event(ns, {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"},
                                      "reason": "R", "message": "m"})
    [event] = watch_events(http, f"/apis/events.k8s.io/v1/namespaces/{ns}/events",
                           {"resourceVersion": rv, "timeoutSeconds": "1"})
    assert event["type"] == "ADDED"
    assert event["object"]["apiVersion"] == "events.k8s.io/v1"
    assert event["object"]["regarding"]["name"] == "p" and event["object"]["note"] == "m"


def test_allow_watch_bookmarks_sends_bookmarks(tuned, tuned_http):
    tuned_http.post("/api/v1/namespaces", json={"metadata": {"name": "bm"}}).raise_for_status()
    created = tuned_http.post("/api/v1/namespaces/bm/configmaps", json=cm_manifest("x")).json()
    events = watch_events(tuned_http, "/api/v1/namespaces/bm/configmaps",
                          {"resourceVersion": created["metadata"]["resourceVersion"], "allowWatchBookmarks": "true",
                           "timeoutSeconds": "5"}, count=2)
    assert [e["type"] for e in events] == ["BOOKMARK", "BOOKMARK"]
    obj = events[0]["object"]
    assert (obj["kind"], obj["apiVersion"]) == ("ConfigMap", "v1")
    assert int(obj["metadata"]["resourceVersion"]) >= int(created["metadata"]["resourceVersion"])
    assert set(obj) <= {"kind", "apiVersion", "metadata"}


def test_watch_without_bookmarks_asked_gets_none(tuned_http):
    tuned_http.post("/api/v1/namespaces", json={"metadata": {"name": "nobm"}}).raise_for_status()
    rv = tuned_http.get("/api/v1/namespaces/nobm/configmaps").json()["metadata"]["resourceVersion"]
    events = watch_events(tuned_http, "/api/v1/namespaces/nobm/configmaps",
                          {"resourceVersion": rv, "timeoutSeconds": "1"})
    assert events == []


def test_timeout_seconds_ends_the_stream(http, ns):
    started = time.monotonic()
    events = watch_events(http, f"/api/v1/namespaces/{ns}/configmaps",
                          {"resourceVersion": "1", "timeoutSeconds": "1"}, timeout=10)
    elapsed = time.monotonic() - started
    assert events == []
    assert 0.8 <= elapsed < 4, elapsed


def test_send_initial_events_ends_with_annotated_bookmark(core, ns, http):
    for name in ("a", "b", "c"):
        core.create_namespaced_config_map(ns, cm_manifest(name))
    listed_rv = int(core.list_namespaced_config_map(ns).metadata.resource_version)
    events = watch_events(http, f"/api/v1/namespaces/{ns}/configmaps",
                          {"sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan",
                           "allowWatchBookmarks": "true", "timeoutSeconds": "5"},
                          until=lambda e: e["type"] == "BOOKMARK")
    assert [e["type"] for e in events] == ["ADDED", "ADDED", "ADDED", "BOOKMARK"]
    assert sorted(e["object"]["metadata"]["name"] for e in events[:3]) == ["a", "b", "c"]
    bookmark = events[-1]["object"]["metadata"]
    assert bookmark["annotations"] == {INITIAL_EVENTS_END: "true"}
    assert int(bookmark["resourceVersion"]) >= listed_rv


def test_send_initial_events_then_streams_changes(core, ns, http):
    import json
    core.create_namespaced_config_map(ns, cm_manifest("a"))
    with http.stream("GET", f"/api/v1/namespaces/{ns}/configmaps",
                     params={"watch": "1", "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan",
                             "allowWatchBookmarks": "true", "timeoutSeconds": "5"}) as resp:
        lines = resp.iter_lines()
        assert json.loads(next(lines))["type"] == "ADDED"
        assert json.loads(next(lines))["type"] == "BOOKMARK"
        core.create_namespaced_config_map(ns, cm_manifest("b"))
        event = json.loads(next(lines))
    assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "b")


def test_send_initial_events_without_not_older_than_is_rejected(http, ns):
    expect_http(http.get(f"/api/v1/namespaces/{ns}/configmaps",
                         params={"watch": "1", "sendInitialEvents": "true", "allowWatchBookmarks": "true"}),
                422, "Invalid")


def test_send_initial_events_with_empty_namespace_gives_only_the_bookmark(http, ns):
    events = watch_events(http, f"/api/v1/namespaces/{ns}/secrets",
                          {"sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan",
                           "allowWatchBookmarks": "true", "timeoutSeconds": "5"}, count=1)
    assert events[0]["type"] == "BOOKMARK"
    assert events[0]["object"]["metadata"]["annotations"] == {INITIAL_EVENTS_END: "true"}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_watch_path_takes_get_alone(http, ns, method):
    """/watch/ paths are GET only: another verb is a 405 at once, not an endless watch."""
    http.post(f"/api/v1/namespaces/{ns}/configmaps", json=cm_manifest("kept")).raise_for_status()
    for path in (f"/api/v1/watch/namespaces/{ns}/configmaps", f"/api/v1/watch/namespaces/{ns}/configmaps/kept",
                 f"/apis/coordination.k8s.io/v1/watch/namespaces/{ns}/leases"):
        expect_http(http.request(method, path, json={}, timeout=5), 405, "MethodNotAllowed")
    assert http.get(f"/api/v1/namespaces/{ns}/configmaps/kept").status_code == 200
