"""Image rules: images name local environments (virtualenvs, PATH entries, extra env)."""
from __future__ import annotations

from pathlib import Path

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
