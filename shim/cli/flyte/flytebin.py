"""Finding the stock Flyte single binary (flyteadmin + flytepropeller + datacatalog in one executable).

kubeshim never builds Flyte behind the user's back: examples/flyte/build.sh builds it from Flyte's Go modules,
and its output path is the last place looked.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from shim.cli.flyte.settings import cache_dir

FLYTE_VERSION = "v1.16.8"
HOW_TO_GET = ("build one with examples/flyte/build.sh (Go >= 1.26 and Flyte's Go modules), put `flyte` on PATH, "
              "or pass --flyte-bin")


def build_output() -> Path:
    """Where examples/flyte/build.sh puts the binary."""
    return Path(os.environ.get("KUBESHIM_FLYTE_BIN") or cache_dir() / "flyte" / f"flyte-{FLYTE_VERSION}")


def find(explicit: str | None = None) -> tuple[str | None, str]:
    """(path, where it came from), or (None, why there is none)."""
    if explicit:
        path = Path(explicit)
        if path.is_file() and os.access(path, os.X_OK):
            return str(path), "--flyte-bin"
        return None, f"--flyte-bin {explicit} is not an executable file"
    candidates = [("KUBESHIM_FLYTE_BIN", os.environ.get("KUBESHIM_FLYTE_BIN")), ("PATH", shutil.which("flyte")),
                  ("build.sh's output", str(build_output()))]
    for source, candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate, source
    return None, f"no Flyte {FLYTE_VERSION} single binary found (KUBESHIM_FLYTE_BIN, PATH, {build_output()})"
