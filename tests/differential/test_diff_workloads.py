"""The workload kinds' API (no controllers run on either side): what kubectl and raw writes store (defaults,
status, generation), what invalid objects are refused with (every cause, field paths as upstream), the status and
scale subresources, and how `kubectl get` shows them."""
from __future__ import annotations

import copy
import json
from typing import Any

import pytest

import protowire
from differ import Pair, Side, without_managed_fields as plain

pytestmark = pytest.mark.differential

Obj = dict[str, Any]
MERGE = "application/merge-patch+json"


def apps(s: Side, plural: str) -> str:
    return f"/apis/apps/v1/namespaces/{s.ns}/{plural}"


def template(labels: Obj | None = None, **spec: Any) -> Obj:
    return {"metadata": {"labels": labels if labels is not None else {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "python:3.11"}], **spec}}


def workload(kind: str, name: str, api_version: str = "apps/v1", **spec: Any) -> Obj:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, "spec": spec}


def deployment(name: str, **spec: Any) -> Obj:
    spec.setdefault("selector", {"matchLabels": {"app": "web"}})
    spec.setdefault("template", template())
    return workload("Deployment", name, **spec)


def test_kubectl_create_deployment(pair: Pair) -> None:
    """`kubectl create deployment` stores what kube-apiserver stores; get shows upstream's columns."""
    def scenario(s: Side) -> None:
        s.kubectl("create", "-n", s.ns, "create", "deployment", "web", "--image=python:3.11", "--replicas=3",
                  "--", "python", "-m", "http.server", "8000")
        s.kubectl("get-json", "-n", s.ns, "get", "deployment", "web", "-o", "json", parse="json")
        s.kubectl("get", "-n", s.ns, "get", "deploy", parse="table")
        s.kubectl("get-wide", "-n", s.ns, "get", "deploy", "-o", "wide", parse="table")
    pair.run(scenario)


@pytest.mark.parametrize("plural", ["deployments", "replicasets"])
def test_invalid_replicated_workloads(pair: Pair, plural: str) -> None:
    """Refused with every cause at upstream's field paths, and nothing stored."""
    kind = {"deployments": "Deployment", "replicasets": "ReplicaSet"}[plural]

    def scenario(s: Side) -> None:
        def post(label: str, **spec: Any) -> None:
            body = deployment(label, **spec)
            body["kind"] = kind
            s.request(label, "POST", apps(s, plural), body=body)
        post("no-selector", selector=None)
        post("empty-selector", selector={})
        post("mismatch", template=template({"app": "other", "tier": "x"}))
        post("negative", replicas=-1, minReadySeconds=-5)
        post("bad-selector", selector={"matchExpressions": [{"key": "app", "operator": "Within", "values": ["a"]}]})
        post("restart-never", template=template(restartPolicy="Never", activeDeadlineSeconds=5))
        post("no-containers", template={"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}})
        s.request("list", "GET", apps(s, plural), view=lambda body: [i["metadata"]["name"] for i in body["items"]])
    pair.run(scenario)


def test_invalid_deployment_strategy(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        post = lambda label, **spec: s.request(label, "POST", apps(s, "deployments"),  # noqa: E731
                                               body=deployment(label, **spec))
        post("both-zero", strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}})
        post("too-many", strategy={"rollingUpdate": {"maxSurge": "x", "maxUnavailable": "150%"}})
        post("recreate-with-rolling", strategy={"type": "Recreate", "rollingUpdate": {"maxSurge": 1}})
        post("unknown-type", strategy={"type": "Sometimes"})
        post("deadline", minReadySeconds=30, progressDeadlineSeconds=10, revisionHistoryLimit=-1)
        post("recreate", strategy={"type": "Recreate"})
        s.request("get-recreate", "GET", f"{apps(s, 'deployments')}/recreate", view=plain)
    pair.run(scenario)


def test_deployment_updates(pair: Pair) -> None:
    """Spec and annotation changes bump the generation, a label change does not; status is the status
    subresource's (which keeps labels); the selector is immutable."""
    def scenario(s: Side) -> None:
        path = f"{apps(s, 'deployments')}/web"
        body = deployment("web", replicas=2)
        body["status"] = {"replicas": 5}
        s.request("create", "POST", apps(s, "deployments"), body=body, view=plain)
        s.request("label", "PATCH", path, body={"metadata": {"labels": {"a": "b"}}}, content_type=MERGE, view=plain)
        s.request("annotation", "PATCH", path, body={"metadata": {"annotations": {"a": "b"}}}, content_type=MERGE,
                  view=plain)
        s.request("spec", "PATCH", path, body={"spec": {"minReadySeconds": 3}, "status": {"replicas": 9}},
                  content_type=MERGE, view=plain)
        s.request("selector", "PATCH", path, body={"spec": {"selector": {"matchLabels": {"app": "web", "x": "y"}},
                                                            "template": template({"app": "web", "x": "y"})}},
                  content_type=MERGE)
        s.request("status", "PATCH", f"{path}/status", body={
            "metadata": {"labels": {"c": "d"}}, "spec": {"replicas": 7},
            "status": {"observedGeneration": 3, "replicas": 2, "readyReplicas": 1, "availableReplicas": 1,
                       "updatedReplicas": 2, "collisionCount": 2}}, content_type=MERGE, view=plain)
        s.request("bad-status", "PATCH", f"{path}/status", body={"status": {
            "replicas": -1, "readyReplicas": 3, "availableReplicas": 4, "collisionCount": 1}}, content_type=MERGE)
    pair.run(scenario)


@pytest.mark.parametrize("plural", ["deployments", "replicasets"])
def test_scale_subresource(pair: Pair, plural: str) -> None:
    """An autoscaling/v1 Scale with the selector as a string; writing it changes spec.replicas."""
    kind = {"deployments": "Deployment", "replicasets": "ReplicaSet"}[plural]

    def scenario(s: Side) -> None:
        body = deployment("web", selector={"matchLabels": {"app": "web"}, "matchExpressions": [
            {"key": "tier", "operator": "NotIn", "values": ["b", "a"]}]})
        body["kind"] = kind
        s.json("POST", apps(s, plural), body)
        path = f"{apps(s, plural)}/web/scale"
        s.request("get", "GET", path)
        scale = s.json("GET", path)
        scale["spec"]["replicas"] = 4
        s.request("put", "PUT", path, body=scale)
        s.request("patch", "PATCH", path, body={"spec": {"replicas": 6}}, content_type=MERGE)
        s.request("negative", "PATCH", path, body={"spec": {"replicas": -2}}, content_type=MERGE)
        stale = copy.deepcopy(scale)
        s.request("stale", "PUT", path, body=stale)
        s.request("object", "GET", f"{apps(s, plural)}/web", view=plain)
        s.kubectl("kubectl-scale", "-n", s.ns, "scale", plural, "web", "--replicas=1")
        s.kubectl("wide", "-n", s.ns, "get", plural, "-o", "wide", parse="table")
    pair.run(scenario)


def test_replica_set_defaults_and_status(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        body = deployment("rs")
        body["kind"] = "ReplicaSet"
        s.request("create", "POST", apps(s, "replicasets"), body=body, view=plain)
        s.request("status", "PATCH", f"{apps(s, 'replicasets')}/rs/status", body={"status": {
            "replicas": 1, "fullyLabeledReplicas": 2, "readyReplicas": 1, "availableReplicas": 1}},
            content_type=MERGE)
        s.request("spec", "PATCH", f"{apps(s, 'replicasets')}/rs", body={"metadata": {"annotations": {"a": "b"}}},
                  content_type=MERGE, view=plain)
        s.request("selected", "GET", apps(s, "replicasets"), params={"fieldSelector": "status.replicas=0"})
    pair.run(scenario)


def test_stateful_set_rules(pair: Pair) -> None:
    """Defaults (claim templates too), invalid specs, which spec fields an update may change."""
    def scenario(s: Side) -> None:
        path = apps(s, "statefulsets")
        claim = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                         "resources": {"requests": {"storage": "1Gi"}}}}
        mounted = template()
        mounted["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
        s.request("create", "POST", path, body=workload(
            "StatefulSet", "db", serviceName="db", selector={"matchLabels": {"app": "web"}}, template=mounted,
            volumeClaimTemplates=[claim]), view=plain)
        s.request("invalid", "POST", path, body=workload(
            "StatefulSet", "bad", serviceName="Not_A_Label", podManagementPolicy="Sometimes",
            updateStrategy={"type": "OnDelete", "rollingUpdate": {"partition": 1}}, replicas=-1,
            persistentVolumeClaimRetentionPolicy={"whenDeleted": "Keep"}, selector={},
            template=template({"app": "x"}, restartPolicy="OnFailure")))
        s.request("bad-rolling", "POST", path, body=workload(
            "StatefulSet", "r", selector={"matchLabels": {"app": "web"}}, template=template(),
            updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": -1, "maxUnavailable": 0}}))
        s.request("forbidden-update", "PATCH", f"{path}/db", body={"spec": {"serviceName": "other"}},
                  content_type=MERGE)
        s.request("allowed-update", "PATCH", f"{path}/db", body={"spec": {"replicas": 3, "minReadySeconds": 2}},
                  content_type=MERGE, view=plain)
        s.request("scale", "GET", f"{path}/db/scale")
        s.request("status", "PATCH", f"{path}/db/status", body={"status": {
            "replicas": 1, "readyReplicas": 1, "availableReplicas": 2, "currentReplicas": 3}}, content_type=MERGE)
        s.kubectl("wide", "-n", s.ns, "get", "sts", "-o", "wide", parse="table")
    pair.run(scenario)


def test_daemon_set_rules(pair: Pair) -> None:
    """Defaults, the template generation annotation (bumped with the template), invalid strategies."""
    def scenario(s: Side) -> None:
        path = apps(s, "daemonsets")
        s.request("create", "POST", path, body=workload(
            "DaemonSet", "agent", selector={"matchLabels": {"app": "web"}},
            template=template(nodeSelector={"disk": "ssd", "arch": "amd64"})), view=plain)
        s.request("template-change", "PATCH", f"{path}/agent", body={"spec": {"template": {"metadata": {
            "labels": {"app": "web", "v": "2"}}}}}, content_type=MERGE, view=plain)
        s.request("other-change", "PATCH", f"{path}/agent", body={"spec": {"minReadySeconds": 4}},
                  content_type=MERGE, view=plain)
        s.request("invalid", "POST", path, body=workload(
            "DaemonSet", "bad", template=template(activeDeadlineSeconds=3),
            updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "200%"}}))
        s.request("zero", "POST", path, body=workload(
            "DaemonSet", "zero", selector={"matchLabels": {"app": "web"}}, template=template(),
            updateStrategy={"rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}))
        s.request("unknown-strategy", "POST", path, body=workload(
            "DaemonSet", "unknown", selector={"matchLabels": {"app": "web"}}, template=template(),
            updateStrategy={"type": "Never"}))
        s.kubectl("wide", "-n", s.ns, "get", "ds", "-o", "wide", parse="table")
    pair.run(scenario)


def test_controller_revisions(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        path = apps(s, "controllerrevisions")
        # compact, as controllers send it: upstream compares data as the raw bytes it was sent in
        s.request("create", "POST", path, content=json.dumps({
            "apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "web-1"}, "revision": 1,
            "data": {"spec": {"template": {"metadata": {"labels": {"a": "b"}}}}}}, separators=(",", ":")),
            content_type="application/json", view=plain)
        s.request("no-data", "POST", path, body={"apiVersion": "apps/v1", "kind": "ControllerRevision",
                                                 "metadata": {"name": "web-2"}, "revision": -2})
        s.request("data-change", "PATCH", f"{path}/web-1", body={"data": {"x": 1}}, content_type=MERGE)
        s.request("revision-change", "PATCH", f"{path}/web-1", body={"revision": 5}, content_type=MERGE,
                  view=plain)
        s.kubectl("wide", "-n", s.ns, "get", "controllerrevisions", "-o", "wide", parse="table")
    pair.run(scenario)


def batch(s: Side, plural: str) -> str:
    return f"/apis/batch/v1/namespaces/{s.ns}/{plural}"


def job_template(**spec: Any) -> Obj:
    return {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
        {"name": "work", "image": "python:3.11", "command": ["python", "-c", "print(1)"]}]}}, **spec}}


def uids(body: Obj) -> Obj:
    """The object with its uid-derived labels and selector made comparable (each server has its own uid); a
    protobuf answer's object likewise."""
    if isinstance(body.get("object"), dict):
        return {**body, "object": uids(body["object"])}
    body = plain(body)
    uid = (body.get("metadata") or {}).get("uid")
    return json.loads(json.dumps(body).replace(uid, "<uid>")) if uid else body


def test_kubectl_create_job_and_cronjob(pair: Pair) -> None:
    """`kubectl create job|cronjob`: the generated selector and labels, the defaults, upstream's columns."""
    def scenario(s: Side) -> None:
        s.kubectl("job", "-n", s.ns, "create", "job", "once", "--image=python:3.11", "--", "python", "-c", "1")
        s.kubectl("cronjob", "-n", s.ns, "create", "cronjob", "tick", "--image=python:3.11",
                  "--schedule=*/5 * * * *", "--", "python", "-c", "1")
        s.request("job-json", "GET", f"{batch(s, 'jobs')}/once", view=uids)
        s.request("cronjob-json", "GET", f"{batch(s, 'cronjobs')}/tick", view=plain)
        s.kubectl("get", "-n", s.ns, "get", "jobs,cronjobs", parse="table")
        s.kubectl("wide", "-n", s.ns, "get", "cj", "-o", "wide", parse="table")
        s.request("selected", "GET", batch(s, "jobs"), params={"fieldSelector": "status.successful=0"},
                  view=lambda body: [i["metadata"]["name"] for i in body["items"]])
    pair.run(scenario)


def test_invalid_jobs(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        path = batch(s, "jobs")
        post = lambda label, **spec: s.request(label, "POST", path, body=workload(  # noqa: E731
            "Job", label, "batch/v1", **{**job_template()["spec"], **spec}))
        post("negative", parallelism=-1, completions=-2, backoffLimit=-3, activeDeadlineSeconds=-4)
        post("always", template={"spec": {"containers": [{"name": "c", "image": "x"}]}})
        post("indexed", completionMode="Indexed", parallelism=200000, backoffLimitPerIndex=1)
        post("mode", completionMode="Sometimes", maxFailedIndexes=2)
        post("manual-mismatch", manualSelector=True, selector={"matchLabels": {"a": "b"}})
        post("manual-missing", manualSelector=True)
        post("wrong-uid", selector={"matchLabels": {"batch.kubernetes.io/controller-uid": "nope"}})
        post("failure-policy", podFailurePolicy={"rules": [
            {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [3, 0, 3]}},
            {"action": "Explode", "onExitCodes": {"operator": "Maybe", "values": [], "containerName": "x"},
             "onPodConditions": [{"type": "DisruptionTarget"}]},
            {"action": "FailIndex"}]})
        s.request("list", "GET", path, view=lambda body: [i["metadata"]["name"] for i in body["items"]])
    pair.run(scenario)


def test_job_updates(pair: Pair) -> None:
    """What an update may change: not the selector, completions or template of a running job; status counters
    may not go down."""
    def scenario(s: Side) -> None:
        path = f"{batch(s, 'jobs')}/j"
        s.request("create", "POST", batch(s, "jobs"), body=workload("Job", "j", "batch/v1", **job_template()["spec"],
                                                                    completions=2), view=uids)
        s.request("completions", "PATCH", path, body={"spec": {"completions": 3}}, content_type=MERGE)
        s.request("template", "PATCH", path, body={"spec": {"template": {"spec": {"activeDeadlineSeconds": 5}}}},
                  content_type=MERGE)
        s.request("parallelism", "PATCH", path, body={"spec": {"parallelism": 2}}, content_type=MERGE, view=uids)
        s.request("status", "PATCH", f"{path}/status", body={"status": {"succeeded": 1, "failed": 2}},
                  content_type=MERGE, view=uids)
        s.request("decrease", "PATCH", f"{path}/status", body={"status": {"succeeded": 0, "failed": 1}},
                  content_type=MERGE)
    pair.run(scenario)


@pytest.mark.parametrize("schedule", ["bogus", "* * * *", "61 * * * *", "*/0 * * * *", "1-2-3 * * * *",
                                      "5-1 * * * *", "* * * * mon-fry", "@every x", "@fortnightly",
                                      "TZ=UTC * * * * *", "0 0 31 2 sun", "@hourly", "@every 1h30m"])
def test_cron_schedules(pair: Pair, schedule: str) -> None:
    """A schedule robfig/cron refuses is a 422 with its message at spec.schedule; a valid one is stored."""
    def scenario(s: Side) -> None:
        s.request("create", "POST", batch(s, "cronjobs"), body=workload(
            "CronJob", "c", "batch/v1", schedule=schedule, jobTemplate=job_template()), view=plain)
    pair.run(scenario)


def test_invalid_cronjobs(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        path = batch(s, "cronjobs")
        s.request("many", "POST", path, body=workload(
            "CronJob", "c" * 53, "batch/v1", schedule="", concurrencyPolicy="Sometimes",
            startingDeadlineSeconds=-1, successfulJobsHistoryLimit=-1, timeZone="Mars/Olympus",
            jobTemplate=job_template(selector={"matchLabels": {"a": "b"}}, manualSelector=True)))
        s.request("local-zone", "POST", path, body=workload("CronJob", "l", "batch/v1", schedule="@daily",
                                                            timeZone="Local", jobTemplate=job_template()))
        s.request("empty-zone", "POST", path, body=workload("CronJob", "e", "batch/v1", schedule="@daily",
                                                            timeZone="", jobTemplate=job_template()))
        s.request("zone", "POST", path, body=workload("CronJob", "z", "batch/v1", schedule="0 9 * * 1-5",
                                                      timeZone="Europe/Paris", jobTemplate=job_template()),
                  view=plain)
        s.request("suspend", "PATCH", f"{path}/z", body={"spec": {"suspend": True}}, content_type=MERGE,
                  view=plain)
        s.kubectl("wide", "-n", s.ns, "get", "cronjobs", "-o", "wide", parse="table")
    pair.run(scenario)


def test_replication_controllers(pair: Pair) -> None:
    """Selector and labels defaulted from the template, the selector may change, the scale subresource."""
    def scenario(s: Side) -> None:
        path = f"/api/v1/namespaces/{s.ns}/replicationcontrollers"
        s.request("create", "POST", path, body=workload("ReplicationController", "rc", "v1", template=template()),
                  view=plain)
        s.request("invalid", "POST", path, body=workload(
            "ReplicationController", "bad", "v1", replicas=-1, selector={"app": "other"},
            template=template(restartPolicy="Never")))
        s.request("no-template", "POST", path, body=workload("ReplicationController", "none", "v1",
                                                             selector={"app": "web"}))
        s.request("selector", "PATCH", f"{path}/rc", body={"spec": {"selector": {"app": "web", "x": "y"},
                                                                    "template": template({"app": "web", "x": "y"})}},
                  content_type=MERGE, view=plain)
        s.request("scale", "GET", f"{path}/rc/scale")
        s.request("rescale", "PATCH", f"{path}/rc/scale", body={"spec": {"replicas": 4}}, content_type=MERGE)
        s.kubectl("wide", "-n", s.ns, "get", "rc", "-o", "wide", parse="table")
        s.request("selected", "GET", path, params={"fieldSelector": "status.replicas=0"},
                  view=lambda body: [i["metadata"]["name"] for i in body["items"]])
    pair.run(scenario)


def hpas(s: Side, version: str) -> str:
    return f"/apis/autoscaling/{version}/namespaces/{s.ns}/horizontalpodautoscalers"


def test_horizontal_pod_autoscalers_across_versions(pair: Pair) -> None:
    """v1 writes are stored as v2 (the CPU target, the default one) and v2's extra metrics and behavior read back
    through v1's annotations; status through either version."""
    def scenario(s: Side) -> None:
        ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
        s.request("v1-create", "POST", hpas(s, "v1"), body=workload(
            "HorizontalPodAutoscaler", "cpu", "autoscaling/v1", scaleTargetRef=ref, maxReplicas=5,
            targetCPUUtilizationPercentage=60), view=plain)
        s.request("v1-as-v2", "GET", f"{hpas(s, 'v2')}/cpu", view=plain)
        s.request("v1-default", "POST", hpas(s, "v1"), body=workload(
            "HorizontalPodAutoscaler", "implicit", "autoscaling/v1", scaleTargetRef=ref, maxReplicas=3), view=plain)
        s.request("v2-create", "POST", hpas(s, "v2"), body=workload(
            "HorizontalPodAutoscaler", "many", "autoscaling/v2", scaleTargetRef=ref, minReplicas=2, maxReplicas=9,
            metrics=[{"type": "Resource", "resource": {"name": "memory", "target": {
                "type": "AverageValue", "averageValue": "500Mi"}}},
                {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {
                    "type": "AverageValue", "averageValue": "10"}}},
                {"type": "Resource", "resource": {"name": "cpu", "target": {
                    "type": "Utilization", "averageUtilization": 70}}}],
            behavior={"scaleDown": {"stabilizationWindowSeconds": 60}}), view=plain)
        s.request("v2-as-v1", "GET", f"{hpas(s, 'v1')}/many", view=plain)
        s.request("status", "PATCH", f"{hpas(s, 'v2')}/many/status", body={"status": {
            "currentReplicas": 3, "desiredReplicas": 4, "currentMetrics": [{"type": "Resource", "resource": {
                "name": "cpu", "current": {"averageUtilization": 40, "averageValue": "100m"}}}],
            "conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale",
                            "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}, content_type=MERGE, view=plain)
        s.request("status-as-v1", "GET", f"{hpas(s, 'v1')}/many", view=plain)
        s.kubectl("get", "-n", s.ns, "get", "hpa", parse="table")
    pair.run(scenario)


def test_invalid_horizontal_pod_autoscalers(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.request("v2", "POST", hpas(s, "v2"), body=workload(
            "HorizontalPodAutoscaler", "bad", "autoscaling/v2", scaleTargetRef={"kind": "", "name": "a/b"},
            minReplicas=0, maxReplicas=0,
            metrics=[{"type": "Resource", "resource": {"name": "", "target": {"type": "Sometimes",
                                                                              "averageUtilization": 0}}},
                     {"type": "Pods", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                            "averageUtilization": 5}}},
                     {"type": "Magic"}],
            behavior={"scaleUp": {"stabilizationWindowSeconds": 4000, "selectPolicy": "Random",
                                  "policies": [{"type": "Pods", "value": 0, "periodSeconds": 2000}]},
                      "scaleDown": {"policies": []}}))
        s.request("v1", "POST", hpas(s, "v1"), body=workload(
            "HorizontalPodAutoscaler", "bad", "autoscaling/v1", scaleTargetRef={"kind": "Deployment", "name": "x"},
            minReplicas=5, maxReplicas=2, targetCPUUtilizationPercentage=-1))
    pair.run(scenario)


PROTOBUF = "application/vnd.kubernetes.protobuf"


@pytest.mark.parametrize(("path", "body"), [
    ("/apis/apps/v1/namespaces/{ns}/deployments", deployment("pb", replicas=2)),
    ("/apis/batch/v1/namespaces/{ns}/jobs", workload("Job", "pb", "batch/v1", **job_template()["spec"])),
    ("/apis/autoscaling/v1/namespaces/{ns}/horizontalpodautoscalers", workload(
        "HorizontalPodAutoscaler", "pb", "autoscaling/v1", maxReplicas=3, targetCPUUtilizationPercentage=50,
        scaleTargetRef={"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"})),
], ids=["deployment", "job", "hpa-v1"])
def test_protobuf_bodies(pair: Pair, path: str, body: Obj) -> None:
    """A workload sent as protobuf (as client-go sends built-in kinds) and read back as protobuf and JSON."""
    encoded = protowire.encode(body)

    def scenario(s: Side) -> None:
        where = path.format(ns=s.ns)
        s.request("create", "POST", where, content=encoded, content_type=PROTOBUF, accept=PROTOBUF, view=uids)
        s.request("get", "GET", f"{where}/pb", accept=PROTOBUF, view=uids)
        s.request("list", "GET", where, accept=PROTOBUF, view=plain)
    pair.run(scenario)


def test_protobuf_scale(pair: Pair) -> None:
    """The Scale of a Deployment asked for as protobuf."""
    def scenario(s: Side) -> None:
        s.json("POST", apps(s, "deployments"), deployment("web"))
        s.request("scale", "GET", f"{apps(s, 'deployments')}/web/scale", accept=PROTOBUF)
    pair.run(scenario)


DEPLOYMENT_YAML = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: python:3.11
        ports: [{containerPort: 8000}]
        env: [{name: MODE, value: fast}]
      - name: sidecar
        image: busybox:1.36
"""


@pytest.mark.parametrize("server_side", [False, True], ids=["client-side", "server-side"])
def test_kubectl_apply_deployment_twice(pair: Pair, server_side: bool) -> None:
    """kubectl apply, then a changed manifest (image, env, one container fewer): the merge keyed by container
    name and what each manager owns."""
    changed = DEPLOYMENT_YAML.replace("python:3.11", "python:3.12").replace("fast", "slow").split(
        "      - name: sidecar")[0]
    flags = ["--server-side"] if server_side else []

    def scenario(s: Side) -> None:
        s.kubectl("apply", "-n", s.ns, "apply", *flags, "-f", "-", input=DEPLOYMENT_YAML)
        s.kubectl("reapply", "-n", s.ns, "apply", *flags, "-f", "-", input=changed)
        s.kubectl("get-json", "-n", s.ns, "get", "deployment", "web", "-o", "json", parse="json")
    pair.run(scenario)


@pytest.mark.parametrize("kind", ["Deployment", "ReplicaSet", "DaemonSet", "ReplicationController", "Job",
                                  "CronJob"])
def test_dotted_names_warn(pair: Pair, kind: str) -> None:
    """A name that is no DNS label is accepted with upstream's warning (where upstream warns)."""
    def scenario(s: Side) -> None:
        name = "web.v1"
        if kind == "Job":
            body, path = workload(kind, name, "batch/v1", **job_template()["spec"]), batch(s, "jobs")
        elif kind == "CronJob":
            body, path = workload(kind, name, "batch/v1", schedule="@daily", jobTemplate=job_template()), \
                batch(s, "cronjobs")
        elif kind == "ReplicationController":
            body, path = workload(kind, name, "v1", template=template()), \
                f"/api/v1/namespaces/{s.ns}/replicationcontrollers"
        else:
            body, path = deployment(name), apps(s, kind.lower() + "s")
            body["kind"] = kind
            body["metadata"]["name"] = name
        s.request("create", "POST", path, body=body, view=lambda b: b["metadata"]["name"])
    pair.run(scenario)


T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"


def condition(kind: str, status: str = "True") -> Obj:
    return {"type": kind, "status": status, "lastProbeTime": T1, "lastTransitionTime": T1, "reason": "R",
            "message": "m"}


@pytest.mark.parametrize(("label", "status"), [
    ("complete-without-criteria", {"startTime": T0, "completionTime": T1, "succeeded": 1,
                                   "conditions": [condition("Complete")]}),
    ("complete-without-time", {"startTime": T0, "succeeded": 1,
                               "conditions": [condition("SuccessCriteriaMet"), condition("Complete")]}),
    ("complete", {"startTime": T0, "completionTime": T1, "succeeded": 1,
                  "conditions": [condition("SuccessCriteriaMet"), condition("Complete")]}),
    ("failed-without-target", {"startTime": T0, "failed": 1, "conditions": [condition("Failed")]}),
    ("finished-with-active", {"active": 1, "ready": 2, "terminating": 1, "failed": 1,
                              "conditions": [condition("FailureTarget"), condition("Failed")]}),
    ("time-before-start", {"startTime": T1, "completionTime": T0, "uncountedTerminatedPods": {
        "succeeded": ["a", "a", ""]}}),
    ("indexes-for-non-indexed", {"completedIndexes": "1,3", "failedIndexes": "2"}),
])
def test_job_status_rules(pair: Pair, label: str, status: Obj) -> None:
    """What a job controller may write to jobs/status (upstream's JobManagedBy-era rules)."""
    def scenario(s: Side) -> None:
        path = f"{batch(s, 'jobs')}/j"
        s.json("POST", batch(s, "jobs"), workload("Job", "j", "batch/v1", **job_template()["spec"]))
        s.request(label, "PATCH", f"{path}/status", body={"status": status}, content_type=MERGE, view=uids)
    pair.run(scenario)


def test_job_status_cannot_go_back(pair: Pair) -> None:
    """A finished job stays finished; its counters and completion time do not go back."""
    def scenario(s: Side) -> None:
        path = f"{batch(s, 'jobs')}/j/status"
        s.json("POST", batch(s, "jobs"), workload("Job", "j", "batch/v1", **job_template()["spec"]))
        s.request("finish", "PATCH", path, content_type=MERGE, view=uids, body={"status": {
            "startTime": T0, "completionTime": T1, "succeeded": 2, "failed": 1,
            "conditions": [condition("SuccessCriteriaMet"), condition("Complete")]}})
        s.request("undo", "PUT", path, view=uids, body={**s.json("GET", path), "status": {
            "startTime": T1, "completionTime": T0, "succeeded": 1, "failed": 0, "conditions": []}})
    pair.run(scenario)


def test_indexed_job_status_indexes(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        path = f"{batch(s, 'jobs')}/ix/status"
        s.json("POST", batch(s, "jobs"), workload("Job", "ix", "batch/v1", **job_template()["spec"],
                                                  completionMode="Indexed", completions=5, parallelism=2,
                                                  backoffLimitPerIndex=1))
        s.request("bad-completed", "PATCH", path, content_type=MERGE, view=uids,
                  body={"status": {"completedIndexes": "3,1,9"}})
        s.request("bad-interval", "PATCH", path, content_type=MERGE, view=uids,
                  body={"status": {"completedIndexes": "1-2-3", "failedIndexes": "x"}})
        s.request("overlap", "PATCH", path, content_type=MERGE, view=uids,
                  body={"status": {"completedIndexes": "0-2", "failedIndexes": "2,4"}})
        s.request("fine", "PATCH", path, content_type=MERGE, view=uids,
                  body={"status": {"completedIndexes": "0,2-3", "failedIndexes": "4"}})
    pair.run(scenario)


@pytest.mark.parametrize("field", ["deployment.spec.strategy", "cronjob.spec.schedule", "hpa.spec.behavior",
                                   "statefulset.spec.updateStrategy", "rc", "jobs.status.conditions"])
def test_kubectl_explain_workloads(pair: Pair, field: str) -> None:
    def scenario(s: Side) -> None:
        s.kubectl("explain", "explain", field)
    pair.run(scenario)


def test_kubectl_get_all_wide(pair: Pair) -> None:
    """One object of every workload kind, listed by `kubectl get all -o wide`: every cell as upstream prints."""
    def scenario(s: Side) -> None:
        s.kubectl(None, "-n", s.ns, "create", "deployment", "web", "--image=python:3.11", "--replicas=2")
        s.json("POST", apps(s, "replicasets"), {**deployment("rs"), "kind": "ReplicaSet"})
        s.json("POST", apps(s, "statefulsets"), {**deployment("sts"), "kind": "StatefulSet"})
        s.json("POST", apps(s, "daemonsets"), {**deployment("ds"), "kind": "DaemonSet"})
        s.json("POST", f"/api/v1/namespaces/{s.ns}/replicationcontrollers",
               workload("ReplicationController", "rc", "v1", template=template()))
        s.kubectl(None, "-n", s.ns, "create", "job", "once", "--image=python:3.11")
        s.kubectl(None, "-n", s.ns, "create", "cronjob", "tick", "--image=python:3.11", "--schedule=@hourly")
        s.json("POST", hpas(s, "v2"), workload(
            "HorizontalPodAutoscaler", "h", "autoscaling/v2", maxReplicas=4,
            scaleTargetRef={"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            metrics=[{"type": "Resource", "resource": {"name": "memory", "target": {
                "type": "AverageValue", "averageValue": "1Gi"}}},
                {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue",
                                                                                "averageValue": "5"}}},
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                            "averageUtilization": 50}}}]))
        s.kubectl("all", "-n", s.ns, "get", "all", "-o", "wide")
        s.kubectl("workloads", "-n", s.ns, "get", "deploy,rs,sts,ds,job,cj,hpa,rc")
    pair.run(scenario)
