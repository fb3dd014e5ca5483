"""Per-kind Table cells, checked against the rules of upstream's pkg/printers/internalversion/printers.go."""
from __future__ import annotations

from shim.machinery import tables
from shim.registry.kinds.events import event_cells
from shim.registry.kinds.nodes import node_cells
from shim.registry.kinds.pods import pod_cells
from shim.registry.kinds.services import service_cells

LONG_AGO = "2020-01-01T00:00:00Z"


def pod(status: dict, **spec) -> dict:
    return {"metadata": {"name": "p", "creationTimestamp": LONG_AGO},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], **spec}, "status": status}


def running(ready: bool = True, restarts: int = 0) -> dict:
    return {"ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": LONG_AGO}}}


def test_pending_pod() -> None:
    assert pod_cells(pod({"phase": "Pending"}))[:3] == ["0/2", "Pending", "0"]


def test_running_pod_counts_ready_containers() -> None:
    cells = pod_cells(pod({"phase": "Running", "containerStatuses": [running(), running(ready=False)]}))
    assert cells[:3] == ["1/2", "Running", "0"]


def test_waiting_reason_wins_and_restarts_show_last_termination() -> None:
    crashed = {"ready": False, "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
               "lastState": {"terminated": {"exitCode": 1, "finishedAt": LONG_AGO}}}
    cells = pod_cells(pod({"phase": "Running", "containerStatuses": [running(), crashed]}))
    assert cells[1] == "CrashLoopBackOff"
    assert cells[2] == f"4 ({tables.since(LONG_AGO)} ago)"


def test_terminated_without_reason_shows_exit_code_or_signal() -> None:
    exited = {"ready": False, "restartCount": 0, "state": {"terminated": {"exitCode": 3}}}
    assert pod_cells(pod({"phase": "Failed", "containerStatuses": [exited]}))[1] == "ExitCode:3"
    killed = {"ready": False, "restartCount": 0, "state": {"terminated": {"exitCode": 137, "signal": 9}}}
    assert pod_cells(pod({"phase": "Failed", "containerStatuses": [killed]}))[1] == "Signal:9"


def test_completed_with_a_running_container_is_not_ready() -> None:
    done = {"ready": False, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    cells = pod_cells(pod({"phase": "Running", "containerStatuses": [running(), done]}))
    assert cells[1] == "NotReady"
    ready = pod({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                 "containerStatuses": [running(), done]})
    assert pod_cells(ready)[1] == "Running"


def test_init_containers_report_progress() -> None:
    spec = {"initContainers": [{"name": "i1"}, {"name": "i2"}]}
    first_done = {"restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    second_running = {"restartCount": 0, "state": {"running": {}}}
    status = {"phase": "Pending", "initContainerStatuses": [first_done, second_running]}
    assert pod_cells(pod(status, **spec))[1] == "Init:1/2"
    failed = {"restartCount": 2, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
    assert pod_cells(pod({"phase": "Pending", "initContainerStatuses": [failed]}, **spec))[1:3] == \
        ["Init:Error", "2"]
    waiting = {"restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff"}}}
    assert pod_cells(pod({"phase": "Pending", "initContainerStatuses": [waiting]}, **spec))[1] == \
        "Init:ImagePullBackOff"


def test_deleting_pod_is_terminating() -> None:
    p = pod({"phase": "Running", "containerStatuses": [running(), running()]})
    p["metadata"]["deletionTimestamp"] = LONG_AGO
    assert pod_cells(p)[:2] == ["2/2", "Terminating"]


def test_pod_wide_cells() -> None:
    p = pod({"phase": "Running", "podIPs": [{"ip": "10.0.0.5"}], "podIP": "10.0.0.5",
             "conditions": [{"type": "example.com/gate", "status": "True"}]},
            nodeName="node-1", readinessGates=[{"conditionType": "example.com/gate"},
                                               {"conditionType": "example.com/other"}])
    assert pod_cells(p)[4:] == ["10.0.0.5", "node-1", "<none>", "1/2"]


def test_node_status_and_roles() -> None:
    node = {"metadata": {"name": "n", "creationTimestamp": LONG_AGO,
                         "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "edge"}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "False"}],
                       "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
                       "nodeInfo": {"kubeletVersion": "v1.34.1"}}}
    cells = node_cells(node)
    assert cells[:2] == ["NotReady,SchedulingDisabled", "control-plane,edge"]
    assert cells[3:] == ["v1.34.1", "10.0.0.1", "<none>", "<unknown>", "<unknown>", "<unknown>"]


def test_service_cells_by_type() -> None:
    lb = {"metadata": {"creationTimestamp": LONG_AGO},
          "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.0.10"],
                   "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]},
          "status": {"loadBalancer": {}}}
    assert service_cells(lb)[:4] == ["LoadBalancer", "10.96.0.10", "<pending>", "80:30080/TCP"]
    external = {"metadata": {}, "spec": {"type": "ExternalName", "externalName": "example.com"}}
    assert service_cells(external)[:5] == ["ExternalName", "<none>", "example.com", "<none>", "<unknown>"]


def test_event_cells_from_both_api_shapes() -> None:
    core = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
            "involvedObject": {"kind": "Pod", "name": "web"}, "reason": "Killing", "type": "Normal",
            "message": "Stopping", "firstTimestamp": LONG_AGO, "lastTimestamp": LONG_AGO, "count": 2,
            "source": {"component": "kubelet"}}
    cells = event_cells(core)
    assert cells[1:] == ["Normal", "Killing", "pod/web", "", "kubelet", "Stopping", tables.since(LONG_AGO), 2, "e"]
    v1 = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"},
          "regarding": {"kind": "Node", "name": "n1"}, "reason": "Ready", "type": "Normal", "note": "up",
          "eventTime": "2020-01-01T00:00:00.000000Z", "reportingController": "kubelet",
          "reportingInstance": "n1"}
    assert event_cells(v1)[1:] == ["Normal", "Ready", "node/n1", "", "kubelet, n1", "up",
                                   tables.since(LONG_AGO), 1, "e"]


def test_table_rows_without_objects_say_so_with_null() -> None:
    """includeObject=None: each row's object is null, as upstream's RawExtension marshals when empty."""
    obj = {"metadata": {"name": "p", "creationTimestamp": LONG_AGO}}
    table = tables.table([obj], [], lambda o: [], {}, include_object="None")
    assert table["rows"] == [{"cells": ["p", tables.age(obj)], "object": None}]
