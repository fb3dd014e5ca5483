"""Image rules: how an image name resolves to a local environment (virtualenv, PATH entries, extra env)."""
from __future__ import annotations

import os
import shutil
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


def test_pause_runs_a_process_that_waits_for_its_signal() -> None:
    env = ImageResolver().resolve("registry.k8s.io/pause:3.10")
    assert env.entrypoint == ("/pause",) and dict(env.files)["/pause"].endswith("imageroots/pause")


def test_agnhost_is_the_built_binary_at_slash_agnhost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "agnhost").write_text("binary")
    monkeypatch.setenv("KUBESHIM_K8S_BIN", str(tmp_path))
    env = ImageResolver().resolve("registry.k8s.io/e2e-test-images/agnhost:2.56")
    assert (env.entrypoint, env.cmd) == (("/agnhost",), ("pause",))
    assert dict(env.files) == {"/agnhost": str(tmp_path / "agnhost"), "/agnhost-2": str(tmp_path / "agnhost")}


def test_agnhost_without_its_binary_is_no_builtin_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBESHIM_K8S_BIN", str(tmp_path))
    with pytest.raises(ImagePullError):
        ImageResolver.from_config([{"match": "other:*"}], None).resolve("registry.k8s.io/e2e-test-images/agnhost:2.56")


def test_busybox_puts_the_hosts_busybox_applets_first_on_path(tmp_path: Path) -> None:
    if not shutil.which("busybox"):
        if os.environ.get("CI") == "true":
            pytest.fail("busybox is not installed (apt-get install busybox)")
        pytest.skip("busybox is not installed")
    env = ImageResolver(cache_dir=tmp_path).resolve("registry.k8s.io/e2e-test-images/busybox:1.36.1-1")
    applets = Path(env.path[0])
    assert os.path.realpath(applets / "sh") == os.path.realpath(shutil.which("busybox") or "")
    assert (applets / "wget").is_symlink() and env.cmd == ("sh",)


def test_configured_rules_come_before_the_builtin_ones() -> None:
    resolver = ImageResolver.from_config([{"match": "busybox*", "path": ["/opt/box"]}], None)
    assert resolver.resolve("busybox:1.36").path == ("/opt/box",)


def test_an_image_root_directory_appears_at_the_containers_root(tmp_path: Path) -> None:
    (tmp_path / "tool").write_text("#!/bin/sh\n")
    (tmp_path / "etc").mkdir()
    env = ImageResolver.from_config([{"match": "tools:*", "root": str(tmp_path), "files": {"/x.crt": "/c"}}],
                                    None).resolve("tools:1")
    assert env.files == (("/etc", str(tmp_path / "etc")), ("/tool", str(tmp_path / "tool")), ("/x.crt", "/c"))
