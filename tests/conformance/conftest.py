"""The conformance tier: one run of e2e.test v1.34.12 over the named specs, against a kubeshim with its kubelet.

The suite is built (or found cached) by tools/k8s/build.sh through tools/e2e_conformance.py, which also gives the
image rules that run the suite's test images; tools/conformance.sh runs the whole [Conformance] set the same way.
"""
from __future__ import annotations

import re
import sys
from typing import Iterator

import pytest

from harness import ROOT, require_tool, start_kubeshim

sys.path.insert(0, str(ROOT / "tools"))
import e2e_conformance as conformance  # noqa: E402

from specs import SPECS  # noqa: E402


@pytest.fixture(scope="session")
def suite_run(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, conformance.Spec]]:
    """The specs of SPECS this session selected (`-k`...), run once, in one e2e.test process: spec name -> its
    outcome."""
    import shutil
    require_tool(shutil.which("go"), "the Go toolchain (`go`) is not on PATH: the conformance tier builds e2e.test "
                                     "v1.34.12 with it")
    bin_dir = conformance.build()
    work = tmp_path_factory.mktemp("conformance")
    server = start_kubeshim(work / "data", "--kubelet-config", str(conformance.kubelet_settings(bin_dir, work)),
                            *conformance.SERVER_FLAGS)
    selected = {item.callspec.params.get("name") for item in request.session.items if hasattr(item, "callspec")}
    focus = "|".join(re.escape(name) for name in SPECS if name in selected)
    try:
        code, report = conformance.run_suite(bin_dir, server.kubeconfig, work / "e2e", focus, timeout=1800)
    finally:
        server.stop()
    if not report.exists():
        pytest.fail(f"e2e.test exited {code} without a report; see {work / 'e2e' / 'e2e.log'}")
    yield {spec.name: spec for spec in conformance.read_report(report, focus).specs}
