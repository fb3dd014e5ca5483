"""Image rules: images name local environments (virtualenvs, PATH entries, extra env)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from shim.kubelet.images import k8s_bin_dir

from .conftest import Harness, make_pod


async def test_container_runs_in_its_image_environment(harness: Harness, tmp_path: Path) -> None:
    bindir = tmp_path / "tools" / "bin"
    bindir.mkdir(parents=True)
    tool = bindir / "hello-tool"
    tool.write_text("#!/bin/sh\necho tool says $GREETING\n")
    tool.chmod(0o755)
    harness.config.image_rules = [{"match": "tools:*", "path": [str(bindir), "/usr/bin", "/bin"],
                                   "env": {"GREETING": "hi"}}]
    await harness.start()
    await harness.create(make_pod("tool", [{"name": "c", "image": "tools:1", "command": ["hello-tool"]}],
                                  restartPolicy="Never"))
    pod = await harness.wait_phase("tool", "Succeeded")
    st = harness.container_status(pod, "c")
    log = harness.kubelet.provider.log_path(st["containerID"].split("://")[1]).read_text()
    assert log.rstrip().endswith("F tool says hi")
    assert st["imageID"] == f"kubeshim://{bindir}:/usr/bin:/bin"


def lines(harness: Harness, pod: dict, container: str) -> list[str]:
    cid = harness.container_status(pod, container)["containerID"].split("://")[1]
    return [line.split(" ", 3)[3] for line in harness.kubelet.provider.log_path(cid).read_text().splitlines()]


def needs_namespaces(harness: Harness) -> None:
    if not harness.caps[0]:
        pytest.skip("files at the container's root need private mount namespaces")


async def test_image_root_files_entrypoint_and_cmd(harness: Harness, tmp_path: Path) -> None:
    needs_namespaces(harness)
    root = tmp_path / "image-root"
    root.mkdir()
    (root / "hello").write_text('#!/bin/sh\necho "$0 $*"\n')
    (root / "hello").chmod(0o755)
    harness.config.image_rules = [{"match": "hello:*", "root": str(root), "entrypoint": ["/hello"],
                                   "cmd": ["from-cmd"]}]
    await harness.start()
    await harness.create(make_pod("img", [{"name": "plain", "image": "hello:1"},
                                          {"name": "args", "image": "hello:1", "args": ["from-args"]},
                                          {"name": "command", "image": "hello:1", "command": ["/hello"]}],
                                  restartPolicy="Never"))
    pod = await harness.wait_phase("img", "Succeeded")
    assert lines(harness, pod, "plain") == ["/hello from-cmd"]
    assert lines(harness, pod, "args") == ["/hello from-args"]
    assert lines(harness, pod, "command") == ["/hello "]  # a command drops the image's cmd
    assert not os.path.exists("/hello")


async def test_pause_waits_for_its_signal_and_exits_zero(harness: Harness) -> None:
    needs_namespaces(harness)
    await harness.start()
    await harness.create(make_pod("pause", [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]))
    pod = await harness.wait_status("pause", lambda p: harness.container_status(p, "c")["state"].get("running"))
    cid = harness.container_status(pod, "c")["containerID"].split("://")[1]
    stopped = await harness.kubelet.provider.stop(cid, 5.0)
    assert (stopped.exit_code, stopped.signal) == (0, 0)


def _require(path: str | None, what: str) -> None:
    if not path:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{what} is missing")
        pytest.skip(f"{what} is missing")


async def test_agnhost_with_args_only_runs_slash_agnhost(harness: Harness) -> None:
    needs_namespaces(harness)
    binary = k8s_bin_dir() / "agnhost"
    _require(str(binary) if binary.is_file() else None, f"{binary} (tools/k8s/build.sh agnhost)")
    await harness.start()
    await harness.create(make_pod("agn", [{"name": "c", "image": "registry.k8s.io/e2e-test-images/agnhost:2.56",
                                           "args": ["entrypoint-tester", "hello"]}], restartPolicy="Never"))
    pod = await harness.wait_phase("agn", "Succeeded")
    assert lines(harness, pod, "c") == ["[/agnhost entrypoint-tester hello]"]


async def test_busybox_runs_busybox_applets(harness: Harness) -> None:
    _require(shutil.which("busybox"), "busybox (apt-get install busybox)")
    await harness.start()
    await harness.create(make_pod("box", [{"name": "c", "image": "busybox:1.36",
                                           "command": ["sh", "-c", "wget --help 2>&1 | head -1"]}],
                                  restartPolicy="Never"))
    pod = await harness.wait_phase("box", "Succeeded")
    assert lines(harness, pod, "c")[0].startswith("BusyBox v")
