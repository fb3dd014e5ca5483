"""The workload kinds through a real server and the official Python client (its typed models decode what is
served): create with upstream's defaults, refusals that store nothing, the scale and status subresources, a
Job's generated selector, HorizontalPodAutoscalers read through both versions, field selectors."""
from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from apihelpers import expect_status

Obj = dict[str, Any]


@pytest.fixture(scope="module")
def apps(api_client) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


@pytest.fixture(scope="module")
def batch(api_client) -> client.BatchV1Api:
    return client.BatchV1Api(api_client)


def template(labels: Obj | None = None) -> Obj:
    return {"metadata": {"labels": labels or {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "python:3.11"}]}}


def deployment(name: str, **spec: Any) -> Obj:
    return {"metadata": {"name": name}, "spec": {"selector": {"matchLabels": {"app": "web"}},
                                                 "template": template(), **spec}}


def test_deployment_created_with_defaults(apps, ns) -> None:
    created = apps.create_namespaced_deployment(ns, deployment("web", replicas=3))
    assert created.spec.replicas == 3 and created.metadata.generation == 1
    assert created.spec.strategy.type == "RollingUpdate"
    assert created.spec.strategy.rolling_update.max_surge == "25%"
    assert created.spec.progress_deadline_seconds == 600


def test_invalid_deployment_is_refused_and_not_stored(apps, ns) -> None:
    status = expect_status(lambda: apps.create_namespaced_deployment(ns, deployment(
        "bad", replicas=-1, template=template({"app": "other"}))), 422, "Invalid")
    assert [c["field"] for c in status["details"]["causes"]] == ["spec.replicas", "spec.template.metadata.labels"]
    assert apps.list_namespaced_deployment(ns).items == []


def test_spec_change_bumps_generation_and_status_is_kept(apps, ns) -> None:
    apps.create_namespaced_deployment(ns, deployment("web"))
    apps.patch_namespaced_deployment_status("web", ns, {"status": {"replicas": 1, "observedGeneration": 1}})
    patched = apps.patch_namespaced_deployment("web", ns, {"spec": {"minReadySeconds": 5},
                                                            "status": {"replicas": 7}})
    assert patched.metadata.generation == 2 and patched.status.replicas == 1


def test_scale_subresource_resizes_the_deployment(apps, ns) -> None:
    apps.create_namespaced_deployment(ns, deployment("web"))
    scale = apps.read_namespaced_deployment_scale("web", ns)
    assert (scale.spec.replicas, scale.status.selector) == (1, "app=web")
    apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 5}})
    assert apps.read_namespaced_deployment("web", ns).spec.replicas == 5
    expect_status(lambda: apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": -1}}),
                  422, "Invalid")


def test_job_selector_and_labels_are_generated(batch, ns) -> None:
    created = batch.create_namespaced_job(ns, {"metadata": {"name": "once"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "python:3.11"}]}}}})
    uid = created.metadata.uid
    assert created.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": uid}
    assert created.spec.template.metadata.labels["batch.kubernetes.io/job-name"] == "once"
    assert created.metadata.labels["controller-uid"] == uid


def test_invalid_cron_schedule_is_refused(batch, ns) -> None:
    status = expect_status(lambda: batch.create_namespaced_cron_job(ns, {
        "metadata": {"name": "tick"}, "spec": {"schedule": "0 0 * *", "jobTemplate": {"spec": {"template": {
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x"}]}}}}}}), 422, "Invalid")
    assert status["details"]["causes"] == [{"reason": "FieldValueInvalid", "field": "spec.schedule",
                                            "message": 'Invalid value: "0 0 * *": expected exactly 5 fields, '
                                                       "found 4: [0 0 * *]"}]
    assert batch.list_namespaced_cron_job(ns).items == []


def test_hpa_written_as_v1_reads_as_v2(api_client, ns) -> None:
    v1 = client.AutoscalingV1Api(api_client)
    v2 = client.AutoscalingV2Api(api_client)
    v1.create_namespaced_horizontal_pod_autoscaler(ns, {"metadata": {"name": "h"}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 4,
        "targetCPUUtilizationPercentage": 55}})
    metric = v2.read_namespaced_horizontal_pod_autoscaler("h", ns).spec.metrics[0]
    assert (metric.type, metric.resource.name, metric.resource.target.average_utilization) == ("Resource", "cpu", 55)
    assert v1.read_namespaced_horizontal_pod_autoscaler("h", ns).spec.target_cpu_utilization_percentage == 55


def test_replica_sets_are_listed_by_label_and_rcs_by_status_replicas(apps, core, ns) -> None:
    apps.create_namespaced_replica_set(ns, deployment("rs"))
    assert [rs.metadata.name for rs in apps.list_namespaced_replica_set(ns, label_selector="x!=y").items] == ["rs"]
    core.create_namespaced_replication_controller(ns, {"metadata": {"name": "rc"}, "spec": {"template": template()}})
    found = core.list_namespaced_replication_controller(ns, field_selector="status.replicas=0").items
    assert [rc.spec.selector for rc in found] == [{"app": "web"}]
