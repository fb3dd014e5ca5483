"""Local Flyte through `kubeshim flyte up`: start-up cold and warm, workflows from `pyflyte run --remote` to
SUCCEEDED, and the memory of every component during the map task.

Usage: python bench/flyte.py [--rounds 3]
Needs the Flyte single binary (KUBESHIM_FLYTE_BIN, `flyte` on PATH, or examples/flyte/build.sh's output) and
makes the flytekit task environment once. Each round starts a fresh data dir (cold: Postgres initialised,
bucket and namespaces created; the task environment and versitygw are cached), runs the two-task workflow and the
map over 20 inputs, then restarts (warm). Prints the median of each figure over the rounds.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "flyte")]
from flyteup import CONVENTION, FlyteUp  # noqa: E402

from shim.cli.flyte import flytebin, taskenv  # noqa: E402


def component_rss(up: FlyteUp, done: threading.Event, peaks: dict[str, int]) -> None:
    """Peak RSS per component: each is a process group (postgres' backends, kubeshim's launcher included; task
    containers run in sessions of their own and are not counted)."""
    import psutil
    assert up.process is not None
    names = {"python": "kubeshim", "postgres": "postgres"}
    groups = {"kubeshim flyte up": up.process.pid}
    for child in psutil.Process(up.process.pid).children():
        name = child.name()
        groups[names.get(name, "flyte" if name.startswith("flyte") else name)] = child.pid
    while not done.is_set():
        for name, pgid in groups.items():
            total = 0
            for proc in psutil.process_iter(["pid"]):
                with contextlib.suppress(psutil.Error, ProcessLookupError):
                    if os.getpgid(proc.pid) == pgid:
                        total += proc.memory_info().rss
            peaks[name] = max(peaks.get(name, 0), total)
        done.wait(0.2)


def one_round(work: Path, binary: str, venv: Path, n: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    up = FlyteUp(work, binary, venv, CONVENTION)
    try:
        figures["up_cold_s"] = up.start()
        start = time.monotonic()
        assert up.run_to_end("workflows/basic.py", "wf", f"bench-a{n}", "--x", "3")["phase"] == "SUCCEEDED"
        figures["basic_s"] = time.monotonic() - start
        peaks: dict[str, int] = {}
        done = threading.Event()
        sampler = threading.Thread(target=component_rss, args=(up, done, peaks), daemon=True)
        sampler.start()
        start = time.monotonic()
        try:
            assert up.run_to_end("workflows/mapping.py", "wf", f"bench-b{n}", timeout=600)["phase"] == "SUCCEEDED"
        finally:
            done.set()
            sampler.join()
        figures["map20_s"] = time.monotonic() - start
        figures.update({f"rss_mb {name}": v / 2**20 for name, v in peaks.items()})
        figures["rss_mb sum"] = sum(peaks.values()) / 2**20
        up.stop()
        figures["up_warm_s"] = up.start()
    finally:
        up.stop()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    binary, why = flytebin.find()
    if binary is None:
        print(f"bench/flyte.py: {why}", file=sys.stderr)
        return 2
    venv = taskenv.ensure(taskenv.default_path(), lambda line: print(line, file=sys.stderr))
    rounds = []
    with tempfile.TemporaryDirectory(prefix="kubeshim-bench-flyte-") as tmp:
        for n in range(args.rounds):
            rounds.append(one_round(Path(tmp) / f"round{n}", binary, venv, n))
            print(f"round {n + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in rounds[-1].items()), file=sys.stderr)
    print(f"kubeshim flyte up, {args.rounds} rounds (median):")
    for key in rounds[0]:
        values = [r[key] for r in rounds if key in r]
        print(f"  {key:28s} {statistics.median(values):8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
