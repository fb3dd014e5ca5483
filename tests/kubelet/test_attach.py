"""Attaching to a container's own program (what `kubectl attach` and `kubectl run -i` reach): its stdin when the
container has `stdin: true` (closed after the first attach with `stdinOnce`), its terminal with `tty: true`
(output to the log and to attached clients, resizes), its output from the moment of attaching, and all of it
through the supervisor, so that a restarted kubelet attaches to containers it re-adopted."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from shim.registry.services import Execution

from harness import wait_for_async

from .conftest import Harness, make_pod


async def _running(harness: Harness, pod: dict[str, Any]) -> dict[str, Any]:
    name = pod["metadata"]["name"]
    await harness.create(pod)
    return await harness.wait_status(name, lambda p: "running" in harness.container_status(p, "c")["state"])


async def _attach(harness: Harness, pod: dict[str, Any], stdin: bool = True) -> Execution:
    assert harness.kubelet is not None
    return await harness.kubelet.attach_to(pod, "c", stdin)()


async def _read_until(stream: asyncio.StreamReader | None, marker: bytes, timeout: float = 10.0) -> bytes:
    assert stream is not None
    seen = b""
    async with asyncio.timeout(timeout):
        while marker not in seen:
            chunk = await stream.read(4096)
            assert chunk, f"the stream ended before {marker!r}: {seen!r}"
            seen += chunk
    return seen


def _log(harness: Harness, pod: dict[str, Any]) -> str:
    cid = harness.container_status(pod, "c")["containerID"].split("://")[1]
    return (harness.config.pod_dir(pod["metadata"]["uid"]) / "containers" / cid / "container.log").read_text()


LOOP = "while read line; do echo got:$line; done; echo stdin ended"


async def test_attached_input_reaches_the_programs_stdin(harness: Harness) -> None:
    await harness.start()
    pod = await _running(harness, make_pod("in", [{"name": "c", "stdin": True, "command": ["sh", "-c", LOOP]}]))
    session = await _attach(harness, pod)
    assert session.stdin is not None
    session.stdin.write(b"one\n")
    await session.stdin.drain()
    assert b"got:one\n" in await _read_until(session.stdout, b"got:one")
    session.kill()


async def test_stdin_once_closes_the_programs_stdin_when_the_first_attach_ends_its_input(harness: Harness) -> None:
    await harness.start()
    pod = await _running(harness, make_pod("once", [{"name": "c", "stdin": True, "stdinOnce": True,
                                                     "command": ["sh", "-c", LOOP]}], restartPolicy="Never"))
    session = await _attach(harness, pod)
    assert session.stdin is not None
    session.stdin.write(b"one\n")
    session.stdin.close()
    assert (await _read_until(session.stdout, b"stdin ended")).endswith(b"got:one\nstdin ended\n")
    assert await asyncio.wait_for(session.wait(), 10) == 0  # the program ended: so did the session
    await harness.wait_phase("once", "Succeeded")


async def test_without_stdin_once_the_stdin_stays_open_for_the_next_attach(harness: Harness) -> None:
    await harness.start()
    pod = await _running(harness, make_pod("many", [{"name": "c", "stdin": True, "command": ["sh", "-c", LOOP]}]))
    first = await _attach(harness, pod)
    assert first.stdin is not None
    first.stdin.write(b"one\n")
    first.stdin.close()
    await _read_until(first.stdout, b"got:one")
    first.kill()
    second = await _attach(harness, pod)
    assert second.stdin is not None
    second.stdin.write(b"two\n")
    assert b"stdin ended" not in await _read_until(second.stdout, b"got:two")
    second.kill()


async def test_attach_streams_the_output_written_after_it(harness: Harness, tmp_path: Path) -> None:
    go = tmp_path / "go"
    script = f"echo before; while [ ! -e {go} ]; do sleep 0.05; done; echo after; echo to-stderr >&2; exit 3"
    await harness.start()
    pod = await _running(harness, make_pod("out", [{"name": "c", "command": ["sh", "-c", script]}],
                                           restartPolicy="Never"))
    await wait_for_async(lambda: "before" in _log(harness, pod))
    session = await _attach(harness, pod, stdin=False)
    assert session.stdin is None and session.stderr is not None
    go.touch()
    assert await _read_until(session.stdout, b"after") == b"after\n"
    assert await _read_until(session.stderr, b"to-stderr") == b"to-stderr\n"
    assert await asyncio.wait_for(session.wait(), 10) == 0  # attach reports no exit code
    await harness.wait_phase("out", "Failed")


async def test_a_tty_container_runs_on_a_terminal_that_takes_resizes(harness: Harness) -> None:
    script = "tty; read line; stty size; echo got:$line"
    await harness.start()
    pod = await _running(harness, make_pod("term", [{"name": "c", "stdin": True, "tty": True,
                                                     "command": ["sh", "-c", script]}], restartPolicy="Never"))
    await wait_for_async(lambda: "/dev/pts/" in _log(harness, pod))
    session = await _attach(harness, pod)
    assert session.stdin is not None and session.stderr is None  # a terminal has one output
    session.resize(111, 33)
    session.stdin.write(b"typed\n")
    output = await _read_until(session.stdout, b"got:typed")
    assert b"typed\r\n33 111\r\ngot:typed" in output  # the terminal echoes, and turns \n into \r\n
    await harness.wait_phase("term", "Succeeded")
    assert "33 111" in _log(harness, pod)


async def test_a_restarted_kubelet_attaches_to_a_container_it_readopted(harness: Harness) -> None:
    await harness.start()
    pod = await _running(harness, make_pod("kept", [{"name": "c", "stdin": True, "command": ["sh", "-c", LOOP]}]))
    await harness.stop()
    await harness.start()
    await wait_for_async(lambda: harness.kubelet is not None and pod["metadata"]["uid"] in harness.kubelet.workers)
    session = await _attach(harness, pod)
    assert session.stdin is not None
    session.stdin.write(b"again\n")
    await _read_until(session.stdout, b"got:again")
    session.kill()
