"""Every kind of write, and the object it leaves, managedFields included: POST, PUT, the three patch types,
server-side apply (shared ownership, conflicts, force) and the status subresource.

Each write's response is recorded whole, so managers, operations, subresources and fieldsV1 sets are compared
after each step.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from differ import Pair, Side

pytestmark = pytest.mark.differential

APPLY = "application/apply-patch+yaml"


def test_managed_fields_after_every_write(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        path = f"/api/v1/namespaces/{s.ns}/configmaps"
        created = s.request("post", "POST", path, params={"fieldManager": "creator"}, body={
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"x": "1"}},
            "data": {"k": "v"}}).json()
        s.request("put", "PUT", f"{path}/a", params={"fieldManager": "updater"},
                  body={**created, "data": {"k": "v", "put": "1"}})
        s.request("merge", "PATCH", f"{path}/a", params={"fieldManager": "merger"}, body={"data": {"merge": "1"}},
                  content_type="application/merge-patch+json")
        s.request("strategic", "PATCH", f"{path}/a", params={"fieldManager": "strategist"},
                  body={"metadata": {"labels": {"y": "2"}}}, content_type="application/strategic-merge-patch+json")
        s.request("json", "PATCH", f"{path}/a", params={"fieldManager": "jsonpatcher"},
                  body=[{"op": "add", "path": "/data/json", "value": "1"}], content_type="application/json-patch+json")
        s.request("apply", "PATCH", f"{path}/a", params={"fieldManager": "applier"}, content_type=APPLY,
                  content=json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
                                      "data": {"applied": "1", "k": "v"}}).encode())
        s.request("user-agent-manager", "PATCH", f"{path}/a", body={"data": {"agent": "1"}},
                  content_type="application/merge-patch+json")
        s.request("no-op", "PATCH", f"{path}/a", params={"fieldManager": "idle"}, body={"data": {"agent": "1"}},
                  content_type="application/merge-patch+json")
    pair.run(scenario)


def test_server_side_apply_ownership(pair: Pair) -> None:
    """Two appliers: shared fields, a conflict (409 naming the owner), force, and releasing a field."""
    def scenario(s: Side) -> None:
        path = f"/api/v1/namespaces/{s.ns}/configmaps/a"

        def apply(label: str, manager: str, data: dict[str, str], **params: str) -> None:
            s.request(label, "PATCH", path, content_type=APPLY, params={"fieldManager": manager, **params},
                      content=json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
                                          "data": data}).encode())
        apply("first", "one", {"shared": "s", "mine": "1"})
        apply("shared", "two", {"shared": "s", "theirs": "2"})
        apply("conflict", "two", {"shared": "changed"})
        apply("force", "two", {"shared": "changed"}, force="true")
        apply("release", "one", {"mine": "1"})
        apply("dry-run", "three", {"new": "3"}, dryRun="All")
        s.request("stored", "GET", path)
    pair.run(scenario)


def test_managed_fields_of_service_ports(pair: Pair) -> None:
    """List-map keys (k:{"port":80,"protocol":"TCP"}), "." entries, and server-defaulted fields left unowned
    (issue 10: managedFields content)."""
    def scenario(s: Side) -> None:
        path = f"/api/v1/namespaces/{s.ns}/services/web"
        s.request("apply", "PATCH", path, content_type=APPLY, params={"fieldManager": "deployer"},
                  content=json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                                      "spec": {"selector": {"app": "web"},
                                               "ports": [{"name": "http", "port": 80, "targetPort": 8080},
                                                         {"name": "dns", "port": 53, "protocol": "UDP"}]}}).encode())
        s.request("post", "POST", f"/api/v1/namespaces/{s.ns}/services", params={"fieldManager": "poster"}, body={
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "posted"},
            "spec": {"ports": [{"port": 443}]}})
    pair.run(scenario)


def test_managed_fields_of_pod_containers(pair: Pair) -> None:
    """Containers keyed by name, env by name, ports by containerPort+protocol; then a status update."""
    def scenario(s: Side) -> None:
        pods = f"/api/v1/namespaces/{s.ns}/pods"
        created = s.request("apply", "PATCH", f"{pods}/p", content_type=APPLY, params={"fieldManager": "deployer"},
                            content=json.dumps({
                                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                "spec": {"containers": [{
                                    "name": "c", "image": "busybox:1.36", "env": [{"name": "A", "value": "1"}],
                                    "ports": [{"containerPort": 80}]}]}}).encode()).json()
        status = {**created, "status": {**created.get("status", {}), "message": "hello", "phase": "Pending"}}
        s.request("status", "PUT", f"{pods}/p/status", params={"fieldManager": "kubelet"}, body=status)
    pair.run(scenario)


def test_managed_fields_reset(pair: Pair) -> None:
    """An update with managedFields [{}] clears them; one without leaves them as they were."""
    def scenario(s: Side) -> None:
        path = f"/api/v1/namespaces/{s.ns}/configmaps"
        created = s.json("POST", path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
                                        "data": {"k": "v"}}, params={"fieldManager": "creator"})
        meta = {k: v for k, v in created["metadata"].items() if k != "managedFields"}
        kept = s.request("omitted", "PUT", f"{path}/a", params={"fieldManager": "updater"},
                         body={**created, "metadata": meta, "data": {"k": "w"}}).json()
        s.request("cleared", "PUT", f"{path}/a", body={**kept, "metadata": {**kept["metadata"],
                                                                            "managedFields": [{}]}})
    pair.run(scenario)


def test_managed_fields_of_a_created_pod(pair: Pair) -> None:
    """The creator owns what it sent and what decoding defaulted (restartPolicy, a container's
    terminationMessagePath, resources {}), not what admission and the registry add afterwards (service
    account, tolerations, priority, status)."""
    def scenario(s: Side) -> None:
        s.request("create", "POST", f"/api/v1/namespaces/{s.ns}/pods", params={"fieldManager": "creator"}, body={
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "p"}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "args": ["sleep", "1"],
                                     "ports": [{"containerPort": 80}]}]}},
                  view=lambda b: b["metadata"].get("managedFields"))
    pair.run(scenario)


def test_managed_fields_a_write_sets(pair: Pair) -> None:
    """A write's managedFields replace the stored ones when they decode; ones that do not decode are ignored;
    ones that decode but fail validation (a manager name over 128 bytes) are refused."""
    def scenario(s: Side) -> None:
        path = f"/api/v1/namespaces/{s.ns}/configmaps"
        created = s.json("POST", path, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
                                        "data": {"k": "v"}}, params={"fieldManager": "creator"})

        def put(label: str, entries: list[dict[str, Any]]) -> None:
            s.request(label, "PUT", f"{path}/a", params={"fieldManager": "updater"},
                      body={**created, "metadata": {**created["metadata"], "resourceVersion": None,
                                                    "managedFields": entries}})
        entry = {"manager": "someone", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:data": {"f:k": {}}}}
        put("undecodable", [{**entry, "operation": "Delete"}])
        put("bad-fields", [{**entry, "fieldsV1": {"x:nope": {}}}])
        put("too-long", [{**entry, "manager": "m" * 129}])
        s.request("too-long-create", "POST", path, params={"fieldManager": "creator"}, body={
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "b", "managedFields": [{**entry, "manager": "m" * 129}]}})
        put("replaced", [entry])
    pair.run(scenario)


def test_managed_fields_of_a_custom_resource(pair: Pair) -> None:
    """A schemaless custom resource (FlyteWorkflow preserves unknown fields): maps are owned key by key, lists
    as one value, and a create marks the maps it made (spec included: it has no Go struct)."""
    def scenario(s: Side) -> None:
        path = f"/apis/flyte.lyft.com/v1alpha1/namespaces/{s.ns}/flyteworkflows"
        s.request("create", "POST", path, params={"fieldManager": "creator"}, body={
            "apiVersion": "flyte.lyft.com/v1alpha1", "kind": "FlyteWorkflow", "metadata": {"name": "wf"},
            "spec": {"id": "x", "nodes": {"start": {"kind": "start"}}, "edges": ["a", "b"]}},
                  view=lambda b: b["metadata"].get("managedFields"))
        s.request("apply", "PATCH", f"{path}/wf", content_type=APPLY, params={"fieldManager": "applier"},
                  content=json.dumps({"apiVersion": "flyte.lyft.com/v1alpha1", "kind": "FlyteWorkflow",
                                      "metadata": {"name": "wf"},
                                      "spec": {"nodes": {"end": {"kind": "end"}}, "edges": ["a", "b"]}}).encode(),
                  view=lambda b: {"spec": b.get("spec"), "managedFields": b["metadata"].get("managedFields")})
    pair.run(scenario)
