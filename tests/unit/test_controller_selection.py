"""`--controllers` chooses kube-controller-manager's controllers as its flag does."""
from __future__ import annotations

import pytest

from shim.controllers.selection import CONTROLLERS, Selection


def test_star_runs_every_controller() -> None:
    assert Selection.parse(["*"]).enabled == frozenset(CONTROLLERS)


def test_a_minus_leaves_one_out() -> None:
    chosen = Selection.parse(["*,-root-ca-certificate-publisher-controller"])
    assert "root-ca-certificate-publisher-controller" not in chosen and "namespace-controller" in chosen


def test_names_alone_run_only_those() -> None:
    assert Selection.parse(["namespace-controller"]).enabled == {"namespace-controller"}


def test_an_unknown_controller_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match='"no-such-controller" is not in the list of known controllers'):
        Selection.parse(["*,-no-such-controller"])
