"""Restart policies, crash-loop back-off, init containers, deadlines and waiting reasons."""
from __future__ import annotations

from .conftest import Harness, make_pod


async def test_onfailure_restarts_with_backoff_and_counts(harness: Harness) -> None:
    await harness.start()
    await harness.create(make_pod("crash", [{"name": "c", "command": ["sh", "-c", "echo run; exit 1"]}],
                                  restartPolicy="OnFailure"))
    pod = await harness.wait_status("crash", lambda p: harness.container_status(p, "c")["restartCount"] >= 3,
                                    timeout=15)
    st = harness.container_status(pod, "c")
    assert st["lastState"]["terminated"]["exitCode"] == 1
    assert pod["status"]["phase"] in ("Running", "Pending")
    # Back-off: restarts are spaced (immediate, 0.3s, 0.6s, ...) and CrashLoopBackOff shows while waiting.
    seen = await harness.wait_status("crash", lambda p: harness.container_status(p, "c")["state"].get(
        "waiting", {}).get("reason") == "CrashLoopBackOff", timeout=10)
    message = harness.container_status(seen, "c")["state"]["waiting"]["message"]
    assert message.startswith("back-off ") and "restarting failed container=c pod=crash_default(" in message
    record = harness.kubelet.workers[pod["metadata"]["uid"]].record.containers["c"]
    assert record.backoff <= harness.config.backoff_max


async def test_onfailure_success_is_not_restarted(harness: Harness) -> None:
    await harness.start()
    await harness.create(make_pod("once", [{"name": "c", "command": ["sh", "-c", "exit 0"]}],
                                  restartPolicy="OnFailure"))
    pod = await harness.wait_phase("once", "Succeeded")
    assert harness.container_status(pod, "c")["restartCount"] == 0


async def test_always_restarts_even_on_success(harness: Harness) -> None:
    await harness.start()
    await harness.create(make_pod("loop", [{"name": "c", "command": ["true"]}]))
    pod = await harness.wait_status("loop", lambda p: harness.container_status(p, "c")["restartCount"] >= 2)
    assert pod["status"]["phase"] == "Running"


async def test_init_containers_run_in_order(harness: Harness, tmp_path) -> None:
    out = tmp_path / "order"
    await harness.start()
    pod = make_pod("init", [{"name": "app", "command": ["sh", "-c", f"echo app >> {out}"]}],
                   restartPolicy="Never",
                   initContainers=[{"name": "one", "image": "x",
                                    "command": ["sh", "-c", f"sleep 0.2; echo one >> {out}"]},
                                   {"name": "two", "image": "x", "command": ["sh", "-c", f"echo two >> {out}"]}])
    await harness.create(pod)
    seen = await harness.wait_status("init", lambda p: harness.container_status(p, "app")["state"].get(
        "waiting", {}).get("reason") == "PodInitializing")
    assert seen["status"]["phase"] == "Pending"
    done = await harness.wait_phase("init", "Succeeded")
    assert out.read_text().split() == ["one", "two", "app"]
    assert all(s["ready"] for s in done["status"]["initContainerStatuses"])


async def test_failing_init_container_fails_the_pod(harness: Harness, tmp_path) -> None:
    marker = tmp_path / "app-ran"
    await harness.start()
    pod = make_pod("badinit", [{"name": "app", "command": ["touch", str(marker)]}], restartPolicy="Never",
                   initContainers=[{"name": "init", "image": "x", "command": ["sh", "-c", "exit 7"]},
                                   {"name": "later", "image": "x", "command": ["true"]}])
    await harness.create(pod)
    done = await harness.wait_phase("badinit", "Failed")
    init = harness.container_status(done, "init", init=True)
    assert init["state"]["terminated"]["exitCode"] == 7
    assert harness.container_status(done, "later", init=True)["state"]["waiting"]["reason"] == "PodInitializing"
    assert harness.container_status(done, "app")["state"]["waiting"]["reason"] == "PodInitializing"
    conds = {c["type"]: c for c in done["status"]["conditions"]}
    assert conds["Initialized"]["status"] == "False"
    assert conds["Initialized"]["message"] == "containers with incomplete status: [init later]"
    assert not marker.exists()


async def test_init_failure_restarts_under_onfailure(harness: Harness) -> None:
    await harness.start()
    pod = make_pod("retryinit", [{"name": "app", "command": ["true"]}], restartPolicy="OnFailure",
                   initContainers=[{"name": "init", "image": "x", "command": ["false"]}])
    await harness.create(pod)
    seen = await harness.wait_status("retryinit", lambda p: harness.container_status(
        p, "init", init=True)["restartCount"] >= 2)
    assert seen["status"]["phase"] == "Pending"


async def test_active_deadline(harness: Harness) -> None:
    await harness.start()
    await harness.create(make_pod("dl", [{"name": "c", "command": ["sleep", "1000"]}], activeDeadlineSeconds=1,
                                  terminationGracePeriodSeconds=1))
    pod = await harness.wait_phase("dl", "Failed", timeout=10)
    assert pod["status"]["reason"] == "DeadlineExceeded"
    assert pod["status"]["message"] == "Pod was active on the node longer than the specified deadline"
    # Upstream reports Failed at once and the container as terminated once it is stopped.
    pod = await harness.wait_status("dl", lambda p: "terminated" in harness.container_status(p, "c")["state"])
    term = harness.container_status(pod, "c")["state"]["terminated"]
    assert term["exitCode"] in (137, 143) and term["reason"] == "Error"


async def test_image_without_rule_backs_off(harness: Harness) -> None:
    harness.config.image_rules = [{"match": "python:*", "host": True}]
    await harness.start()
    await harness.create(make_pod("img", [{"name": "c", "image": "nope/never:1", "command": ["true"]}]))
    pod = await harness.wait_status("img", lambda p: harness.container_status(p, "c")["state"].get(
        "waiting", {}).get("reason") == "ErrImagePull")
    assert "nope/never:1" in harness.container_status(pod, "c")["state"]["waiting"]["message"]
    pod = await harness.wait_status("img", lambda p: harness.container_status(p, "c")["state"].get(
        "waiting", {}).get("reason") == "ImagePullBackOff")
    assert harness.container_status(pod, "c")["state"]["waiting"]["message"] == 'Back-off pulling image "nope/never:1"'
    assert pod["status"]["phase"] == "Pending"


async def test_missing_executable_is_create_container_error(harness: Harness) -> None:
    await harness.start()
    await harness.create(make_pod("noexe", [{"name": "c", "command": ["no-such-program-xyz"]}],
                                  restartPolicy="Never"))
    pod = await harness.wait_status("noexe", lambda p: harness.container_status(p, "c")["state"].get(
        "waiting", {}).get("reason") == "CreateContainerError")
    assert harness.container_status(pod, "c")["state"]["waiting"]["message"] == \
        'exec: "no-such-program-xyz": executable file not found in $PATH'


async def test_missing_configmap_is_config_error(harness: Harness) -> None:
    await harness.start()
    env = [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k"}}}]
    await harness.create(make_pod("nocm", [{"name": "c", "command": ["true"], "env": env}]))
    pod = await harness.wait_status("nocm", lambda p: harness.container_status(p, "c")["state"].get(
        "waiting", {}).get("reason") == "CreateContainerConfigError")
    assert harness.container_status(pod, "c")["state"]["waiting"]["message"] == 'configmap "absent" not found'
    # Once the ConfigMap exists the container starts.
    from shim.clients.base import CONFIGMAPS

    await harness.client.create(CONFIGMAPS, {"metadata": {"name": "absent"}, "data": {"k": "v"}}, "default")
    await harness.wait_status("nocm", lambda p: harness.container_status(p, "c")["restartCount"] >= 1
                              or "running" in harness.container_status(p, "c")["state"]
                              or "terminated" in harness.container_status(p, "c")["state"])
