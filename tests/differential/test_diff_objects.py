"""Object semantics over raw HTTP: what a write stores (defaults, admission, empty maps, generated names),
generation and resourceVersion bumps, what deletes answer, finalizers and dry runs.

Objects are compared whole except their managedFields (test_managed_fields.py judges those).
"""
from __future__ import annotations

from typing import Any

import pytest

from differ import Pair, Side, without_managed_fields as plain

pytestmark = pytest.mark.differential


def cms(s: Side) -> str:
    return f"/api/v1/namespaces/{s.ns}/configmaps"


def test_empty_maps_are_not_stored(pair: Pair) -> None:
    """Go drops empty maps (omitempty): labels {}, annotations {} and data {} come back absent."""
    def scenario(s: Side) -> None:
        s.request("create", "POST", cms(s), body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "a", "labels": {}, "annotations": {}}, "data": {}}, view=plain)
        s.request("get", "GET", f"{cms(s)}/a", view=plain)
    pair.run(scenario)


def test_empty_maps_of_a_custom_resource(pair: Pair) -> None:
    """A custom resource is stored as its JSON, its metadata as Go's ObjectMeta (upstream coerces it)."""
    def scenario(s: Side) -> None:
        path = f"/apis/flyte.lyft.com/v1alpha1/namespaces/{s.ns}/flyteworkflows"
        s.request("create", "POST", path, body={"apiVersion": "flyte.lyft.com/v1alpha1", "kind": "FlyteWorkflow",
                                                "metadata": {"name": "wf", "labels": {}, "annotations": {}},
                                                "spec": {"id": "x", "extra": {}}, "inputs": {}}, view=plain)
    pair.run(scenario)


def test_pod_defaults_and_admission(pair: Pair) -> None:
    """A minimal pod as stored: defaulting, and what admission adds (service-account token volume, default
    tolerations, priority)."""
    def scenario(s: Side) -> None:
        s.request("create", "POST", f"/api/v1/namespaces/{s.ns}/pods", body={
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "ports": [{"containerPort": 80}],
                                     "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}}}]}}, view=plain)
    pair.run(scenario)


def test_service_account_admission(pair: Pair) -> None:
    """What the ServiceAccount admission plugin does to a new pod: the token volume in init containers too, none
    when the account or the pod turns it off, the account's pull secrets, and a missing account refused."""
    def scenario(s: Side) -> None:
        pods, accounts = f"/api/v1/namespaces/{s.ns}/pods", f"/api/v1/namespaces/{s.ns}/serviceaccounts"
        s.json("POST", accounts, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "quiet"},
                                  "automountServiceAccountToken": False, "imagePullSecrets": [{"name": "reg"}]})

        def create(label: str, name: str, **spec: Any) -> None:
            s.request(label, "POST", pods, body={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                                                 "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}],
                                                          **spec}}, view=plain)
        create("init-containers", "init", initContainers=[{"name": "i", "image": "busybox:1.36"}])
        create("account-says-no", "quiet", serviceAccountName="quiet")
        create("pod-says-yes", "loud", serviceAccountName="quiet", automountServiceAccountToken=True)
        create("pod-says-no", "off", automountServiceAccountToken=False)
        create("deprecated-field", "old", serviceAccount="quiet")
        create("missing-account", "ghost", serviceAccountName="ghost")
    pair.run(scenario)


def test_pod_sysctls(pair: Pair) -> None:
    """Sysctl names: well-formed ones stored, malformed, repeated and host-shared-namespace ones refused."""
    def scenario(s: Side) -> None:
        def create(label: str, names: list[str], **spec: Any) -> None:
            s.request(label, "POST", f"/api/v1/namespaces/{s.ns}/pods", view=plain, body={
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": label},
                "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}], **spec,
                         "securityContext": {"sysctls": [{"name": n, "value": "1"} for n in names]}}})
        create("valid", ["kernel.shm_rmid_forced", "net/ipv4/ip_forward"])
        create("invalid", ["foo-", "bar..", "kernel.msgmax", "kernel.msgmax"])
        create("host-network", ["net.core.somaxconn"], hostNetwork=True)
    pair.run(scenario)


def test_service_defaults(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.request("cluster-ip", "POST", f"/api/v1/namespaces/{s.ns}/services", body={
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}}, view=plain)
        s.request("headless", "POST", f"/api/v1/namespaces/{s.ns}/services", body={
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "headless"},
            "spec": {"clusterIP": "None", "ports": [{"port": 53, "protocol": "UDP"}]}}, view=plain)
        s.request("node-port", "POST", f"/api/v1/namespaces/{s.ns}/services", body={
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "np"},
            "spec": {"type": "NodePort", "ports": [{"port": 80}]}},
            view=lambda b: {**plain(b), "spec": {**b["spec"], "ports": [{**p, "nodePort": "<port>"}
                                                                     for p in b["spec"]["ports"]]}})
    pair.run(scenario)


def test_service_allocation(pair: Pair) -> None:
    """Requested cluster IPs and node ports: given once, refused when taken, outside the range or malformed, and
    free again once their service is deleted. (Values from the start of each range, which random picks avoid.)"""
    def scenario(s: Side) -> None:
        path = f"/api/v1/namespaces/{s.ns}/services"

        def create(label: str, name: str, **spec: Any) -> None:
            spec.setdefault("ports", [{"port": 80}])
            s.request(label, "POST", path, view=plain,
                      body={"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec})
        create("ip", "a", clusterIP="10.96.0.200")
        create("ip-taken", "b", clusterIP="10.96.0.200")
        create("ip-out-of-range", "c", clusterIP="10.0.0.5")
        create("ip-network-address", "d", clusterIP="10.96.0.0")
        create("ip-malformed", "e", clusterIP="abc")
        create("ip-v6", "f", clusterIP="fd00::5")
        s.json("DELETE", f"{path}/a")
        create("ip-released", "b", clusterIP="10.96.0.200")
        create("node-port", "np", type="NodePort", ports=[{"port": 80, "nodePort": 30010}])
        create("node-port-taken", "np2", type="NodePort", ports=[{"port": 80, "nodePort": 30010}])
        create("node-port-out-of-range", "np3", type="NodePort", ports=[{"port": 80, "nodePort": 80}])
    pair.run(scenario)


def test_generate_name(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.request("create", "POST", cms(s), body={"apiVersion": "v1", "kind": "ConfigMap",
                                                  "metadata": {"generateName": "gen-"}}, view=plain)
        s.request("too-long-prefix", "POST", cms(s), body={"apiVersion": "v1", "kind": "ConfigMap",
                                                           "metadata": {"generateName": "x" * 70}}, view=plain)
    pair.run(scenario)


def test_generation_and_resource_version(pair: Pair) -> None:
    """generation bumps on spec changes only; a write that changes nothing keeps the resourceVersion."""
    def scenario(s: Side) -> None:
        path = f"/api/v1/namespaces/{s.ns}/services"
        created = s.json("POST", path, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                                        "spec": {"ports": [{"port": 80}]}})

        def patch(label: str, body: dict[str, Any]) -> dict[str, Any]:
            return s.request(label, "PATCH", f"{path}/web", body=body, content_type="application/merge-patch+json",
                             view=lambda b: {"generation": b["metadata"].get("generation")}).json()
        spec = patch("spec-change", {"spec": {"ports": [{"port": 81}]}})
        labels = patch("label-change", {"metadata": {"labels": {"a": "b"}}})
        same = patch("no-change", {"metadata": {"labels": {"a": "b"}}})
        versions = [o["metadata"]["resourceVersion"] for o in (created, spec, labels, same)]
        s.record("resource-versions", {"label change bumps": versions[2] != versions[1],
                                       "no-op keeps": versions[3] == versions[2]})
    pair.run(scenario)


def test_delete_answers(pair: Pair) -> None:
    """What each delete returns: the object (or a Status), and the state it leaves."""
    def scenario(s: Side) -> None:
        for name in ("a", "b", "c"):
            s.json("POST", cms(s), {"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": name, "labels": {"group": "x" if name != "a" else "y"}}})
        s.json("POST", f"/api/v1/namespaces/{s.ns}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}})
        s.request("configmap", "DELETE", f"{cms(s)}/a", view=plain)
        s.request("collection", "DELETE", cms(s), params={"labelSelector": "group=x"}, view=plain)
        s.request("unscheduled-pod", "DELETE", f"/api/v1/namespaces/{s.ns}/pods/p", view=plain)
        s.request("pod-gone", "GET", f"/api/v1/namespaces/{s.ns}/pods/p")
        s.request("orphan", "DELETE", f"{cms(s)}/missing", body={"propagationPolicy": "Orphan"})
    pair.run(scenario)


def test_finalizer_holds_deletion(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.json("POST", cms(s), {"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
        s.request("delete", "DELETE", f"{cms(s)}/held", view=plain)
        s.request("still-there", "GET", f"{cms(s)}/held", view=plain)
        s.request("add-finalizer-while-deleting", "PATCH", f"{cms(s)}/held", content_type="application/json-patch+json",
                  body=[{"op": "add", "path": "/metadata/finalizers/-", "value": "example.com/more"}])
        s.request("release", "PATCH", f"{cms(s)}/held", content_type="application/merge-patch+json",
                  body={"metadata": {"finalizers": None}}, view=plain)
        s.request("gone", "GET", f"{cms(s)}/held")
    pair.run(scenario)


def test_dry_run(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry"}, "data": {"k": "v"}}
        s.request("create", "POST", cms(s), body=cm, params={"dryRun": "All"}, view=plain)
        s.request("not-stored", "GET", f"{cms(s)}/dry")
        s.json("POST", cms(s), cm)
        s.request("delete", "DELETE", f"{cms(s)}/dry", params={"dryRun": "All"}, view=plain)
        s.request("still-stored", "GET", f"{cms(s)}/dry", view=plain)
    pair.run(scenario)


def test_namespace_delete(pair: Pair) -> None:
    """Deleting a namespace answers it Terminating, with the kubernetes finalizer still in its spec."""
    def scenario(s: Side) -> None:
        other = f"{s.ns}-x"
        s.json("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other}})
        s.request("delete", "DELETE", f"/api/v1/namespaces/{other}", view=plain)
    pair.run(scenario)


def test_status_patch_may_change_metadata_of_built_in_kinds(pair: Pair) -> None:
    """namespaces/status and pods/status take the labels and annotations a patch sets (a conformance spec patches
    a namespace's status with an annotation); pods/status keeps the owners."""
    def scenario(s: Side) -> None:
        s.request("namespace", "PATCH", f"/api/v1/namespaces/{s.ns}/status",
                  content_type="application/merge-patch+json",
                  body={"metadata": {"annotations": {"e2e-patched": "yes"}},
                        "status": {"conditions": [{"type": "StatusPatch", "status": "True", "reason": "E2E",
                                                   "message": "patched"}]}},
                  view=lambda ns: (ns["metadata"].get("annotations"), ns["status"]))
        s.request(None, "POST", f"/api/v1/namespaces/{s.ns}/pods", body={
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}})
        s.request("pod", "PATCH", f"/api/v1/namespaces/{s.ns}/pods/p/status",
                  content_type="application/merge-patch+json",
                  body={"metadata": {"labels": {"a": "b"}, "ownerReferences": [
                      {"apiVersion": "v1", "kind": "ConfigMap", "name": "c", "uid": "1"}]}},
                  view=lambda pod: (pod["metadata"].get("labels"), pod["metadata"].get("ownerReferences")))
    pair.run(scenario)
