"""Error answers worded as kube-apiserver v1.34 words them: the machinery that raises each one, no sockets."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from shim.machinery import patch
from shim.machinery.errors import StatusError


def status(fn: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(StatusError) as err:
        fn()
    return err.value.status()


@pytest.mark.parametrize("operations", [
    [{"op": "test", "path": "/data/k", "value": "other"}],
    [{"op": "remove", "path": "/data/nothing"}],
    [{"op": "frobnicate", "path": "/data/k"}],
])
def test_a_failed_json_patch_operation_is_the_bare_422(operations: list[dict[str, str]]) -> None:
    answer = status(lambda: patch.json_patch({"data": {"k": "v"}}, operations))
    assert (answer["code"], answer["reason"]) == (422, "Invalid")
    assert answer["message"] == "the server rejected our request due to an error in our request"
    assert answer["details"] == {}
