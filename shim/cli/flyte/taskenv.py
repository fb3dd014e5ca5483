"""The Python environment Flyte task pods run in: a virtualenv with pinned flytekit, made on first use.

It is a virtualenv of its own, apart from kubeshim's: flytekit's dependency tree (botocore, fsspec, grpcio, ...)
conflicts with the kubernetes client's, and a task environment is what an image rule points at anyway. Only the
standard library is imported here, so `python3 -m shim.cli.flyte.taskenv` works from a bare checkout
(examples/flyte/task-env.sh does that; settings is stdlib-only too). Idempotent: a stamp file holds the pins; a
second call returns at once.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

from shim.cli.flyte.settings import cache_dir

#: The SDK line released with Flyte 1.16, and the IDL of Flyte v1.16.8 exactly, so the task side speaks the
#: protos propeller and admin do; exact pins also keep pip's resolver from backtracking for minutes.
FLYTEKIT_VERSION = "1.16.31"
FLYTEIDL_VERSION = "1.16.8"
PINS = (f"flytekit=={FLYTEKIT_VERSION}", f"flyteidl=={FLYTEIDL_VERSION}")


class TaskEnvError(Exception):
    """The environment could not be made; the message is one line."""


def default_path() -> Path:
    return Path(os.environ.get("KUBESHIM_FLYTE_TASK_VENV") or cache_dir() / "flyte" / "task-venv")


def is_ready(venv: Path) -> bool:
    stamp = venv / ".kubeshim-task-env"
    return (stamp.exists() and stamp.read_text().strip() == " ".join(PINS)
            and (venv / "bin" / "pyflyte-execute").exists())


def ensure(venv: Path, progress: Callable[[str], None], python: str | None = None) -> Path:
    """Make (or find) the task virtualenv; returns it."""
    if is_ready(venv):
        return venv
    progress(f"creating the flytekit task environment at {venv} ({', '.join(PINS)}; a minute or two, once)")
    venv.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        [python or _base_python(), "-m", "venv", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--upgrade", "pip"],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PINS],
        [str(venv / "bin" / "pyflyte"), "--help"],
        [str(venv / "bin" / "pyflyte-execute"), "--help"],
    ]
    if (venv / "bin" / "python").exists():
        steps.pop(0)
    for argv in steps:
        result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if result.returncode != 0:
            lines = [line for line in result.stderr.splitlines() if line.strip()] or ["no output"]
            raise TaskEnvError(f"{' '.join(argv[:3])} failed: {lines[-1]}")
    (venv / ".kubeshim-task-env").write_text(" ".join(PINS) + "\n")
    return venv


def _base_python() -> str:
    """A venv's own interpreter would chain venvs; start from the base installation."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(base) if base.exists() else sys.executable


def main() -> int:
    try:
        venv = ensure(default_path(), lambda line: print(line, file=sys.stderr, flush=True),
                      os.environ.get("PYTHON"))
    except TaskEnvError as err:
        print(f"task-env: {err}", file=sys.stderr)
        return 1
    print(venv / "bin")
    return 0


if __name__ == "__main__":
    sys.exit(main())
