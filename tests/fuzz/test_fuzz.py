"""The fuzz tier: requests generated from kubeshim's own OpenAPI v3 documents, and hostile ones, against every
resource and subresource; none may answer 500 or more, hang, answer a refusal that is not a Status of its code,
or change anything stored when it is refused (runner.py). Deterministic: a fixed seed, no example database.

KUBESHIM_FUZZ_REQUESTS sets how many (10,000 by default, about a minute on two cores), KUBESHIM_FUZZ_SEED
another seed to explore with (the run is the same for the same seed).
"""
from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings

from runner import FIGURES, NAMESPACE, Fuzz, client
from spec import Operation
from strategies import Request, request_to

REQUESTS = int(os.environ.get("KUBESHIM_FUZZ_REQUESTS", "10000"))
SEED = int(os.environ.get("KUBESHIM_FUZZ_SEED", "20261204"))
pytestmark = pytest.mark.fuzz


def test_fuzz(fuzzed, fuzzed_http, fuzzed_spec, tmp_path_factory: pytest.TempPathFactory) -> None:
    fuzz = Fuzz(lambda: client(fuzzed.url, fuzzed.ca, fuzzed.token), fuzzed_spec)
    fuzz.start()

    each = -(-REQUESTS // len(fuzzed_spec.operations))  # every resource and subresource alike

    def fuzz_operation(op: Operation) -> None:
        @seed(SEED)
        @settings(max_examples=each, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(request_to(fuzzed_spec, op, NAMESPACE))
        def one(req: Request) -> None:
            fuzz(req)
        one()

    started = time.monotonic()
    for op in fuzzed_spec.operations:
        fuzz_operation(op)
    fuzz.compare_checkpoint()
    seconds = time.monotonic() - started
    histogram = dict(sorted(fuzz.codes.items()))
    FIGURES["fuzz"] = {
        "requests": fuzz.sent, "seconds": round(seconds, 1), "codes": histogram,
        "operations": f"{len(fuzzed_spec.operations)}, {len(fuzz.reached)} reached, {len(fuzz.succeeded)} answered "
                      f"2xx at least once", "problems": len(fuzz.problems)}
    (tmp_path_factory.getbasetemp() / "fuzz-operations.txt").write_text("".join(
        f"{fuzz.succeeded[op.label]:5} of {fuzz.reached[op.label]:4} succeeded: {op.label}\n"
        for op in fuzzed_spec.operations))
    assert fuzz.sent >= REQUESTS
    assert fuzz.problems == [], f"{len(fuzz.problems)} problems in {fuzz.sent} requests {histogram}:\n" + \
        "\n".join(fuzz.problems[:50])
