"""The built-in kinds beyond core: PriorityClass, PodDisruptionBudget, Ingress, IngressClass, NetworkPolicy,
RuntimeClass, FlowSchema, PriorityLevelConfiguration and APIService. What a valid object is stored as (its
defaults), what an invalid one is refused with (every cause), how `kubectl get -o wide` shows them, the objects
every cluster starts with, and what admission does to pods naming a PriorityClass or a RuntimeClass.

Cluster-scoped objects are named after the scenario's namespace, so that scenarios never share them; a scenario
that creates a default (PriorityClass, IngressClass) deletes it before it ends.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from differ import Pair, Side, without_managed_fields as plain
from harness import wait_for

pytestmark = pytest.mark.differential

Obj = dict[str, Any]
PCS = "/apis/scheduling.k8s.io/v1/priorityclasses"
RCS = "/apis/node.k8s.io/v1/runtimeclasses"
FLOWCONTROL = "/apis/flowcontrol.apiserver.k8s.io/v1"
APISERVICES = "/apis/apiregistration.k8s.io/v1/apiservices"


def pdbs(s: Side) -> str:
    return f"/apis/policy/v1/namespaces/{s.ns}/poddisruptionbudgets"


def networking(s: Side, plural: str) -> str:
    return f"/apis/networking.k8s.io/v1/namespaces/{s.ns}/{plural}"


def obj(api_version: str, kind: str, name: str, **fields: Any) -> Obj:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, **fields}


def pod(name: str, **spec: Any) -> Obj:
    return obj("v1", "Pod", name, spec={"containers": [{"name": "c", "image": "busybox:1.36"}], **spec})


def admitted(body: Obj) -> Obj:
    """What the Priority and RuntimeClass plugins decide in a pod (the rest of a pod is judged elsewhere)."""
    spec = body.get("spec") or {}
    keys = ("priority", "priorityClassName", "preemptionPolicy", "runtimeClassName", "overhead", "nodeSelector",
            "tolerations")
    return {k: spec[k] for k in keys if k in spec}


def items(body: Obj) -> list[Obj]:
    """A list's items as stored, without the apiVersion and kind kubeshim's list items carry (upstream's have
    neither: a difference of every list, not of these kinds)."""
    return [{k: v for k, v in plain(item).items() if k not in ("apiVersion", "kind")} for item in body["items"]]


def kubectl_kind(s: Side, label: str, manifest: Obj, kind: str, name: str, namespaced: bool) -> None:
    """Apply a manifest with kubectl, then read it back as kubectl shows it (wide) and as stored (JSON)."""
    namespace = ["-n", s.ns] if namespaced else []
    s.kubectl(f"{label}-apply", *namespace, "apply", "-f", "-", input=json.dumps(manifest))
    s.kubectl(f"{label}-wide", *namespace, "get", kind, name, "-o", "wide", parse="table")
    s.kubectl(f"{label}-json", *namespace, "get", kind, name, "-o", "json", parse="json")
    s.kubectl(None, *namespace, "delete", kind, name)


@pytest.mark.parametrize("kind", ["priorityclass", "poddisruptionbudget", "ingress", "ingressclass",
                                  "networkpolicy", "runtimeclass", "flowschema", "prioritylevelconfiguration",
                                  "apiservice"])
def test_kubectl_apply_and_get_wide(pair: Pair, kind: str) -> None:
    """A valid object of each kind through kubectl: applied, shown wide, stored with its defaults."""
    def scenario(s: Side) -> None:
        n = f"{s.ns}-x"
        manifests: dict[str, tuple[Obj, str, bool]] = {
            "priorityclass": (obj("scheduling.k8s.io/v1", "PriorityClass", n, value=1000, description="high"),
                              n, False),
            "poddisruptionbudget": (obj("policy/v1", "PodDisruptionBudget", "pdb", spec={
                "maxUnavailable": "25%", "selector": {"matchLabels": {"app": "web"},
                                                      "matchExpressions": [{"key": "tier", "operator": "Exists"}]}}),
                "pdb", True),
            "ingress": (obj("networking.k8s.io/v1", "Ingress", "web", spec={
                "rules": [{"host": "a.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                    "service": {"name": "web", "port": {"number": 80}}}}]}}, {"host": "b.example.com"},
                    {"host": "*.c.example.com"}, {"host": "d.example.com"}],
                "tls": [{"hosts": ["a.example.com"], "secretName": "tls"}]}), "web", True),
            "ingressclass": (obj("networking.k8s.io/v1", "IngressClass", n, spec={
                "controller": "example.com/ingress", "parameters": {"apiGroup": "k8s.example.com", "kind": "Params",
                                                                    "name": "p"}}), n, False),
            "networkpolicy": (obj("networking.k8s.io/v1", "NetworkPolicy", "deny", spec={
                "podSelector": {"matchLabels": {"app": "web"}},
                "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
                            "ports": [{"port": 53}, {"port": 8000, "endPort": 8080}]}]}), "deny", True),
            "runtimeclass": (obj("node.k8s.io/v1", "RuntimeClass", n, handler="runc",
                                 overhead={"podFixed": {"cpu": "100m"}}), n, False),
            "flowschema": (obj("flowcontrol.apiserver.k8s.io/v1", "FlowSchema", n, spec={
                "priorityLevelConfiguration": {"name": "workload-low"}, "distinguisherMethod": {"type": "ByUser"},
                "rules": [{"subjects": [{"kind": "User", "user": {"name": "alice"}}],
                           "resourceRules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"],
                                              "namespaces": ["*"]}]}]}), n, False),
            "prioritylevelconfiguration": (obj("flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfiguration", n,
                                               spec={"type": "Limited", "limited": {"limitResponse": {
                                                   "type": "Queue", "queuing": {"queues": 16}}}}), n, False),
            "apiservice": (obj("apiregistration.k8s.io/v1", "APIService", f"v1.{n}.example.com", spec={
                "group": f"{n}.example.com", "version": "v1", "groupPriorityMinimum": 100, "versionPriority": 10}),
                f"v1.{n}.example.com", False),
        }
        manifest, name, namespaced = manifests[kind]
        kubectl_kind(s, kind, manifest, kind, name, namespaced)
    pair.run(scenario)


def test_objects_every_cluster_has(pair: Pair) -> None:
    """The system PriorityClasses and the bootstrap FlowSchemas and priority levels, as kubectl lists them."""
    def scenario(s: Side) -> None:
        s.kubectl("priorityclasses", "get", "priorityclasses", "-o", "wide", parse="table")
        s.request("system-node-critical", "GET", f"{PCS}/system-node-critical", view=plain)
        s.kubectl("flowschemas", "get", "flowschemas", "-o", "wide", parse="table")
        s.kubectl("prioritylevels", "get", "prioritylevelconfigurations", "-o", "wide", parse="table")
        s.request("flowschema-list", "GET", f"{FLOWCONTROL}/flowschemas", view=items)
        s.request("prioritylevel-list", "GET", f"{FLOWCONTROL}/prioritylevelconfigurations", view=items)
    pair.run(scenario)


def test_local_apiservices(pair: Pair) -> None:
    """The local APIServices of the group versions both servers serve (kubeshim lists only what it serves)."""
    served = [{a["metadata"]["name"] for a in c.get(APISERVICES).json()["items"]} for c in pair.clients]
    common = sorted(served[0] & served[1])

    def scenario(s: Side) -> None:
        s.kubectl("wide", "get", "apiservices", *common, "-o", "wide", parse="table")
        s.request("policy", "GET", f"{APISERVICES}/v1.policy", view=plain)
        s.request("core", "GET", f"{APISERVICES}/v1.", view=plain)
        s.request("custom-resources", "GET", f"{APISERVICES}/v1alpha1.flyte.lyft.com", view=plain)
    pair.run(scenario)


def test_priority_class_rules(pair: Pair) -> None:
    """Reserved names and values, the one default, immutable value and policy, undeletable system classes."""
    def scenario(s: Side) -> None:
        n = f"{s.ns}-pc"
        pc = "scheduling.k8s.io/v1"
        s.request("reserved-name", "POST", PCS, body=obj(pc, "PriorityClass", "system-mine", value=5))
        s.request("system-wrong-value", "POST", PCS, body=obj(pc, "PriorityClass", "system-node-critical", value=5,
                                                              globalDefault=True))
        s.request("too-high", "POST", PCS, body=obj(pc, "PriorityClass", n, value=1_000_000_001,
                                                    preemptionPolicy="Sometimes"))
        s.request("created", "POST", PCS, body=obj(pc, "PriorityClass", n, value=10, globalDefault=True),
                  view=plain)
        s.request("second-default", "POST", PCS, body=obj(pc, "PriorityClass", f"{n}-2", value=20,
                                                          globalDefault=True))
        s.request("value-change", "PATCH", f"{PCS}/{n}", body={"value": 11, "preemptionPolicy": "Never"},
                  content_type="application/merge-patch+json")
        s.request("description-change", "PATCH", f"{PCS}/{n}", body={"description": "d"},
                  content_type="application/merge-patch+json", view=plain)
        s.request("delete", "DELETE", f"{PCS}/{n}", view=plain)
        s.request("delete-system", "DELETE", f"{PCS}/system-cluster-critical")
    pair.run(scenario)


def test_pod_priority_admission(pair: Pair) -> None:
    """A pod's priority comes from its PriorityClass (or 0); an unknown class or a contradicting priority is
    refused."""
    def scenario(s: Side) -> None:
        n = f"{s.ns}-pc"
        s.json("POST", PCS, obj("scheduling.k8s.io/v1", "PriorityClass", n, value=500, preemptionPolicy="Never"))
        pods = f"/api/v1/namespaces/{s.ns}/pods"
        s.request("no-class", "POST", pods, body=pod("a"), view=admitted)
        s.request("class", "POST", pods, body=pod("b", priorityClassName=n), view=admitted)
        s.request("system-class", "POST", pods, body=pod("c", priorityClassName="system-node-critical"),
                  view=admitted)
        s.request("unknown-class", "POST", pods, body=pod("d", priorityClassName="nothing"))
        s.request("contradicting-priority", "POST", pods, body=pod("e", priorityClassName=n, priority=7))
        s.request("contradicting-policy", "POST", pods, body=pod("f", priorityClassName=n,
                                                                 preemptionPolicy="PreemptLowerPriority"))
        s.request("matching-priority", "POST", pods, body=pod("g", priorityClassName=n, priority=500),
                  view=admitted)
        s.json("DELETE", f"{PCS}/{n}")
    pair.run(scenario)


def test_pod_runtime_class_admission(pair: Pair) -> None:
    """A pod naming a RuntimeClass: refused when it does not exist; its overhead and scheduling copied in."""
    def scenario(s: Side) -> None:
        n = f"{s.ns}-rc"
        s.json("POST", RCS, obj("node.k8s.io/v1", "RuntimeClass", n, handler="runc",
                                overhead={"podFixed": {"cpu": "250m", "memory": "64Mi"}},
                                scheduling={"nodeSelector": {"runtime": "fast"},
                                            "tolerations": [{"key": "runtime", "operator": "Exists"}]}))
        pods = f"/api/v1/namespaces/{s.ns}/pods"
        s.request("missing-class", "POST", pods, body=pod("a", runtimeClassName="nothing"))
        s.request("with-class", "POST", pods, body=pod("b", runtimeClassName=n), view=admitted)
        s.request("selector-conflict", "POST", pods, body=pod("c", runtimeClassName=n,
                                                              nodeSelector={"runtime": "slow"}))
        s.request("overhead-without-class", "POST", pods, body=pod("d", overhead={"cpu": "1"}))
        s.json("DELETE", f"{RCS}/{n}")
    pair.run(scenario)


def test_pod_disruption_budget_rules(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        pdb = "policy/v1"
        s.request("both", "POST", pdbs(s), body=obj(pdb, "PodDisruptionBudget", "both", spec={
            "minAvailable": 1, "maxUnavailable": "150%", "selector": {"matchLabels": {"a": "b"}}}))
        s.request("bad-selector", "POST", pdbs(s), body=obj(pdb, "PodDisruptionBudget", "sel", spec={
            "minAvailable": -1, "selector": {"matchLabels": {"a b": "c"}, "matchExpressions": [
                {"key": "x", "operator": "In"}, {"key": "y", "operator": "Bogus", "values": ["v"]},
                {"key": "z", "operator": "Exists", "values": ["q"]}]}, "unhealthyPodEvictionPolicy": "Never"}))
        s.request("bad-percent", "POST", pdbs(s), body=obj(pdb, "PodDisruptionBudget", "pct",
                                                          spec={"minAvailable": "abc"}))
        s.request("created", "POST", pdbs(s), body=obj(pdb, "PodDisruptionBudget", "ok", spec={
            "minAvailable": "50%"}, status={"disruptionsAllowed": 3}), view=plain)
        s.request("spec-change", "PATCH", f"{pdbs(s)}/ok", body={"spec": {"minAvailable": 2}},
                  content_type="application/merge-patch+json", view=plain)
        s.request("status", "PATCH", f"{pdbs(s)}/ok/status", body={"status": {"disruptionsAllowed": 1,
                                                                              "expectedPods": 2}},
                  content_type="application/merge-patch+json", view=plain)
        s.request("negative-status", "PATCH", f"{pdbs(s)}/ok/status", body={"status": {"currentHealthy": -1}},
                  content_type="application/merge-patch+json")
        s.kubectl("wide", "-n", s.ns, "get", "pdb", "-o", "wide", parse="table")
    pair.run(scenario)


def test_ingress_rules(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        ing = "networking.k8s.io/v1"
        path = networking(s, "ingresses")
        s.request("empty", "POST", path, body=obj(ing, "Ingress", "empty", spec={}))
        s.request("bad-rules", "POST", path, body=obj(ing, "Ingress", "bad", metadata={
            "name": "bad", "annotations": {"kubernetes.io/ingress.class": "a"}}, spec={
            "ingressClassName": "b", "rules": [
                {"host": "1.2.3.4", "http": {"paths": [
                    {"path": "rel", "pathType": "Prefix", "backend": {"service": {"name": "Web", "port": {}}}},
                    {"path": "/a//b/..", "pathType": "Exact", "backend": {"service": {"name": "w", "port": {
                        "name": "http", "number": 80}}}},
                    {"path": "/", "backend": {}},
                    {"path": "/", "pathType": "Sometimes", "backend": {
                        "resource": {"kind": "K", "name": "n"}, "service": {"name": "w"}}}]}},
                {"host": "*.*.example.com", "http": {"paths": []}}],
            "tls": [{"hosts": ["Bad_Host"], "secretName": "Bad"}]}))
        s.request("class-annotation", "POST", path, body={**obj(ing, "Ingress", "legacy", spec={
            "defaultBackend": {"service": {"name": "web", "port": {"name": "http"}}}}),
            "metadata": {"name": "legacy", "annotations": {"kubernetes.io/ingress.class": "nginx"}}}, view=plain)
        s.request("status", "PUT", f"{path}/legacy/status", body={
            **s.json("GET", f"{path}/legacy"), "status": {"loadBalancer": {"ingress": [
                {"ip": "192.0.2.1"}, {"hostname": "lb.example.com"}]}}}, view=plain)
        s.request("bad-status", "PATCH", f"{path}/legacy/status", body={"status": {"loadBalancer": {"ingress": [
            {"ip": "nope"}, {"hostname": "10.0.0.1"}]}}}, content_type="application/merge-patch+json")
        s.kubectl("wide", "-n", s.ns, "get", "ingress", "-o", "wide", parse="table")
    pair.run(scenario)


def test_default_ingress_class(pair: Pair) -> None:
    """The DefaultIngressClass plugin names the default class in an Ingress that names none."""
    def scenario(s: Side) -> None:
        n = f"{s.ns}-default"
        classes = "/apis/networking.k8s.io/v1/ingressclasses"
        s.request("class", "POST", classes, body={**obj("networking.k8s.io/v1", "IngressClass", n, spec={
            "controller": "example.com/ingress"}), "metadata": {"name": n, "annotations": {
                "ingressclass.kubernetes.io/is-default-class": "true"}}}, view=plain)
        s.request("defaulted", "POST", networking(s, "ingresses"), body=obj(
            "networking.k8s.io/v1", "Ingress", "web", spec={"defaultBackend": {"service": {
                "name": "web", "port": {"number": 80}}}}), view=lambda b: b["spec"])
        s.json("DELETE", f"{classes}/{n}")
    pair.run(scenario)


def test_ingress_class_rules(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        n = f"{s.ns}-ic"
        classes = "/apis/networking.k8s.io/v1/ingressclasses"
        ic = "networking.k8s.io/v1"
        s.request("no-controller", "POST", classes, body=obj(ic, "IngressClass", n, spec={}))
        s.request("bad-controller", "POST", classes, body=obj(ic, "IngressClass", n, spec={
            "controller": "nodomain", "parameters": {"kind": "", "name": "a/b", "scope": "Namespace"}}))
        s.request("bad-scope", "POST", classes, body=obj(ic, "IngressClass", n, spec={
            "controller": "Bad_Host/x", "parameters": {"kind": "K", "name": "n", "scope": "Galaxy",
                                                       "namespace": "ns"}}))
        s.request("cluster-with-namespace", "POST", classes, body=obj(ic, "IngressClass", n, spec={
            "controller": "example.com/x", "parameters": {"kind": "K", "name": "n", "namespace": "ns"}}))
        s.request("created", "POST", classes, body=obj(ic, "IngressClass", n, spec={
            "controller": "example.com/x", "parameters": {"kind": "K", "name": "n"}}), view=plain)
        s.request("controller-change", "PATCH", f"{classes}/{n}", body={"spec": {"controller": "example.com/y"}},
                  content_type="application/merge-patch+json")
        s.json("DELETE", f"{classes}/{n}")
    pair.run(scenario)


def test_network_policy_rules(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        np = "networking.k8s.io/v1"
        path = networking(s, "networkpolicies")
        s.request("invalid", "POST", path, body=obj(np, "NetworkPolicy", "bad", spec={
            "podSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]},
            "ingress": [{"ports": [{"protocol": "ICMP", "port": 0}, {"port": "http", "endPort": 90},
                                   {"endPort": 3}, {"port": 90, "endPort": 80}],
                         "from": [{}, {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16", "10.0.0.0/8"]},
                                       "podSelector": {}}, {"ipBlock": {"cidr": "nope"}}]}],
            "policyTypes": ["Ingress", "Sideways"]}))
        s.request("defaults", "POST", path, body=obj(np, "NetworkPolicy", "ok", spec={
            "podSelector": {}, "ingress": [{"ports": [{"port": 80}]}],
            "egress": [{"to": [{"ipBlock": {"cidr": "10.1.2.3/8"}}]}]}), view=plain)
        s.request("update-invalid", "PATCH", f"{path}/ok", body={"spec": {"policyTypes": ["Up"]}},
                  content_type="application/merge-patch+json")
        s.kubectl("wide", "-n", s.ns, "get", "networkpolicies", "-o", "wide", parse="table")
    pair.run(scenario)


def test_runtime_class_rules(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        n = f"{s.ns}-rc"
        rc = "node.k8s.io/v1"
        s.request("unknown-resource", "POST", RCS, body=obj(rc, "RuntimeClass", n, handler="runc",
                                                            overhead={"podFixed": {"gpus": "1"}}))
        s.request("invalid", "POST", RCS, body=obj(rc, "RuntimeClass", n, handler="Not.A.Label",
                                                   overhead={"podFixed": {"cpu": "-1"}},
                                                   scheduling={"nodeSelector": {"a b": "c"}, "tolerations": [
                                                       {"operator": "Equal", "value": "v"},
                                                       {"key": "k", "operator": "Exists", "value": "v",
                                                        "tolerationSeconds": 5, "effect": "NoSchedule"},
                                                       {"key": "k", "operator": "Exists", "value": "v",
                                                        "tolerationSeconds": 5, "effect": "NoSchedule"}]}))
        s.request("created", "POST", RCS, body=obj(rc, "RuntimeClass", n, handler="runc"), view=plain)
        s.request("handler-change", "PATCH", f"{RCS}/{n}", body={"handler": "crun"},
                  content_type="application/merge-patch+json")
        s.json("DELETE", f"{RCS}/{n}")
    pair.run(scenario)


def test_flow_schema_rules(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        n = f"{s.ns}-fs"
        fc = "flowcontrol.apiserver.k8s.io/v1"
        path = f"{FLOWCONTROL}/flowschemas"
        s.request("invalid", "POST", path, body=obj(fc, "FlowSchema", n, spec={
            "matchingPrecedence": 1, "distinguisherMethod": {"type": "ByColour"},
            "priorityLevelConfiguration": {"name": "Bad_Level"},
            "rules": [{"subjects": [{"kind": "ServiceAccount", "user": {"name": "u"}},
                                    {"kind": "Group", "group": {"name": ""}}, {"kind": "Robot"}]},
                      {"subjects": [], "resourceRules": [{"verbs": ["*", "get"], "apiGroups": [],
                                                          "resources": ["*", "pods"], "namespaces": []}],
                       "nonResourceRules": [{"verbs": ["fly"], "nonResourceURLs": ["healthz", "/a//b", "/x*"]}]}]}))
        s.request("too-high", "POST", path, body=obj(fc, "FlowSchema", n, spec={
            "matchingPrecedence": 10001, "priorityLevelConfiguration": {"name": "x"}}))
        s.request("dangling", "POST", path, body=obj(fc, "FlowSchema", n, spec={
            "priorityLevelConfiguration": {"name": f"{n}-missing"}}), view=plain)
        s.request("mandatory-change", "PATCH", f"{path}/exempt", body={"spec": {"matchingPrecedence": 2}},
                  content_type="application/merge-patch+json")
        wait_for(lambda: (s.json("GET", f"{path}/{n}").get("status") or {}).get("conditions"), 15,
                 f"{s.name}: the Dangling condition of {n}")
        s.kubectl("dangling-wide", "get", "flowschema", n, "-o", "wide", parse="table")
        s.json("DELETE", f"{path}/{n}")
    pair.run(scenario)


def test_priority_level_rules(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        n = f"{s.ns}-pl"
        fc = "flowcontrol.apiserver.k8s.io/v1"
        path = f"{FLOWCONTROL}/prioritylevelconfigurations"
        s.request("exempt-named-otherwise", "POST", path, body=obj(fc, "PriorityLevelConfiguration", n, spec={
            "type": "Exempt", "limited": {}, "exempt": {"nominalConcurrencyShares": -1}}))
        s.request("bad-limited", "POST", path, body=obj(fc, "PriorityLevelConfiguration", n, spec={
            "type": "Limited", "exempt": {}, "limited": {"nominalConcurrencyShares": -2, "lendablePercent": 101,
                                                         "borrowingLimitPercent": -1,
                                                         "limitResponse": {"type": "Queue", "queuing": {
                                                             "queues": 2, "handSize": 3, "queueLengthLimit": -1}}}}))
        s.request("entropy", "POST", path, body=obj(fc, "PriorityLevelConfiguration", n, spec={
            "type": "Limited", "limited": {"limitResponse": {"type": "Queue", "queuing": {
                "queues": 1000000, "handSize": 5}}}}))
        s.request("reject-with-queuing", "POST", path, body=obj(fc, "PriorityLevelConfiguration", n, spec={
            "type": "Limited", "limited": {"limitResponse": {"type": "Reject", "queuing": {}}}}))
        s.request("no-type", "POST", path, body=obj(fc, "PriorityLevelConfiguration", n, spec={}))
        s.request("mandatory-change", "PATCH", f"{path}/catch-all",
                  body={"spec": {"limited": {"nominalConcurrencyShares": 6}}},
                  content_type="application/merge-patch+json")
        s.request("exempt-shares", "PATCH", f"{path}/exempt", body={"spec": {"exempt": {"lendablePercent": 10}}},
                  content_type="application/merge-patch+json", view=plain)
        s.request("exempt-back", "PATCH", f"{path}/exempt", body={"spec": {"exempt": {"lendablePercent": 0}}},
                  content_type="application/merge-patch+json", view=plain)
    pair.run(scenario)


def test_apiservice_rules(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        group = f"{s.ns}.example.com"
        ar = "apiregistration.k8s.io/v1"
        s.request("name-mismatch", "POST", APISERVICES, body=obj(ar, "APIService", f"v2.{group}", spec={
            "group": group, "version": "v1", "groupPriorityMinimum": 0, "versionPriority": 1001,
            "insecureSkipTLSVerify": True, "caBundle": "AAAA"}))
        s.request("bad-group-version", "POST", APISERVICES, body=obj(ar, "APIService", "1V.", spec={
            "version": "1V", "groupPriorityMinimum": 1, "versionPriority": 1}))
        s.request("bad-service", "POST", APISERVICES, body=obj(ar, "APIService", f"v1.{group}", spec={
            "group": group, "version": "v1", "groupPriorityMinimum": 1, "versionPriority": 1,
            "insecureSkipTLSVerify": True, "caBundle": "AAAA", "service": {"port": 70000}}))
        s.request("remote", "POST", APISERVICES, body=obj(ar, "APIService", f"v1.{group}", spec={
            "group": group, "version": "v1", "groupPriorityMinimum": 100, "versionPriority": 10,
            "insecureSkipTLSVerify": True, "service": {"namespace": s.ns, "name": "missing"}}), view=plain)
        wait_for(lambda: (s.json("GET", f"{APISERVICES}/v1.{group}").get("status") or {}).get("conditions"), 15,
                 f"{s.name}: the availability of v1.{group}")
        s.kubectl("remote-wide", "get", "apiservice", f"v1.{group}", "-o", "wide", parse="table")
        s.request("remote-status", "GET", f"{APISERVICES}/v1.{group}", view=lambda b: b["status"])
        s.json("DELETE", f"{APISERVICES}/v1.{group}")
    pair.run(scenario)


TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def table_of(names: set[str]) -> Any:
    """A Table's column definitions and the rows of `names` (cluster-wide lists hold other scenarios' objects)."""
    def view(body: Obj) -> Obj:
        rows = [r for r in body["rows"] if r["cells"][0] in names]
        return {"kind": body["kind"], "apiVersion": body["apiVersion"], "columnDefinitions": body["columnDefinitions"],
                "rows": [{k: v for k, v in r.items() if k != "object"} for r in rows]}
    return view


@pytest.mark.parametrize("path,names", [
    (PCS, {"system-node-critical", "system-cluster-critical"}),
    (f"{FLOWCONTROL}/flowschemas", {"exempt", "probes", "catch-all", "service-accounts"}),
    (f"{FLOWCONTROL}/prioritylevelconfigurations", {"exempt", "catch-all", "workload-low"}),
    (APISERVICES, {"v1.", "v1.policy", "v1alpha1.flyte.lyft.com"}),
], ids=["priorityclasses", "flowschemas", "prioritylevelconfigurations", "apiservices"])
def test_table_of_bootstrap_objects(pair: Pair, path: str, names: set[str]) -> None:
    """The Table `kubectl get` asks for: column definitions (types, descriptions) and cells."""
    def scenario(s: Side) -> None:
        s.request("table", "GET", path, accept=TABLE, view=table_of(names))
    pair.run(scenario)


def test_table_of_namespaced_kinds(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.json("POST", pdbs(s), obj("policy/v1", "PodDisruptionBudget", "pdb", spec={"minAvailable": 2}))
        s.json("POST", networking(s, "ingresses"), obj("networking.k8s.io/v1", "Ingress", "web", spec={
            "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}, "tls": [{"hosts": ["x.y"]}]}))
        s.json("POST", networking(s, "networkpolicies"), obj("networking.k8s.io/v1", "NetworkPolicy", "np", spec={
            "podSelector": {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}}))
        for label, path in (("pdbs", pdbs(s)), ("ingresses", networking(s, "ingresses")),
                            ("networkpolicies", networking(s, "networkpolicies"))):
            s.request(label, "GET", path, accept=TABLE, view=table_of({"pdb", "web", "np"}))
    pair.run(scenario)


def test_table_of_cluster_kinds(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        n = f"{s.ns}-t"
        s.json("POST", RCS, obj("node.k8s.io/v1", "RuntimeClass", n, handler="runc"))
        s.json("POST", "/apis/networking.k8s.io/v1/ingressclasses", obj("networking.k8s.io/v1", "IngressClass", n,
                                                                       spec={"controller": "example.com/x"}))
        s.request("runtimeclasses", "GET", RCS, accept=TABLE, view=table_of({n}))
        s.request("ingressclasses", "GET", "/apis/networking.k8s.io/v1/ingressclasses", accept=TABLE,
                  view=table_of({n}))
        s.json("DELETE", f"{RCS}/{n}")
        s.json("DELETE", f"/apis/networking.k8s.io/v1/ingressclasses/{n}")
    pair.run(scenario)


def test_kubectl_refuses_invalid_objects(pair: Pair) -> None:
    """What kubectl prints when the server refuses an object of each kind."""
    def scenario(s: Side) -> None:
        n = f"{s.ns}-bad"
        invalid = {
            "priorityclass": obj("scheduling.k8s.io/v1", "PriorityClass", n, value=2_000_000_000),
            "poddisruptionbudget": obj("policy/v1", "PodDisruptionBudget", "pdb", spec={
                "minAvailable": "200%", "maxUnavailable": 1}),
            "ingress": obj("networking.k8s.io/v1", "Ingress", "ing", spec={"rules": [{"host": "10.0.0.1"}]}),
            "ingressclass": obj("networking.k8s.io/v1", "IngressClass", n, spec={"controller": "x"}),
            "networkpolicy": obj("networking.k8s.io/v1", "NetworkPolicy", "np", spec={
                "podSelector": {}, "ingress": [{"from": [{}]}]}),
            "runtimeclass": obj("node.k8s.io/v1", "RuntimeClass", n, handler=""),
            "flowschema": obj("flowcontrol.apiserver.k8s.io/v1", "FlowSchema", n, spec={
                "priorityLevelConfiguration": {}}),
            "prioritylevelconfiguration": obj("flowcontrol.apiserver.k8s.io/v1", "PriorityLevelConfiguration", n,
                                              spec={"type": "Limited"}),
            "apiservice": obj("apiregistration.k8s.io/v1", "APIService", n, spec={"version": "v1"}),
        }
        for kind, manifest in invalid.items():
            s.kubectl(kind, "-n", s.ns, "create", "-f", "-", input=json.dumps(manifest))
    pair.run(scenario)
