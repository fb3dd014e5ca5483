"""Images are names for local environments: configurable rules map an image reference to a PATH and env.

There is no registry and no unpacking. A rule matches image references by glob and says where the container's
programs come from: a virtualenv (its bin/ goes first on PATH and VIRTUAL_ENV is set), extra PATH entries and
extra environment. With no rules at all every image runs in the Python environment kubeshim itself runs in.
An image that no rule accepts fails like an unpullable image (ErrImagePull, then ImagePullBackOff), so a
misconfigured task fails visibly instead of running in the wrong environment.

Rules file (YAML, referenced by the kubeshim config):

    images:
      - match: "cr.flyte.org/flyteorg/flytekit:*"    # fnmatch glob; a list of globs is fine too
        venv: /opt/venvs/flytekit
      - match: ["busybox*", "*/busybox*", "alpine*"]
        path: [/usr/local/bin, /usr/bin, /bin]
        env: {LANG: C.UTF-8}
      - match: "registry.k8s.io/e2e-test-images/agnhost:*"
        path: [/opt/k8s-test]
        entrypoint: [agnhost]                         # the image's ENTRYPOINT: runs when a container has no command
        cmd: []                                       # the image's CMD: the args when a container has none
      - match: "*"
        host: true                                    # kubeshim's own environment
"""
from __future__ import annotations

import fnmatch
import os
import sys
from dataclasses import dataclass, field
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

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "ImageRule":
        match = raw.get("match", "*")
        patterns = (match,) if isinstance(match, str) else tuple(str(m) for m in match)
        env = tuple((str(k), str(v)) for k, v in (raw.get("env") or {}).items())
        path = raw.get("path") or ()
        path = (path,) if isinstance(path, str) else tuple(str(p) for p in path)
        venv = raw.get("venv")
        host = bool(raw.get("host", False)) or (venv is None and not path)
        return cls(match=patterns, venv=str(venv) if venv else None, path=path, env=env, host=host,
                   entrypoint=_words(raw.get("entrypoint")), cmd=_words(raw.get("cmd")))

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


def host_bin_dir() -> str:
    """The bin directory of the interpreter kubeshim runs in (its venv's bin when in a venv)."""
    return os.path.dirname(os.path.abspath(sys.executable))


def _host_path() -> tuple[str, ...]:
    rest = [p for p in os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(os.pathsep) if p]
    return tuple(dict.fromkeys([host_bin_dir(), *rest]))


class ImageResolver:
    """Picks the first matching rule for an image."""

    def __init__(self, rules: list[ImageRule] | None = None) -> None:
        self.rules = rules if rules is not None else [ImageRule(match=("*",), host=True)]

    @classmethod
    def from_config(cls, rules: list[dict[str, Any]] | None, rules_file: str | None) -> "ImageResolver":
        if rules is not None:
            return cls([ImageRule.from_dict(r) for r in rules])
        if rules_file:
            with open(rules_file, encoding="utf-8") as fh:
                raw = yaml.safe_load(fh) or {}
            return cls([ImageRule.from_dict(r) for r in (raw.get("images") or [])])
        return cls()

    def resolve(self, image: str) -> ImageEnvironment:
        for rule in self.rules:
            if rule.matches(image):
                return _environment(image, rule)
        raise ImagePullError(f'Failed to pull image "{image}": no kubeshim image rule matches "{image}"')


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
    return ImageEnvironment(image=image, path=tuple(dict.fromkeys(path)), env=env,
                            image_id=f"kubeshim://{where}", entrypoint=rule.entrypoint, cmd=rule.cmd)


def _words(value: Any) -> tuple[str, ...]:
    """An entrypoint or cmd: a list of words, or one string taken as a single word."""
    if value is None:
        return ()
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)
