"""Images are names for local environments: configurable rules map an image reference to a PATH and env.

There is no registry and no unpacking. A rule matches image references by glob and says where the container's
programs come from: a virtualenv (its bin/ goes first on PATH and VIRTUAL_ENV is set), extra PATH entries and
extra environment; what the image would run (`entrypoint` and `cmd`, Docker's ENTRYPOINT and CMD: used when
the container gives no command, with Kubernetes' override rules in runtime/env.py); and files it carries at
absolute paths (`root`: a directory whose entries appear at the container's `/`; `files`: container path ->
host path), bound into the container's own root (runtime/mounts.py).

Built in, after any configured rules: the images Kubernetes' own tests use. `registry.k8s.io/pause` runs a
script that waits for a signal; agnhost runs the binary `tools/k8s/build.sh agnhost` builds, at /agnhost
(ENTRYPOINT ["/agnhost"], CMD ["pause"], as its Dockerfile says); busybox puts Debian's busybox applets first
on PATH (where the busybox package is installed). With no configured rules, every other image runs in the
Python environment kubeshim itself runs in; with rules, an image that no rule accepts fails like an unpullable
image (ErrImagePull, then ImagePullBackOff), so a misconfigured task fails visibly instead of running in the
wrong environment.

Rules file (YAML, referenced by the kubeshim config):

    images:
      - match: "cr.flyte.org/flyteorg/flytekit:*"    # fnmatch glob; a list of globs is fine too
        venv: /opt/venvs/flytekit
      - match: ["alpine*"]
        path: [/usr/local/bin, /usr/bin, /bin]
        env: {LANG: C.UTF-8}
      - match: "example.com/tools:*"
        path: [/opt/tools/bin]
        root: /opt/tools/image-root                   # its entries appear at the container's /
        files: {/etc/tool.conf: /opt/tools/tool.conf}
        entrypoint: [/tool]                           # the image's ENTRYPOINT: runs when a container has no command
        cmd: [serve]                                  # the image's CMD: the args when a container has none
      - match: "*"
        host: true                                    # kubeshim's own environment
"""
from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ImagePullError(Exception):
    """No rule accepts this image; the container waits in ErrImagePull / ImagePullBackOff."""


@dataclass(frozen=True)
class ImageRule:
    match: tuple[str, ...]
    venv: str | None = None
    path: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    host: bool = False
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    root: str | None = None
    files: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "ImageRule":
        match = raw.get("match", "*")
        patterns = (match,) if isinstance(match, str) else tuple(str(m) for m in match)
        env = tuple((str(k), str(v)) for k, v in (raw.get("env") or {}).items())
        path = raw.get("path") or ()
        path = (path,) if isinstance(path, str) else tuple(str(p) for p in path)
        venv = raw.get("venv")
        host = bool(raw.get("host", False)) or (venv is None and not path)
        files = tuple((str(k), str(v)) for k, v in (raw.get("files") or {}).items())
        return cls(match=patterns, venv=str(venv) if venv else None, path=path, env=env, host=host,
                   entrypoint=_words(raw.get("entrypoint")), cmd=_words(raw.get("cmd")),
                   root=str(raw["root"]) if raw.get("root") else None, files=files)

    def matches(self, image: str) -> bool:
        return any(fnmatch.fnmatchcase(image, p) for p in self.match)


@dataclass(frozen=True)
class ImageEnvironment:
    """What running in an image means here: PATH entries first, then extra env."""

    image: str
    path: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    image_id: str = ""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    #: (path in the container, host path): what the image carries at absolute paths
    files: tuple[tuple[str, str], ...] = ()


def host_bin_dir() -> str:
    """The bin directory of the interpreter kubeshim runs in (its venv's bin when in a venv)."""
    return os.path.dirname(os.path.abspath(sys.executable))


def _host_path() -> tuple[str, ...]:
    rest = [p for p in os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(os.pathsep) if p]
    return tuple(dict.fromkeys([host_bin_dir(), *rest]))


class ImageResolver:
    """Picks the first matching rule for an image: the configured rules, then the built-in test images', then
    (with no configured rules) kubeshim's own environment."""

    def __init__(self, rules: list[ImageRule] | None = None, cache_dir: Path | None = None) -> None:
        fallback = [ImageRule(match=("*",), host=True)] if rules is None else []
        self.rules = [*(rules or []), *builtin_rules(cache_dir), *fallback]

    @classmethod
    def from_config(cls, rules: list[dict[str, Any]] | None, rules_file: str | None,
                    cache_dir: Path | None = None) -> "ImageResolver":
        if rules is not None:
            return cls([ImageRule.from_dict(r) for r in rules], cache_dir)
        if rules_file:
            with open(rules_file, encoding="utf-8") as fh:
                raw = yaml.safe_load(fh) or {}
            return cls([ImageRule.from_dict(r) for r in (raw.get("images") or [])], cache_dir)
        return cls(None, cache_dir)

    def resolve(self, image: str) -> ImageEnvironment:
        for rule in self.rules:
            if rule.matches(image):
                return _environment(image, rule)
        raise ImagePullError(f'Failed to pull image "{image}": no kubeshim image rule matches "{image}"')


IMAGE_ROOTS = Path(__file__).resolve().parent / "imageroots"
PAUSE_IMAGES = ("registry.k8s.io/pause:*", "registry.k8s.io/pause", "k8s.gcr.io/pause:*", "*/pause:*")
AGNHOST_IMAGES = ("registry.k8s.io/e2e-test-images/agnhost:*", "*/agnhost:*", "agnhost:*")
BUSYBOX_IMAGES = ("busybox", "busybox:*", "busybox@*", "*/busybox", "*/busybox:*", "*/busybox@*")


def k8s_bin_dir() -> Path:
    """Where tools/k8s/build.sh puts Kubernetes' binaries (agnhost among them)."""
    explicit = os.environ.get("KUBESHIM_K8S_BIN")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "kubeshim" / "k8s" / "v1.34.12"


def builtin_rules(cache_dir: Path | None) -> list[ImageRule]:
    """Rules for the images Kubernetes' own tests run, for those whose programs this host has."""
    rules = [ImageRule(match=PAUSE_IMAGES, host=True, files=(("/pause", str(IMAGE_ROOTS / "pause")),),
                       entrypoint=("/pause",))]
    agnhost = k8s_bin_dir() / "agnhost"
    if agnhost.is_file():
        rules.append(ImageRule(match=AGNHOST_IMAGES, host=True, entrypoint=("/agnhost",), cmd=("pause",),
                               files=(("/agnhost", str(agnhost)), ("/agnhost-2", str(agnhost)))))
    applets = busybox_applets(cache_dir) if cache_dir is not None else None
    if applets is not None:
        rules.append(ImageRule(match=BUSYBOX_IMAGES, path=(applets, "/usr/local/bin", "/usr/bin", "/bin"),
                               cmd=("sh",)))
    return rules


def busybox_applets(cache_dir: Path) -> str | None:
    """A directory of links named after every applet of the host's busybox (Debian's package installs the
    binary alone), made once under cache_dir; None when there is no busybox."""
    binary = shutil.which("busybox") or next((p for p in ("/bin/busybox", "/usr/bin/busybox") if os.path.isfile(p)),
                                            None)
    if binary is None:
        return None
    bindir = cache_dir / "busybox" / "bin"
    if not (bindir / "sh").is_symlink():
        try:
            names = subprocess.run([binary, "--list"], capture_output=True, text=True, timeout=10).stdout.split()
            bindir.mkdir(parents=True, exist_ok=True)
            for name in names:
                if "/" not in name and not (bindir / name).is_symlink():
                    (bindir / name).symlink_to(binary)
        except (OSError, subprocess.SubprocessError):
            return None
    return str(bindir)


def _environment(image: str, rule: ImageRule) -> ImageEnvironment:
    env = dict(rule.env)
    path: list[str] = []
    if rule.venv:
        path.append(os.path.join(rule.venv, "bin"))
        env.setdefault("VIRTUAL_ENV", rule.venv)
    path.extend(rule.path)
    if rule.host or not path:
        path.extend(_host_path())
    elif not rule.path:
        path.extend(["/usr/local/bin", "/usr/bin", "/bin"])
    where = rule.venv or ("host" if rule.host else ":".join(rule.path))
    files = list(rule.files)
    if rule.root:
        try:
            files = [("/" + entry.name, entry.path) for entry in sorted(os.scandir(rule.root), key=lambda e: e.name)]\
                + files
        except OSError as exc:
            raise ImagePullError(f'Failed to pull image "{image}": image root {rule.root}: {exc.strerror}') from None
    return ImageEnvironment(image=image, path=tuple(dict.fromkeys(path)), env=env,
                            image_id=f"kubeshim://{where}", entrypoint=rule.entrypoint, cmd=rule.cmd,
                            files=tuple(files))


def _words(value: Any) -> tuple[str, ...]:
    """An entrypoint or cmd: a list of words, or one string taken as a single word."""
    if value is None:
        return ()
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)
