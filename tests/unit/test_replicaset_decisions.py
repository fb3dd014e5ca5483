"""The ReplicaSet controller's decisions, without a server: which pods it claims, creates and deletes first, and
the status it reports (pkg/controller/replicaset, controller_utils.go ActivePodsWithRanks)."""
from __future__ import annotations

from typing import Any

from shim.controllers import podutil
from shim.controllers.controllerref import claim_plan
from shim.controllers.replicaset import calculate_status, scale_plan, status_unchanged
from shim.kubelet.timeutil import rfc3339
from shim.machinery.labels import selector_from_match

NOW = 1_700_000_000.0
RS = {"metadata": {"name": "web", "namespace": "default", "uid": "rs-uid", "generation": 2},
      "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
               "template": {"metadata": {"labels": {"app": "web", "tier": "front"}}}}}
SELECTOR = selector_from_match({"app": "web"})


def pod(name: str, *, labels: Any = None, owner: str | None = "rs-uid", node: str = "node", phase: str = "Running",
        ready_since: float | None = None, created: float = NOW - 1000, cost: int | None = None,
        restarts: int = 0, **meta: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                                "labels": {"app": "web"} if labels is None else labels,
                                "creationTimestamp": rfc3339(created), **meta}
    if owner:
        metadata["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "x", "uid": owner,
                                        "controller": True}]
    if cost is not None:
        metadata["annotations"] = {podutil.DELETION_COST: str(cost)}
    conditions = [] if ready_since is None else [{"type": "Ready", "status": "True",
                                                  "lastTransitionTime": rfc3339(ready_since)}]
    return {"metadata": metadata, "spec": {"nodeName": node},
            "status": {"phase": phase, "conditions": conditions,
                       "containerStatuses": [{"name": "c", "restartCount": restarts}]}}


def names(pods: list[dict[str, Any]]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def test_matching_orphans_are_adopted_and_owned_pods_kept() -> None:
    claim = claim_plan(RS, SELECTOR, [pod("mine"), pod("orphan", owner=None)])
    assert names(claim.owned) == ["mine", "orphan"] and names(claim.adopt) == ["orphan"] and not claim.release


def test_owned_pods_that_stopped_matching_are_released() -> None:
    claim = claim_plan(RS, SELECTOR, [pod("relabeled", labels={"app": "other"})])
    assert not claim.owned and names(claim.release) == ["relabeled"]


def test_pods_of_another_controller_are_left_alone() -> None:
    claim = claim_plan(RS, SELECTOR, [pod("theirs", owner="other-uid")])
    assert claim == type(claim)([], [], [])


def test_a_deleting_replicaset_neither_adopts_nor_releases() -> None:
    deleting = {**RS, "metadata": {**RS["metadata"], "deletionTimestamp": rfc3339(NOW)}}
    claim = claim_plan(deleting, SELECTOR, [pod("orphan", owner=None), pod("relabeled", labels={"x": "y"})])
    assert not claim.adopt and not claim.release


def test_orphans_being_deleted_are_not_adopted() -> None:
    claim = claim_plan(RS, SELECTOR, [pod("going", owner=None, deletionTimestamp=rfc3339(NOW))])
    assert not claim.adopt


def test_too_few_pods_creates_the_difference_capped_by_the_burst() -> None:
    assert scale_plan(3, [pod("a")], [], NOW).create == 2
    assert scale_plan(1000, [], [], NOW).create == 500


def test_scale_down_deletes_unscheduled_then_pending_then_not_ready_first() -> None:
    pods = [pod("ready", ready_since=NOW - 100), pod("notready"), pod("pending", phase="Pending"),
            pod("unscheduled", node="", phase="Pending")]
    assert names(scale_plan(0, pods, pods, NOW).delete) == names(pods)  # all go: no ranking needed
    assert names(scale_plan(1, pods, pods, NOW).delete) == ["unscheduled", "pending", "notready"]


def test_lower_pod_deletion_cost_goes_first() -> None:
    pods = [pod("dear", ready_since=NOW - 100, cost=100), pod("cheap", ready_since=NOW - 100, cost=-5)]
    assert names(scale_plan(1, pods, pods, NOW).delete) == ["cheap"]


def test_doubled_up_pods_go_before_lonely_ones() -> None:
    pods = [pod("alone", node="n1", ready_since=NOW - 100), pod("crowded", node="n2", ready_since=NOW - 100)]
    related = pods + [pod("sibling", node="n2", owner="sibling-rs")]
    assert names(scale_plan(1, pods, related, NOW).delete) == ["crowded"]


def test_recently_ready_goes_before_long_ready_in_log_buckets() -> None:
    pods = [pod("old", ready_since=NOW - 10_000), pod("fresh", ready_since=NOW - 10)]
    assert names(scale_plan(1, pods, pods, NOW).delete) == ["fresh"]


def test_more_restarts_go_first() -> None:
    pods = [pod("steady", ready_since=NOW - 100), pod("flaky", ready_since=NOW - 100, restarts=4)]
    assert names(scale_plan(1, pods, pods, NOW).delete) == ["flaky"]


def test_status_counts_labeled_ready_and_available_after_min_ready_seconds() -> None:
    rs = {**RS, "spec": {**RS["spec"], "minReadySeconds": 30}}
    pods = [pod("a", labels={"app": "web", "tier": "front"}, ready_since=NOW - 60),
            pod("b", ready_since=NOW - 5), pod("c")]
    status = calculate_status(rs, {"app": "web", "tier": "front"}, pods, None, NOW)
    assert (status["replicas"], status["fullyLabeledReplicas"], status["readyReplicas"],
            status["availableReplicas"]) == (3, 1, 2, 1)


def test_a_failed_create_sets_replica_failure_and_success_clears_it() -> None:
    status = calculate_status(RS, {}, [], "pods is forbidden: exceeded quota", NOW)
    assert status["conditions"] == [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                                     "message": "pods is forbidden: exceeded quota",
                                     "lastTransitionTime": rfc3339(NOW)}]
    cleared = calculate_status({**RS, "status": status}, {}, [], None, NOW)
    assert "conditions" not in cleared


def test_status_is_rewritten_until_the_generation_is_observed() -> None:
    counts = {"replicas": 0, "fullyLabeledReplicas": 0, "readyReplicas": 0, "availableReplicas": 0}
    assert not status_unchanged({**RS, "status": {**counts, "observedGeneration": 1}}, counts)
    assert status_unchanged({**RS, "status": {**counts, "observedGeneration": 2}}, counts)


def test_pods_are_named_after_their_controller_and_carry_its_reference() -> None:
    ref = podutil.controller_ref(RS, "apps/v1", "ReplicaSet")
    made = podutil.pod_from_template(RS["spec"]["template"], RS, ref)
    assert made["metadata"]["generateName"] == "web-"
    assert made["metadata"]["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                                                    "uid": "rs-uid", "controller": True,
                                                    "blockOwnerDeletion": True}]
    assert made["metadata"]["labels"] == {"app": "web", "tier": "front"}
