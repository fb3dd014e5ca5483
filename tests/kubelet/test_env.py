"""A real process sees the environment, command line and working directory it was given (their construction
is unit-tested in tests/unit/test_container_env.py)."""
from __future__ import annotations

import base64

from .conftest import Harness, make_pod


async def test_process_sees_env_and_workdir(harness: Harness, tmp_path) -> None:
    await harness.start()
    from shim.clients.base import CONFIGMAPS, SECRETS

    await harness.client.create(CONFIGMAPS, {"metadata": {"name": "cfg"}, "data": {"COLOR": "blue"}}, "default")
    await harness.client.create(SECRETS, {"metadata": {"name": "sec"},
                                          "data": {"TOKEN": base64.b64encode(b"t0k").decode()}}, "default")
    work = tmp_path / "wd"
    work.mkdir()
    container = {"name": "c", "command": ["sh", "-c"],
                 "args": ["echo $(COLOR) $COLOR $TOKEN $MY_NAME $$HOME_TEST '$(UNDEFINED)'; pwd"],
                 "workingDir": str(work),
                 "envFrom": [{"configMapRef": {"name": "cfg"}}],
                 "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "TOKEN"}}},
                         {"name": "MY_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                         {"name": "HOME_TEST", "value": "h"}]}
    await harness.create(make_pod("envpod", [container], restartPolicy="Never"))
    pod = await harness.wait_phase("envpod", "Succeeded")
    cid = harness.container_status(pod, "c")["containerID"].split("://")[1]
    lines = [line.split(" ", 3)[3] for line in
             harness.kubelet.provider.log_path(cid).read_text().splitlines()]
    assert lines == ["blue blue t0k envpod h $(UNDEFINED)", str(work)]
