"""Raw HTTP watches: from a resourceVersion, without one, selector transitions, WatchList (sendInitialEvents)
and bookmarks, timeouts and bad parameters.

Events are compared by type and the object's identity and data (what the object holds is judged by the write
scenarios); BOOKMARK and ERROR objects are compared whole.
"""
from __future__ import annotations

from typing import Any

import pytest

from differ import Pair, Side

pytestmark = pytest.mark.differential


def event(e: dict[str, Any]) -> Any:
    obj = e.get("object") or {}
    if e.get("type") in ("BOOKMARK", "ERROR"):
        return e
    meta = obj.get("metadata", {})
    return {"type": e.get("type"), "kind": obj.get("kind"), "apiVersion": obj.get("apiVersion"),
            "name": meta.get("name"), "labels": meta.get("labels"), "data": obj.get("data")}


def configmap(s: Side, name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    """A ConfigMap with no empty maps in it (how those are stored is test_objects.py's question)."""
    meta: dict[str, Any] = {"name": name, **({"labels": labels} if labels else {})}
    return s.json("POST", f"/api/v1/namespaces/{s.ns}/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, **({"data": data} if data else {})})


def merge(s: Side, name: str, patch: dict[str, Any]) -> None:
    s.json("PATCH", f"/api/v1/namespaces/{s.ns}/configmaps/{name}", patch,
           content_type="application/merge-patch+json")


def test_watch_from_resource_version(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        rv = configmap(s, "a", k="1")["metadata"]["resourceVersion"]

        def writes() -> None:
            merge(s, "a", {"data": {"k": "2"}})
            configmap(s, "b", k="3")
            s.json("DELETE", f"/api/v1/namespaces/{s.ns}/configmaps/a")
        s.watch("events", f"/api/v1/namespaces/{s.ns}/configmaps", {"resourceVersion": rv}, count=3,
                after_open=writes, view=event)
    pair.run(scenario)


def test_watch_without_resource_version_starts_with_state(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        configmap(s, "b", k="1")
        configmap(s, "a", k="2")
        s.watch("events", f"/api/v1/namespaces/{s.ns}/configmaps", {}, count=3,
                after_open=lambda: configmap(s, "c", k="3"), view=event)
    pair.run(scenario)


def test_watch_label_selector_transitions(pair: Pair) -> None:
    """An object leaving the selection is DELETED for the watcher, one entering it is ADDED."""
    def scenario(s: Side) -> None:
        rv = configmap(s, "a", {"x": "1"})["metadata"]["resourceVersion"]

        def writes() -> None:
            merge(s, "a", {"metadata": {"labels": {"x": "2"}}})
            merge(s, "a", {"metadata": {"labels": {"x": "1"}}})
            configmap(s, "b", {"x": "2"})
            configmap(s, "c", {"x": "1"})
        s.watch("events", f"/api/v1/namespaces/{s.ns}/configmaps", {"resourceVersion": rv, "labelSelector": "x=1"},
                count=3, after_open=writes, view=event)
    pair.run(scenario)


def test_watch_one_object_by_field_selector(pair: Pair) -> None:
    """kubectl delete/wait watch one object as fieldSelector=metadata.name=NAME."""
    def scenario(s: Side) -> None:
        rv = configmap(s, "a")["metadata"]["resourceVersion"]

        def writes() -> None:
            configmap(s, "b")
            s.json("DELETE", f"/api/v1/namespaces/{s.ns}/configmaps/b")
            s.json("DELETE", f"/api/v1/namespaces/{s.ns}/configmaps/a")
        s.watch("events", f"/api/v1/namespaces/{s.ns}/configmaps",
                {"resourceVersion": rv, "fieldSelector": "metadata.name=a"}, count=1, after_open=writes, view=event)
    pair.run(scenario)


def test_watch_send_initial_events(pair: Pair) -> None:
    """WatchList: the state as ADDED events, then a BOOKMARK annotated k8s.io/initial-events-end."""
    def scenario(s: Side) -> None:
        configmap(s, "b")
        configmap(s, "a")
        s.watch("events", f"/api/v1/namespaces/{s.ns}/configmaps",
                {"sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan", "allowWatchBookmarks": "true"},
                until=lambda e: e["type"] == "BOOKMARK", view=event)
    pair.run(scenario)


@pytest.mark.parametrize("params", [
    {"sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan"},
    {"sendInitialEvents": "true", "allowWatchBookmarks": "true"},
    {"sendInitialEvents": "true", "resourceVersionMatch": "Exact", "allowWatchBookmarks": "true"},
    {"sendInitialEvents": "false", "resourceVersionMatch": "NotOlderThan", "allowWatchBookmarks": "true"},
], ids=["no-bookmarks", "no-match", "exact", "false-with-match"])
def test_watch_send_initial_events_invalid(pair: Pair, params: dict[str, str]) -> None:
    def scenario(s: Side) -> None:
        s.watch("watch", f"/api/v1/namespaces/{s.ns}/configmaps", {**params, "timeoutSeconds": "1"}, view=event)
    pair.run(scenario)


def test_watch_bookmark_before_timeout(pair: Pair) -> None:
    """With allowWatchBookmarks a watch gets a BOOKMARK before its timeoutSeconds ends it (2 s early upstream),
    so a reflector resumes from a recent resourceVersion."""
    def scenario(s: Side) -> None:
        rv = configmap(s, "a")["metadata"]["resourceVersion"]
        s.watch("events", f"/api/v1/namespaces/{s.ns}/configmaps",
                {"resourceVersion": rv, "allowWatchBookmarks": "true", "timeoutSeconds": "4"}, view=event)
    pair.run(scenario)


def test_watch_timeout_ends_quiet_stream(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        rv = configmap(s, "a")["metadata"]["resourceVersion"]
        s.watch("events", f"/api/v1/namespaces/{s.ns}/configmaps", {"resourceVersion": rv, "timeoutSeconds": "1"},
                view=event)
    pair.run(scenario)


@pytest.mark.parametrize("rv", ["abc", "-1", "900000000"])
def test_watch_bad_resource_version(pair: Pair, rv: str) -> None:
    def scenario(s: Side) -> None:
        s.watch("watch", f"/api/v1/namespaces/{s.ns}/configmaps", {"resourceVersion": rv, "timeoutSeconds": "5"},
                count=1, view=event)
    pair.run(scenario)


def test_watch_legacy_watch_path(pair: Pair) -> None:
    """/api/v1/watch/namespaces/NS/configmaps/NAME, the deprecated path older clients use."""
    def scenario(s: Side) -> None:
        rv = configmap(s, "a")["metadata"]["resourceVersion"]
        s.watch("events", f"/api/v1/watch/namespaces/{s.ns}/configmaps/a", {"resourceVersion": rv}, count=1,
                after_open=lambda: merge(s, "a", {"data": {"k": "v"}}), view=event)
    pair.run(scenario)
