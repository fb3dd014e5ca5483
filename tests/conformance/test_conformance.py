"""Each named [Conformance] spec of Kubernetes' own suite passes against kubeshim."""
from __future__ import annotations

import pytest
from e2e_conformance import Spec
from specs import SPECS

pytestmark = pytest.mark.conformance


@pytest.mark.parametrize("name", SPECS, ids=SPECS)  # named in full, so that `-k` selects by the spec's words
def test_conformance_spec(name: str, suite_run: dict[str, Spec]) -> None:
    spec = suite_run.get(name)
    assert spec is not None, f"e2e.test v1.34.12 ran no spec named {name!r}"
    assert spec.state == "passed", f"{spec.state} after {spec.seconds:.0f} s:\n{spec.failure}"
