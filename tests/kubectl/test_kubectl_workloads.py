"""The workload kinds through kubectl: created with its generators, listed with upstream's columns (short names
and the `all` category too), explained from the OpenAPI documents, refused with upstream's field paths."""
from __future__ import annotations

import json

import pytest

from kubectl_helpers import Kubectl, header, row

pytestmark = pytest.mark.kubectl

TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "python:3.11"}]}}


def workload(kind: str, name: str, ns: str, api_version: str = "apps/v1", **spec: object) -> dict:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}


def test_create_deployment_is_stored_with_upstream_defaults(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "deployment", "web", "-n", ns, "--image=python:3.11", "--replicas=3", "--",
               "python", "-m", "http.server", "8000")
    deployment = kubectl.get_json("deployment", "web", "-n", ns)
    spec = deployment["spec"]
    assert spec["replicas"] == 3 and spec["selector"] == {"matchLabels": {"app": "web"}}
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%",
                                                                           "maxSurge": "25%"}}
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (10, 600)
    assert spec["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert deployment["metadata"]["generation"] == 1 and deployment["status"] == {}


def test_get_deployments_columns(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "deployment", "web", "-n", ns, "--image=python:3.11", "--replicas=2")
    assert header(kubectl.ok("get", "deploy", "-n", ns)) == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    wide = kubectl.ok("get", "deploy", "-n", ns, "-o", "wide")
    assert header(wide) == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    cells = row(wide, "web")
    assert (cells["READY"], cells["UP-TO-DATE"], cells["CONTAINERS"], cells["IMAGES"], cells["SELECTOR"]) == \
        ("0/2", "0", "python", "python:3.11", "app=web")


@pytest.mark.parametrize(("resource", "manifest", "columns"), [
    ("rs", workload("ReplicaSet", "w", "", selector={"matchLabels": {"app": "web"}}, template=TEMPLATE),
     ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]),
    ("sts", workload("StatefulSet", "w", "", selector={"matchLabels": {"app": "web"}}, template=TEMPLATE),
     ["NAME", "READY", "AGE"]),
    ("ds", workload("DaemonSet", "w", "", selector={"matchLabels": {"app": "web"}}, template=TEMPLATE),
     ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"]),
    ("job", workload("Job", "w", "", "batch/v1", template={"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "python:3.11"}]}}),
     ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]),
    ("cj", workload("CronJob", "w", "", "batch/v1", schedule="*/5 * * * *", jobTemplate={"spec": {"template": {
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "python:3.11"}]}}}}),
     ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"]),
    ("hpa", workload("HorizontalPodAutoscaler", "w", "", "autoscaling/v2", maxReplicas=4,
                     scaleTargetRef={"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}),
     ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]),
    ("rc", workload("ReplicationController", "w", "", "v1", template=TEMPLATE),
     ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]),
])
def test_get_columns_of_each_workload_kind(kubectl: Kubectl, ns: str, resource: str, manifest: dict,
                                           columns: list[str]) -> None:
    manifest = {**manifest, "metadata": {"name": "w", "namespace": ns}}
    kubectl.create(manifest)
    assert header(kubectl.ok("get", resource, "-n", ns)) == columns


def test_get_several_workload_kinds_at_once(kubectl: Kubectl, ns: str) -> None:
    """`kubectl get deploy,rs,sts,ds,job,cj,hpa` lists the workload kinds (`get all` is the differential
    tier's: here other tiers' short-lived CRDs of the `all` category may share the server)."""
    kubectl.ok("create", "deployment", "web", "-n", ns, "--image=python:3.11")
    kubectl.ok("create", "job", "once", "-n", ns, "--image=python:3.11")
    kubectl.ok("create", "cronjob", "tick", "-n", ns, "--image=python:3.11", "--schedule=*/5 * * * *")
    listed = kubectl.ok("get", "deploy,rs,sts,ds,job,cj,hpa", "-n", ns)
    assert "deployment.apps/web" in listed and "job.batch/once" in listed and "cronjob.batch/tick" in listed


def test_explain_deployment_strategy(kubectl: Kubectl) -> None:
    out = kubectl.ok("explain", "deployment.spec.strategy")
    assert "Deployment" in out and "apps" in out
    assert "rollingUpdate" in out and "RollingUpdate" in out


def test_selector_not_matching_template_is_refused_and_not_stored(kubectl: Kubectl, ns: str) -> None:
    bad = workload("Deployment", "bad", ns, selector={"matchLabels": {"app": "other"}}, template=TEMPLATE,
                   replicas=-1)
    result = kubectl.fails("create", "-f", "-", input=json.dumps(bad))
    assert "spec.replicas: Invalid value: -1: must be greater than or equal to 0" in result.stderr
    assert "spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match template " \
           "`labels`" in result.stderr
    assert kubectl.run("get", "deployment", "bad", "-n", ns).returncode != 0


def test_invalid_cron_schedule_is_refused(kubectl: Kubectl, ns: str) -> None:
    result = kubectl.fails("create", "cronjob", "bad", "-n", ns, "--image=python:3.11", "--schedule=61 * * * *")
    assert "spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61" in result.stderr


def test_scale_a_deployment(kubectl: Kubectl, ns: str) -> None:
    kubectl.ok("create", "deployment", "web", "-n", ns, "--image=python:3.11")
    kubectl.ok("scale", "deployment", "web", "-n", ns, "--replicas=4")
    assert kubectl.get_json("deployment", "web", "-n", ns)["spec"]["replicas"] == 4
