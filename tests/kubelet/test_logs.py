"""Pod logs: the options of GET pods/log, previous instances, follow, and upstream's 400 messages."""
from __future__ import annotations

import re
import time

import pytest

from shim.kubelet.logs import LogOptions, read_log
from shim.machinery.errors import StatusError

from .conftest import Harness, make_pod


async def collect(harness: Harness, pod: dict, container: str = "", **opts) -> bytes:
    stream = await read_log(pod, container, LogOptions(**opts), provider=harness.kubelet.provider)
    return b"".join([chunk async for chunk in stream])


async def test_log_options(harness: Harness) -> None:
    await harness.start()
    script = "echo one; sleep 0.3; echo two; echo err >&2; printf 'no newline'"
    await harness.create(make_pod("logs", [{"name": "c", "command": ["sh", "-c", script]}], restartPolicy="Never"))
    pod = await harness.wait_phase("logs", "Succeeded")
    assert await collect(harness, pod) == b"one\ntwo\nerr\nno newline"  # as the program wrote it: no last newline
    assert await collect(harness, pod, "c", tail_lines=2) == b"err\nno newline"
    assert await collect(harness, pod, tail_lines=0) == b""
    assert await collect(harness, pod, limit_bytes=6) == b"one\ntw"
    stamped = (await collect(harness, pod, timestamps=True)).decode().splitlines()
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z one$", stamped[0])
    second = stamped[1].split(" ")[0]
    assert await collect(harness, pod, since_time=second) == b"two\nerr\nno newline"
    assert await collect(harness, pod, since_seconds=3600) == b"one\ntwo\nerr\nno newline"


async def test_previous_and_follow(harness: Harness) -> None:
    await harness.start()
    script = "echo run-$(date +%s%N); sleep 0.2; exit 1"
    await harness.create(make_pod("prev", [{"name": "c", "command": ["sh", "-c", script]}],
                                  restartPolicy="OnFailure"))
    pod = await harness.wait_status("prev", lambda p: harness.container_status(p, "c")["restartCount"] >= 1
                                    and "running" in harness.container_status(p, "c")["state"])
    previous = await collect(harness, pod, previous=True)
    current_stream = await read_log(pod, "", LogOptions(follow=True), provider=harness.kubelet.provider)
    started = time.monotonic()
    current = b"".join([c async for c in current_stream])
    assert previous.startswith(b"run-") and current.startswith(b"run-") and previous != current
    assert time.monotonic() - started < 3  # follow ended with the instance


async def test_log_errors(harness: Harness) -> None:
    await harness.start()
    await harness.create(make_pod("two", [{"name": "a", "command": ["sleep", "5"]},
                                          {"name": "b", "command": ["true"]}],
                                  initContainers=[{"name": "i", "image": "x", "command": ["true"]}]))
    pod = await harness.wait_status("two", lambda p: "running" in harness.container_status(p, "a")["state"])
    with pytest.raises(StatusError) as err:
        await read_log(pod, "", LogOptions(), provider=harness.kubelet.provider)
    assert err.value.code == 400
    assert err.value.message == ("a container name must be specified for pod two, choose one of: [a b] "
                                 "or one of the init containers: [i]")
    with pytest.raises(StatusError) as err:
        await read_log(pod, "zzz", LogOptions(), provider=harness.kubelet.provider)
    assert err.value.message == "container zzz is not valid for pod two"
    with pytest.raises(StatusError) as err:
        await read_log(pod, "a", LogOptions(previous=True), provider=harness.kubelet.provider)
    assert err.value.message == 'previous terminated container "a" in pod "two" not found'
    with pytest.raises(StatusError) as err:
        await read_log(pod, "a", LogOptions(tail_lines=-1), provider=harness.kubelet.provider)
    assert err.value.code == 422
    pending = make_pod("pending", [{"name": "c"}])
    pending["metadata"]["uid"] = "x"
    pending["spec"]["nodeName"] = "kubeshim"
    pending["status"] = {"containerStatuses": [{"name": "c", "state": {"waiting": {"reason": "ContainerCreating"}},
                                                "lastState": {}}]}
    with pytest.raises(StatusError) as err:
        await read_log(pending, "c", LogOptions(), provider=harness.kubelet.provider)
    assert err.value.message == 'container "c" in pod "pending" is waiting to start: ContainerCreating'


async def test_termination_message_and_fallback_to_logs(harness: Harness) -> None:
    await harness.start()
    lines = "; ".join(f"echo line{i}" for i in range(100))
    await harness.create(make_pod("msg", [
        {"name": "file", "command": ["sh", "-c", "echo done-ok > /dev/termination-log; exit 0"]},
        {"name": "unterminated", "command": ["sh", "-c", "printf DONE; exit 1"],
         "terminationMessagePolicy": "FallbackToLogsOnError"},
        {"name": "logs", "command": ["sh", "-c", f"{lines}; exit 2"],
         "terminationMessagePolicy": "FallbackToLogsOnError"}], restartPolicy="Never"))
    pod = await harness.wait_phase("msg", "Failed")
    logs_msg = harness.container_status(pod, "logs")["state"]["terminated"]["message"]
    assert logs_msg.splitlines()[0] == "line20" and logs_msg.splitlines()[-1] == "line99"
    assert harness.container_status(pod, "unterminated")["state"]["terminated"]["message"] == "DONE"
    if harness.caps[0]:  # the termination-log file only exists inside a private mount namespace
        assert harness.container_status(pod, "file")["state"]["terminated"]["message"] == "done-ok\n"


