"""Image rules: how an image name resolves to a local environment (virtualenv, PATH entries, extra env)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from shim.kubelet.images import ImagePullError, ImageResolver


def test_default_is_kubeshims_own_environment() -> None:
    env = ImageResolver().resolve("anything:latest")
    assert env.path[0] == os.path.dirname(os.path.abspath(sys.executable))
    assert env.image_id == "kubeshim://host"


def test_rules_from_yaml(tmp_path: Path) -> None:
    rules = tmp_path / "images.yaml"
    rules.write_text(f"""
images:
  - match: "cr.flyte.org/flyteorg/flytekit:*"
    venv: {tmp_path}/venvs/flytekit
  - match: ["busybox*", "*/busybox*"]
    path: [/usr/bin, /bin]
    env: {{LANG: C.UTF-8}}
""")
    resolver = ImageResolver.from_config(None, str(rules))
    flyte = resolver.resolve("cr.flyte.org/flyteorg/flytekit:py3.11-1.16.0")
    assert flyte.path[0] == f"{tmp_path}/venvs/flytekit/bin"
    assert flyte.env["VIRTUAL_ENV"] == f"{tmp_path}/venvs/flytekit" and "/usr/bin" in flyte.path
    box = resolver.resolve("docker.io/library/busybox:1.36")
    assert box.path == ("/usr/bin", "/bin") and box.env == {"LANG": "C.UTF-8"}
    with pytest.raises(ImagePullError) as err:
        resolver.resolve("ubuntu:22.04")
    assert str(err.value).startswith('Failed to pull image "ubuntu:22.04"')


def test_a_rule_gives_the_image_entrypoint_and_default_args() -> None:
    resolver = ImageResolver.from_config([{"match": "registry.k8s.io/e2e-test-images/agnhost:*",
                                           "path": ["/opt/k8s-test"], "entrypoint": ["agnhost"], "cmd": "pause"}],
                                         None)
    env = resolver.resolve("registry.k8s.io/e2e-test-images/agnhost:2.56")
    assert (env.entrypoint, env.cmd) == (("agnhost",), ("pause",))
