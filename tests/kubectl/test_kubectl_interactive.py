"""kubectl's interactive verbs against a kubeshim with its kubelet: exec (pipes and a TTY driven through a pty),
attach and `run -it`, port-forward with an HTTP request through it, cp both ways, and the refusals. kubectl 1.27
speaks SPDY to the server, 1.33 and 1.34 WebSocket (v5.channel.k8s.io, and SPDY tunnelled through a WebSocket
for port-forward); 1.34 is the one tools/k8s/build.sh builds (skipped unless built; built under CI=true)."""
from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import BUILT_KUBECTL, free_port, kubectl_path, start_kubeshim, wait_for
from kubectl_helpers import Kubectl, unique

pytestmark = pytest.mark.kubectl

VERSIONS = ("1.27", "1.33", BUILT_KUBECTL)
SLEEP = ["sleep", "600"]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A kubeshim of our own, with its kubelet: the session's server runs none."""
    server = start_kubeshim(tmp_path_factory.mktemp("interactive") / "data")
    yield server.kubeconfig
    server.stop()


@pytest.fixture(scope="module", params=VERSIONS, ids=[f"kubectl-{v}" for v in VERSIONS])
def kubectl(request: pytest.FixtureRequest, node: Path, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    home = tmp_path_factory.mktemp(f"interactive-{request.param}-home")
    return Kubectl(request.param, kubectl_path(request.param), home, node)


@pytest.fixture(scope="module")
def pod(kubectl: Kubectl) -> str:
    """A running pod: `main` runs, `quick` has exited."""
    name = unique("sh")
    kubectl.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "restartPolicy": "Never", "containers": [{"name": "main", "image": "python:3.11", "command": SLEEP,
                                                  "env": [{"name": "GREETING", "value": "from the pod spec"}]},
                                                 {"name": "quick", "image": "python:3.11", "command": ["true"]}]}})
    wait_for(lambda: _container_state(kubectl, name, "quick") == "terminated", 30, "quick to exit")
    wait_for(lambda: _container_state(kubectl, name, "main") == "running", 30, "main to run")
    return name


def _container_state(kubectl: Kubectl, pod: str, container: str) -> str:
    status = kubectl.get_json("pod", pod).get("status") or {}
    for entry in status.get("containerStatuses") or []:
        if entry["name"] == container:
            return next(iter(entry.get("state") or {"": None}))
    return ""


def test_exec_answers_the_commands_output_and_exit_code(kubectl: Kubectl, pod: str) -> None:
    result = kubectl.run("exec", pod, "-c", "main", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (result.returncode, result.stdout) == (3, "out\n")
    assert "err\n" in result.stderr and "command terminated with exit code 3" in result.stderr


def test_exec_passes_stdin_to_the_command(kubectl: Kubectl, pod: str) -> None:
    assert kubectl.ok("exec", "-i", pod, "-c", "main", "--", "cat", input="one\ntwo\n") == "one\ntwo\n"


def test_exec_runs_in_the_containers_environment(kubectl: Kubectl, pod: str) -> None:
    assert kubectl.ok("exec", pod, "-c", "main", "--", "printenv", "GREETING") == "from the pod spec\n"


def test_exec_with_a_tty_gets_a_terminal_of_the_clients_size(kubectl: Kubectl, pod: str) -> None:
    script = "tty; stty size; read line; echo got:$line; exit 4"
    output, code = _on_a_terminal(kubectl, ["exec", "-it", pod, "-c", "main", "--", "sh", "-c", script],
                                  answer_after=b"33 111", answer=b"typed\r")
    assert re.search(rb"/dev/pts/\d+\r\n33 111\r\n", output), output
    assert b"got:typed" in output and code == 4


def _on_a_terminal(kubectl: Kubectl, args: list[str], answer_after: bytes, answer: bytes) -> tuple[bytes, int]:
    """Run kubectl on a pty of 111x33, type `answer` once `answer_after` was printed; its output and exit code."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.environ.clear()
        os.environ.update(kubectl.env)
        os.execv(kubectl.binary, kubectl.argv(tuple(args)))
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
    output, answered, deadline = b"", False, time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        if not answered and answer_after in output:
            os.write(fd, answer)
            answered = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return output, os.waitstatus_to_exitcode(status)


def test_run_with_a_tty_attaches_to_the_containers_terminal(kubectl: Kubectl) -> None:
    name = unique("run-it")
    output, code = _on_a_terminal(kubectl, ["run", name, "-it", "--restart=Never", "--image=python:3.11", "--",
                                            "sh", "-c", "read line; tty; echo got:$line; exit 5"],
                                  answer_after=b"If you don't see a command prompt", answer=b"typed\r")
    assert re.search(rb"typed\r\n/dev/pts/\d+\r\ngot:typed\r\n", output), output
    assert code == 5  # --restart=Never: kubectl answers the container's exit code


def test_attach_with_stdin_feeds_a_container_reading_it(kubectl: Kubectl) -> None:
    name = unique("reader")
    kubectl.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "restartPolicy": "Never", "containers": [{
            "name": "main", "image": "python:3.11", "stdin": True, "stdinOnce": True,
            "command": ["sh", "-c", "while read line; do echo got:$line; done; echo stdin ended"]}]}})
    wait_for(lambda: _container_state(kubectl, name, "main") == "running", 30, "the reader to run")
    assert kubectl.ok("attach", "-i", name, "-c", "main", input="one\ntwo\n") == "got:one\ngot:two\nstdin ended\n"
    wait_for(lambda: _container_state(kubectl, name, "main") == "terminated", 30, "stdinOnce to end the reader")


def test_attach_streams_the_containers_output_from_now_on(kubectl: Kubectl) -> None:
    name = unique("ticker")
    kubectl.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [{
        "name": "main", "image": "python:3.11",
        "command": ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done"]}]}})
    wait_for(lambda: "tick 3" in kubectl.run("logs", name).stdout, 30, "a few ticks")
    logged = max(int(line.split()[1]) for line in kubectl.ok("logs", name).splitlines())
    attached = kubectl.background("attach", name, "-c", "main")
    try:
        first = attached.wait_for_line(lambda line: line.startswith("tick "))
        assert int(first.split()[1]) > logged  # what was written before it attached is the log's, not its
        attached.wait_for_line(lambda line: line == f"tick {int(first.split()[1]) + 1}")
    finally:
        attached.stop()
    kubectl.ok("delete", "pod", name, "--wait=false")


def test_exec_into_a_finished_container_is_refused(kubectl: Kubectl, pod: str) -> None:
    result = kubectl.fails("exec", pod, "-c", "quick", "--", "true")
    assert 'container not found ("quick")' in result.stderr


def test_exec_into_a_container_the_pod_lacks_is_a_bad_request(kubectl: Kubectl, pod: str) -> None:
    result = kubectl.fails("exec", pod, "-c", "nope", "--", "true")
    assert f"Error from server (BadRequest): container nope is not valid for pod {pod}" in result.stderr


def test_exec_leaves_nothing_running_when_the_client_goes(kubectl: Kubectl, pod: str) -> None:
    marker = unique("left")
    background = kubectl.background("exec", pod, "-c", "main", "--", "sh", "-c", f"echo started; sleep 611 # {marker}")
    background.wait_for_line(lambda line: "started" in line)
    background.stop()
    wait_for(lambda: not _running(marker), 10, "the command to be killed")


def _running(marker: str) -> bool:
    import psutil
    return any(marker in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"]))


def test_cp_copies_a_file_into_and_out_of_the_container(kubectl: Kubectl, pod: str, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("through tar\n")
    inside = f"/tmp/{unique('cp')}.txt"
    kubectl.ok("cp", str(source), f"{pod}:{inside}", "-c", "main")
    assert kubectl.ok("exec", pod, "-c", "main", "--", "cat", inside) == "through tar\n"
    back = tmp_path / "out.txt"
    kubectl.ok("cp", f"{pod}:{inside}", str(back), "-c", "main")
    assert back.read_text() == "through tar\n"


@pytest.fixture(scope="module")
def web(kubectl: Kubectl) -> tuple[str, int]:
    """A pod serving HTTP on a free port of the (shared) host network."""
    port, name = free_port(), unique("web")
    kubectl.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [{
        "name": "web", "image": "python:3.11",
        "command": [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]}]}})
    wait_for(lambda: _answers(f"http://127.0.0.1:{port}/"), 30, "the web pod to listen")
    return name, port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_port_forward_carries_an_http_request(kubectl: Kubectl, web: tuple[str, int]) -> None:
    name, port = web
    forward = kubectl.background("port-forward", f"pod/{name}", f":{port}")
    try:
        line = forward.wait_for_line(lambda text: text.startswith("Forwarding from 127.0.0.1:"))
        local = int(line.split("127.0.0.1:")[1].split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=10) as response:
            assert response.status == 200 and b"Directory listing" in response.read()
    finally:
        forward.stop()


def test_port_forward_to_a_closed_port_reports_the_refusal(kubectl: Kubectl, web: tuple[str, int]) -> None:
    name, closed = web[0], free_port()
    forward = kubectl.background("port-forward", f"pod/{name}", f":{closed}")
    try:
        line = forward.wait_for_line(lambda text: text.startswith("Forwarding from 127.0.0.1:"))
        local = int(line.split("127.0.0.1:")[1].split()[0])
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=10).read()
        forward.wait_for_line(lambda text: f"error forwarding port {closed} to pod" in text
                              and f"failed to connect to localhost:{closed}" in text)
    finally:
        forward.stop()
