"""The streaming subresources on the wire, through a real `kubeshim up` with its kubelet: pods/log over WebSocket
(`binary.k8s.io`, `base64.binary.k8s.io`), the kubelet's v4 WebSocket port-forward (channel pairs, each opened
with its port), exec whose command cannot start (an internal error on the error channel), and exec whose client
goes away mid-stream (nothing keeps running). kubectl covers the rest (tests/kubectl/test_kubectl_interactive.py)."""
from __future__ import annotations

import base64
import json
import ssl
import struct
import sys
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from harness import Kubeshim, free_port, start_kubeshim, wait_for

pytestmark = pytest.mark.kubelet


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubeshim]:
    shim = start_kubeshim(tmp_path_factory.mktemp("streaming") / "data")
    yield shim
    shim.stop()


def _tls(server: Kubeshim) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=server.ca)


def _api(server: Kubeshim, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(server.url + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {server.token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=_tls(server), timeout=10) as response:
        return json.load(response)


def _running_pod(server: Kubeshim, command: list[str]) -> str:
    name = f"ws-{uuid.uuid4().hex[:8]}"
    _api(server, "POST", "/api/v1/namespaces/default/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": "python:3.11", "command": command}]}})

    def running() -> bool:
        statuses = _api(server, "GET", f"/api/v1/namespaces/default/pods/{name}").get("status", {})
        return any("running" in s.get("state", {}) for s in statuses.get("containerStatuses") or [])

    wait_for(running, 30, f"pod {name} to run")
    return name


def _socket(server: Kubeshim, path: str, protocol: str) -> ClientConnection:
    return connect(server.url.replace("https://", "wss://") + path, ssl=_tls(server), subprotocols=[protocol],
                   additional_headers={"Authorization": f"Bearer {server.token}"}, open_timeout=10)


def _messages(ws: ClientConnection) -> Iterator[bytes | str]:
    """Every message until the server closes the connection."""
    while True:
        try:
            yield ws.recv(timeout=20)
        except ConnectionClosed:
            return


@pytest.fixture(scope="module")
def talker(server: Kubeshim) -> str:
    """A running pod that has written two lines."""
    name = _running_pod(server, ["sh", "-c", "echo line one; echo line two; exec sleep 600"])
    wait_for(lambda: _log(server, name) == "line one\nline two\n", 20, "the two lines")
    return name


def _log(server: Kubeshim, pod: str) -> str:
    request = urllib.request.Request(f"{server.url}/api/v1/namespaces/default/pods/{pod}/log",
                                     headers={"Authorization": f"Bearer {server.token}"})
    with urllib.request.urlopen(request, context=_tls(server), timeout=10) as response:
        return str(response.read().decode())


def test_log_over_websocket_arrives_as_binary_messages(server: Kubeshim, talker: str) -> None:
    with _socket(server, f"/api/v1/namespaces/default/pods/{talker}/log", "binary.k8s.io") as ws:
        assert ws.subprotocol == "binary.k8s.io"
        received = list(_messages(ws))
    assert all(isinstance(m, bytes) for m in received)
    assert b"".join(m for m in received if isinstance(m, bytes)) == b"line one\nline two\n"


def test_log_over_websocket_arrives_base64_encoded_as_text(server: Kubeshim, talker: str) -> None:
    with _socket(server, f"/api/v1/namespaces/default/pods/{talker}/log?tailLines=1", "base64.binary.k8s.io") as ws:
        assert ws.subprotocol == "base64.binary.k8s.io"
        received = list(_messages(ws))
    assert all(isinstance(m, str) for m in received)
    assert b"".join(base64.b64decode(m) for m in received) == b"line two\n"


def test_v4_websocket_port_forward_opens_each_channel_with_its_port(server: Kubeshim, tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "index.html").write_text("through the channel\n")
    pod = _running_pod(server, [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                "--directory", str(tmp_path)])
    wait_for(lambda: _listens(port), 30, "the pod to listen")
    with _socket(server, f"/api/v1/namespaces/default/pods/{pod}/portforward?ports={port}", "v4.channel.k8s.io") \
            as ws:
        prefix = struct.pack("<H", port)
        assert {bytes(ws.recv(timeout=10)), bytes(ws.recv(timeout=10))} == {b"\x00" + prefix, b"\x01" + prefix}
        ws.send(b"\x00GET /index.html HTTP/1.0\r\n\r\n")
        response = b""
        for message in _messages(ws):
            assert isinstance(message, bytes) and message[:1] == b"\x00", message  # data, no error
            response += message[1:]
            if b"through the channel" in response:
                break
    assert response.startswith(b"HTTP/1.0 200")


def _listens(port: int) -> bool:
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _exec_path(pod: str, *command: str) -> str:
    query = urllib.parse.urlencode([("container", "main"), ("stdout", "true"), ("stderr", "true"),
                                    *(("command", c) for c in command)])
    return f"/api/v1/namespaces/default/pods/{pod}/exec?{query}"


def test_exec_of_a_command_that_cannot_start_reports_an_internal_error(server: Kubeshim, talker: str) -> None:
    with _socket(server, _exec_path(talker), "v5.channel.k8s.io") as ws:  # no command at all
        errors = [m[1:] for m in _messages(ws) if isinstance(m, bytes) and m[:1] == b"\x03" and m[1:]]
    status = json.loads(errors[0])
    assert (status["status"], status["reason"], status["code"]) == ("Failure", "InternalError", 500)
    assert "you must specify at least one command for the container" in status["message"]


def test_exec_of_a_program_the_container_lacks_reports_an_internal_error(server: Kubeshim, talker: str) -> None:
    with _socket(server, _exec_path(talker, "no-such-program"), "v5.channel.k8s.io") as ws:
        errors = [m[1:] for m in _messages(ws) if isinstance(m, bytes) and m[:1] == b"\x03" and m[1:]]
    status = json.loads(errors[0])
    assert (status["reason"], status["code"]) == ("InternalError", 500)  # not an exit code of some helper
    assert 'exec: "no-such-program": executable file not found in $PATH' in status["message"]


def test_exec_whose_client_goes_mid_stream_leaves_nothing_running(server: Kubeshim, talker: str) -> None:
    marker = f"left-{uuid.uuid4().hex[:8]}"
    ws = _socket(server, _exec_path(talker, "sh", "-c", f"echo started; sleep 613 # {marker}"),
                 "v5.channel.k8s.io")
    output = b""
    for message in _messages(ws):
        if isinstance(message, bytes) and message[:1] == b"\x01":
            output += message[1:]
        if b"started" in output:
            break
    assert _running(marker)
    ws.socket.close()  # gone without a closing handshake, as a killed client goes
    wait_for(lambda: not _running(marker), 10, "the command to be killed")


def _running(marker: str) -> bool:
    return any(marker in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"]))
