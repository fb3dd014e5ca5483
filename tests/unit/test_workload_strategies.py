"""The workload kinds' strategies called directly: defaults, validation causes (upstream's field paths and
messages), generation and status rules, a Job's generated selector, CronJob schedules and the HPA's v1 <-> v2
conversion. The differential tier checks the same against kube-apiserver."""
from __future__ import annotations

from typing import Any

import pytest

from shim.machinery import cron
from shim.registry.kinds import autoscaling
from shim.registry.kinds.apps import (DaemonSetStrategy, DeploymentStrategy, ReplicaSetStrategy,
                                      StatefulSetStrategy)
from shim.registry.kinds.batch import CONTROLLER_UID, JOB_NAME, CronJobStrategy, JobStrategy
from shim.registry.kinds.replicationcontrollers import ReplicationControllerStrategy

Obj = dict[str, Any]


def template(labels: dict[str, str] | None = None, **spec: Any) -> Obj:
    return {"metadata": {"labels": {"app": "web"} if labels is None else labels},
            "spec": {"containers": [{"name": "web", "image": "python:3.11"}], **spec}}


def deployment(**spec: Any) -> Obj:
    return {"metadata": {"name": "web", "uid": "u-1"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template(), **spec}}


def defaulted(strategy: Any, obj: Obj) -> Obj:
    strategy.default(obj)
    strategy.prepare_for_create(obj)
    return obj


def fields(causes: list[dict[str, str]]) -> list[str]:
    return [c["field"] for c in causes]


def test_deployment_defaults_are_upstreams() -> None:
    obj = defaulted(DeploymentStrategy(), deployment())
    spec = obj["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%",
                                                                           "maxSurge": "25%"}}
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (10, 600)
    assert obj["status"] == {}


def test_template_gets_pod_spec_defaults_but_not_pod_only_ones() -> None:
    """SetDefaults_PodSpec and the containers' defaults apply; SetDefaults_Pod's enableServiceLinks does not."""
    pod_spec = defaulted(DeploymentStrategy(), deployment())["spec"]["template"]["spec"]
    assert (pod_spec["restartPolicy"], pod_spec["dnsPolicy"], pod_spec["schedulerName"]) == \
        ("Always", "ClusterFirst", "default-scheduler")
    assert pod_spec["terminationGracePeriodSeconds"] == 30 and "enableServiceLinks" not in pod_spec
    assert pod_spec["containers"][0]["terminationMessagePolicy"] == "File"


def test_recreate_strategy_gets_no_rolling_update() -> None:
    spec = defaulted(DeploymentStrategy(), deployment(strategy={"type": "Recreate"}))["spec"]
    assert spec["strategy"] == {"type": "Recreate"}


def test_selector_must_match_template_labels() -> None:
    causes = DeploymentStrategy().validate(defaulted(DeploymentStrategy(), deployment(
        template=template({"app": "other"}))))
    assert causes == [{"reason": "FieldValueInvalid", "field": "spec.template.metadata.labels",
                       "message": 'Invalid value: {"app":"other"}: `selector` does not match template `labels`'}]


def test_missing_selector_is_required_and_never_matches() -> None:
    obj = defaulted(ReplicaSetStrategy(), deployment(selector=None))
    assert fields(ReplicaSetStrategy().validate(obj)) == ["spec.selector", "spec.template.metadata.labels"]


def test_empty_selector_is_invalid_for_deployment() -> None:
    causes = DeploymentStrategy().validate(defaulted(DeploymentStrategy(), deployment(selector={})))
    assert causes[0]["message"] == "Invalid value: {}: empty selector is invalid for deployment"


def test_negative_replicas_are_invalid() -> None:
    causes = DeploymentStrategy().validate(defaulted(DeploymentStrategy(), deployment(replicas=-1)))
    assert causes == [{"reason": "FieldValueInvalid", "field": "spec.replicas",
                       "message": "Invalid value: -1: must be greater than or equal to 0"}]


def test_replica_sets_only_run_pods_that_always_restart() -> None:
    obj = defaulted(ReplicaSetStrategy(), deployment(template=template(restartPolicy="Never")))
    assert fields(ReplicaSetStrategy().validate(obj)) == ["spec.template.spec.restartPolicy"]


def test_selector_is_immutable() -> None:
    strategy = DeploymentStrategy()
    old = defaulted(strategy, deployment())
    new = defaulted(strategy, deployment(selector={"matchLabels": {"app": "web", "x": "y"}},
                                         template=template({"app": "web", "x": "y"})))
    assert strategy.validate_update(new, old)[-1] == {
        "reason": "FieldValueInvalid", "field": "spec.selector",
        "message": 'Invalid value: {"matchLabels":{"app":"web","x":"y"}}: field is immutable'}


def test_deployment_annotations_bump_the_generation_replica_set_ones_do_not() -> None:
    old, new = deployment(), deployment()
    new["metadata"]["annotations"] = {"a": "b"}
    assert DeploymentStrategy().spec_changed(new, old)
    assert not ReplicaSetStrategy().spec_changed(new, old)


def test_scale_shows_the_selector_as_a_string() -> None:
    obj = defaulted(DeploymentStrategy(), deployment(selector={"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "tier", "operator": "NotIn", "values": ["b", "a"]}]}))
    obj["metadata"].update(namespace="ns", resourceVersion="7")
    scale = DeploymentStrategy().scale(obj)
    assert scale["status"] == {"replicas": 0, "selector": "app=web,tier notin (a,b)"}
    assert scale["spec"] == {"replicas": 1}


def test_stateful_set_update_may_not_change_the_service_name() -> None:
    strategy = StatefulSetStrategy()
    old = defaulted(strategy, deployment(serviceName="db"))
    new = defaulted(strategy, deployment(serviceName="other"))
    assert strategy.validate_update(new, old)[-1]["field"] == "spec"


def test_daemon_set_template_generation_follows_the_template() -> None:
    strategy = DaemonSetStrategy()
    old = defaulted(strategy, deployment())
    assert old["metadata"]["annotations"] == {"deprecated.daemonset.template.generation": "1"}
    new = deployment(template=template({"app": "web", "v": "2"}))
    strategy.default(new)
    strategy.prepare_for_update(new, old)
    assert new["metadata"]["annotations"]["deprecated.daemonset.template.generation"] == "2"


def job(**spec: Any) -> Obj:
    return {"metadata": {"name": "once", "uid": "u-1"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "python:3.11"}]}}, **spec}}


def test_job_selector_is_generated_from_its_uid() -> None:
    obj = defaulted(JobStrategy(), job())
    assert obj["spec"]["selector"] == {"matchLabels": {CONTROLLER_UID: "u-1"}}
    labels = obj["spec"]["template"]["metadata"]["labels"]
    assert labels[CONTROLLER_UID] == labels["controller-uid"] == "u-1"
    assert labels[JOB_NAME] == labels["job-name"] == "once"
    assert obj["metadata"]["labels"] == labels
    assert JobStrategy().validate(obj) == []


def test_job_defaults_are_upstreams() -> None:
    spec = defaulted(JobStrategy(), job())["spec"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"]) == (1, 1, 6)
    assert (spec["completionMode"], spec["suspend"], spec["manualSelector"]) == ("NonIndexed", False, False)
    assert spec["podReplacementPolicy"] == "TerminatingOrFailed"


def test_job_pods_must_not_always_restart() -> None:
    obj = defaulted(JobStrategy(), job(template={"spec": {"containers": [{"name": "c", "image": "x"}]}}))
    assert JobStrategy().validate(obj) == [{"reason": "FieldValueRequired",
                                            "field": "spec.template.spec.restartPolicy",
                                            "message": 'Required value: valid values: "OnFailure", "Never"'}]


def test_job_status_counters_may_not_decrease() -> None:
    old, new = job(), job()
    old["status"], new["status"] = {"succeeded": 2}, {"succeeded": 1}
    assert fields(JobStrategy().validate_status_update(new, old)) == ["status.succeeded"]


def test_job_is_selectable_by_its_successful_count() -> None:
    obj = job()
    obj["status"] = {"succeeded": 3}
    assert JobStrategy().fields(obj)["status.successful"] == "3"


@pytest.mark.parametrize(("schedule", "message"), [
    ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
    ("61 * * * *", "end of range (61) above maximum (59): 61"),
    ("*/0 * * * *", "step of range should be a positive number: */0"),
    ("* * * * mon-fry", 'failed to parse int from fry: strconv.Atoi: parsing "fry": invalid syntax'),
    ("@fortnightly", "unrecognized descriptor: @fortnightly"),
])
def test_invalid_cron_schedules_fail_with_robfig_cron_messages(schedule: str, message: str) -> None:
    with pytest.raises(cron.CronError, match="^" + message.replace("(", r"\(").replace(")", r"\)")
                       .replace("*", r"\*").replace("[", r"\[").replace("]", r"\]") + "$"):
        cron.parse_standard(schedule)


@pytest.mark.parametrize("schedule", ["*/5 * * * *", "0 9 * * mon-fri", "@hourly", "@every 1h30m",
                                      "0 0 1,15 jan,jul ?"])
def test_valid_cron_schedules(schedule: str) -> None:
    cron.parse_standard(schedule)


def test_cronjob_schedule_cause_is_at_spec_schedule() -> None:
    obj = {"metadata": {"name": "tick"}, "spec": {"schedule": "61 * * * *", "jobTemplate": {"spec": job()["spec"]}}}
    CronJobStrategy().default(obj)
    assert CronJobStrategy().validate(obj) == [{"reason": "FieldValueInvalid", "field": "spec.schedule",
                                               "message": 'Invalid value: "61 * * * *": end of range (61) above '
                                                          "maximum (59): 61"}]


def test_replication_controller_selector_and_labels_come_from_the_template() -> None:
    obj = {"metadata": {"name": "rc"}, "spec": {"template": template()}}
    ReplicationControllerStrategy().default(obj)
    assert obj["spec"]["selector"] == {"app": "web"} and obj["metadata"]["labels"] == {"app": "web"}
    assert obj["spec"]["replicas"] == 1


def hpa_v1(**spec: Any) -> Obj:
    return {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "maxReplicas": 5, **spec}}


def test_v1_cpu_target_is_stored_as_a_v2_resource_metric() -> None:
    stored = autoscaling.to_v2(hpa_v1(targetCPUUtilizationPercentage=60))
    assert stored["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]


def test_v1_without_a_target_gets_the_implicit_80_percent() -> None:
    stored = autoscaling.to_v2(hpa_v1())
    assert stored["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 80


def test_v2_metrics_v1_cannot_say_round_trip_through_annotations() -> None:
    v2 = autoscaling.to_v2(hpa_v1(targetCPUUtilizationPercentage=70))
    v2["spec"]["metrics"].insert(0, {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {
        "type": "AverageValue", "averageValue": "10"}}})
    v1 = autoscaling.to_v1(v2)
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 70
    assert autoscaling.METRICS in v1["metadata"]["annotations"]
    assert autoscaling.to_v2(v1)["spec"]["metrics"] == v2["spec"]["metrics"]
    assert "annotations" not in autoscaling.to_v2(v1)["metadata"]


def test_hpa_max_below_min_is_invalid() -> None:
    causes = autoscaling.validate_v2(autoscaling.to_v2(hpa_v1(minReplicas=6)))
    assert causes == [{"reason": "FieldValueInvalid", "field": "spec.maxReplicas",
                       "message": "Invalid value: 5: must be greater than or equal to `minReplicas`"}]
