"""The pod state machine without processes: given spec + observed container states + time, the status."""
from __future__ import annotations

from typing import Any

import pytest

from shim.kubelet import podstate
from shim.kubelet.podstate import Backoff, PodRecord, go_duration, plan, pod_status

T0 = 1_700_000_000.0
BACKOFF = Backoff(10, 300)


def pod(*names: str, policy: str = "Always", inits: tuple[str, ...] = (), **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "u"},
            "spec": {"restartPolicy": policy, "containers": [{"name": n, "image": f"img-{n}"} for n in names],
                     "initContainers": [{"name": n, "image": "i"} for n in inits], **spec},
            "status": {}}


def record(**containers: Any) -> PodRecord:
    rec = PodRecord("u", start_time=T0, sandbox_ready=True)
    return rec


def start(rec: PodRecord, name: str, at: float, cid: str = "") -> None:
    r = rec.container(name)
    podstate.record_started(r, cid or f"{name}-{r.restart_count}-{at}", at, "kubeshim://host")
    r.started = r.ready = True


def exit_(rec: PodRecord, name: str, at: float, code: int, oom: bool = False) -> None:
    podstate.record_exit(rec.container(name), finished_at=at, exit_code=code,
                         reason=podstate.terminated_reason(code, oom), message="", backoff=BACKOFF)


def cs(status: dict, name: str, key: str = "containerStatuses") -> dict:
    return next(s for s in status[key] if s["name"] == name)


def conds(status: dict) -> dict[str, dict]:
    return {c["type"]: c for c in status["conditions"]}


def test_fresh_pod_is_pending_container_creating() -> None:
    p = pod("a")
    st = pod_status(p, PodRecord("u", start_time=T0), T0)
    assert st["phase"] == "Pending"
    assert cs(st, "a")["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert [c["type"] for c in st["conditions"]] == ["PodReadyToStartContainers", "Initialized", "Ready",
                                                     "ContainersReady", "PodScheduled"]
    assert conds(st)["PodReadyToStartContainers"]["status"] == "False"
    assert st["hostIP"] == st["podIP"] == "127.0.0.1" and st["startTime"] == "2023-11-14T22:13:20Z"
    assert plan(p, PodRecord("u", start_time=T0), T0).start == []  # volumes first
    ready = PodRecord("u", start_time=T0, sandbox_ready=True)
    assert plan(p, ready, T0).start == ["a"]


def test_running_and_ready() -> None:
    p, rec = pod("a", "b"), record()
    start(rec, "a", T0 + 1)
    start(rec, "b", T0 + 1)
    st = pod_status(p, rec, T0 + 2)
    assert st["phase"] == "Running"
    a = cs(st, "a")
    assert a["state"] == {"running": {"startedAt": "2023-11-14T22:13:21Z"}} and a["ready"] and a["started"]
    assert a["containerID"].startswith("kubeshim://") and a["imageID"] == "kubeshim://host"
    assert a["lastState"] == {} and a["image"] == "img-a"
    assert conds(st)["Ready"]["status"] == "True"


def test_never_policy_failure() -> None:
    p, rec = pod("a", "b", policy="Never"), record()
    start(rec, "a", T0)
    start(rec, "b", T0)
    exit_(rec, "a", T0 + 5, 2)
    st = pod_status(p, rec, T0 + 6)
    assert st["phase"] == "Running"  # b still runs: upstream waits for all containers
    exit_(rec, "b", T0 + 7, 0)
    st = pod_status(p, rec, T0 + 8)
    assert st["phase"] == "Failed"
    assert cs(st, "a")["state"]["terminated"]["reason"] == "Error"
    assert conds(st)["Ready"]["reason"] == "PodFailed" and conds(st)["ContainersReady"]["reason"] == "PodFailed"
    assert plan(p, rec, T0 + 9).start == []


def test_oom_reason() -> None:
    p, rec = pod("a", policy="Never"), record()
    start(rec, "a", T0)
    exit_(rec, "a", T0 + 1, 137, oom=True)
    term = cs(pod_status(p, rec, T0 + 2), "a")["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (137, "OOMKilled")


def test_crash_loop_backoff_sequence() -> None:
    p, rec = pod("a", policy="Always"), record()
    delays = []
    now = T0
    for _ in range(8):
        start(rec, "a", now)
        exit_(rec, "a", now + 1, 1)
        r = rec.container("a")
        delays.append(r.retry_at - (now + 1))
        now = r.retry_at
    assert delays == [0, 10, 20, 40, 80, 160, 300, 300]
    st = pod_status(p, rec, now - 1)
    waiting = cs(st, "a")["state"]["waiting"]
    assert waiting == {"reason": "CrashLoopBackOff",
                       "message": "back-off 5m0s restarting failed container=a pod=p_ns(u)"}
    assert cs(st, "a")["lastState"]["terminated"]["exitCode"] == 1
    assert cs(st, "a")["restartCount"] == 7
    assert st["phase"] == "Running"
    assert plan(p, rec, now - 1).wake_at == now
    assert plan(p, rec, now).start == ["a"]
    # A long healthy run forgives the past.
    start(rec, "a", now)
    exit_(rec, "a", now + 601, 1)
    assert rec.container("a").retry_at == now + 601


def test_onfailure_mixed() -> None:
    p, rec = pod("a", "b", policy="OnFailure"), record()
    start(rec, "a", T0)
    start(rec, "b", T0)
    exit_(rec, "a", T0 + 1, 0)
    exit_(rec, "b", T0 + 1, 3)
    assert plan(p, rec, T0 + 1).start == ["b"]
    assert pod_status(p, rec, T0 + 1)["phase"] == "Running"
    start(rec, "b", T0 + 2)
    exit_(rec, "b", T0 + 3, 0)
    st = pod_status(p, rec, T0 + 4)
    assert st["phase"] == "Succeeded" and conds(st)["Ready"]["reason"] == "PodCompleted"
    assert cs(st, "b")["restartCount"] == 1


def test_image_pull_backoff_then_retry() -> None:
    p, rec = pod("a"), record()
    podstate.record_start_failure(rec.container("a"), "ErrImagePull", 'Failed to pull image "img-a": x', T0, BACKOFF)
    assert cs(pod_status(p, rec, T0), "a")["state"]["waiting"]["reason"] == "ErrImagePull"
    later = cs(pod_status(p, rec, T0 + 2), "a")["state"]["waiting"]
    assert later == {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "img-a"'}
    assert plan(p, rec, T0 + 2).start == [] and plan(p, rec, T0 + 10).start == ["a"]
    podstate.record_start_failure(rec.container("a"), "ErrImagePull", "x", T0 + 10, BACKOFF)
    assert rec.container("a").retry_at == T0 + 30


def test_init_containers_sequence_and_failure() -> None:
    p, rec = pod("app", policy="Never", inits=("i1", "i2")), record()
    assert plan(p, rec, T0).start == ["i1"]
    start(rec, "i1", T0)
    assert plan(p, rec, T0).start == []
    st = pod_status(p, rec, T0)
    assert cs(st, "app")["state"]["waiting"]["reason"] == "PodInitializing"
    assert conds(st)["Initialized"]["message"] == "containers with incomplete status: [i1 i2]"
    exit_(rec, "i1", T0 + 1, 0)
    assert plan(p, rec, T0 + 1).start == ["i2"]
    start(rec, "i2", T0 + 1)
    exit_(rec, "i2", T0 + 2, 1)
    st = pod_status(p, rec, T0 + 2)
    assert st["phase"] == "Failed" and plan(p, rec, T0 + 2).start == []
    assert cs(st, "i1", "initContainerStatuses")["ready"] is True


def test_deadline_and_deletion() -> None:
    p, rec = pod("a", activeDeadlineSeconds=30), record()
    start(rec, "a", T0)
    assert plan(p, rec, T0 + 1).wake_at == T0 + 30
    out = plan(p, rec, T0 + 30)
    assert out.deadline_exceeded and out.kill == ["a"]
    rec.reason, rec.message = podstate.DEADLINE_REASON, podstate.DEADLINE_MESSAGE
    st = pod_status(p, rec, T0 + 30)
    assert (st["phase"], st["reason"]) == ("Failed", "DeadlineExceeded")
    rec2 = record()
    start(rec2, "a", T0)
    rec2.terminating = True
    assert plan(p, rec2, T0).kill == ["a"]
    exit_(rec2, "a", T0 + 1, 0)
    assert pod_status(p, rec2, T0 + 2)["phase"] == "Succeeded"
    waiting = PodRecord("u", start_time=T0, terminating=True)
    assert pod_status(p, waiting, T0)["phase"] == "Failed"  # deleted before it ever ran


def test_terminal_api_phase_is_sticky() -> None:
    p, rec = pod("a", policy="Always"), record()
    p["status"] = {"phase": "Succeeded"}
    assert pod_status(p, rec, T0)["phase"] == "Succeeded"
    assert plan(p, rec, T0).start == []


def test_transition_times_preserved() -> None:
    p, rec = pod("a"), record()
    start(rec, "a", T0)
    first = pod_status(p, rec, T0)
    p["status"] = first
    again = pod_status(p, rec, T0 + 100)
    assert again == first


def test_readiness_gates() -> None:
    p, rec = pod("a", readinessGates=[{"conditionType": "example.com/gate"}]), record()
    start(rec, "a", T0)
    ready = conds(pod_status(p, rec, T0))["Ready"]
    assert ready["reason"] == "ReadinessGatesNotReady"
    p["status"] = {"conditions": [{"type": "example.com/gate", "status": "True"}]}
    st = pod_status(p, rec, T0)
    assert conds(st)["Ready"]["status"] == "True" and st["conditions"][0]["type"] == "example.com/gate"


@pytest.mark.parametrize("seconds,text", [(0.5, "500ms"), (10, "10s"), (80, "1m20s"), (300, "5m0s"),
                                          (3700, "1h1m40s"), (2.5, "2.5s")])
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text
