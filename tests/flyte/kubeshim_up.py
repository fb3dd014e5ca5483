"""`kubeshim up` with kubelet settings from a YAML file: python tests/flyte/kubeshim_up.py KUBELET_YAML [up args].

`kubeshim up` has no flag yet for the kubelet's settings (image rules above all); shim.kubelet.agent reads them
from Options.extra["kubelet"] (any KubeletConfig field). This starts the same server with that filled in.
Remove once `kubeshim up` takes a kubelet/config file.
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from shim.cli import main as cli  # noqa: E402
from shim.cli import cluster  # noqa: E402


def main() -> None:
    settings = yaml.safe_load(Path(sys.argv[1]).read_text()) or {}
    real_run = cluster.run

    def run(opts: cluster.Options) -> None:
        opts.extra = {**opts.extra, "kubelet": settings}
        real_run(opts)

    cli.run = run  # the `up` command calls the name it imported
    cli.app(["up", *sys.argv[2:]], standalone_mode=True)


if __name__ == "__main__":
    main()
