"""A sample of the fuzzer's requests replayed on kube-apiserver v1.34.12 and kubeshim at once (the differential
tier's stack, tests/differential/stack.py), comparing status codes: the same requests in the same order, from
the same state. Every difference is listed, by operation and the two codes with an example request, in the
session's summary and in <basetemp>/fuzz-sample-differences.txt; kubeshim must answer none of them 500 or more.
The differences are not judged one by one yet (unlike the differential tier's allow-list): many are the known
ones of tests/differential/known_differences.py (option validation codes, checks made in another order).
"""
from __future__ import annotations

import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from differ import make_namespace
from runner import FIGURES, send
from spec import load
from strategies import Request, request_to

SAMPLE = int(os.environ.get("KUBESHIM_FUZZ_SAMPLE", "300"))
SEED = 20261204
NAMESPACE = "fuzz-sample"

pytestmark = [pytest.mark.fuzz, pytest.mark.differential]


def test_fuzz_sample_against_kube_apiserver(servers, clients, tmp_path_factory: pytest.TempPathFactory) -> None:
    ref_http, shim_http = clients
    for server, http in zip(servers, clients, strict=True):
        make_namespace(server, http, NAMESPACE)
    spec = load(shim_http)
    codes: Counter[str] = Counter()
    differences: dict[tuple[str, int, int], str] = {}  # (operation, kube-apiserver's, kubeshim's) -> example
    failures: list[str] = []

    @seed(SEED)
    @settings(max_examples=SAMPLE, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(spec.operations).flatmap(lambda op: request_to(spec, op, NAMESPACE)))
    def replay(req: Request) -> None:
        ref, shim = send(ref_http, req).code or 0, send(shim_http, req).code or 0
        codes[f"{ref}/{shim}"] += 1
        if ref != shim:
            differences.setdefault((req.operation.label, ref, shim), req.describe()[:300])
        if not 0 < shim < 500:
            failures.append(f"{shim or 'no answer'}: {req.describe()}")

    replay()
    listed = [f"{op}: kube-apiserver {ref}, kubeshim {shim}: {example}"
              for (op, ref, shim), example in sorted(differences.items())]
    (tmp_path_factory.getbasetemp() / "fuzz-sample-differences.txt").write_text("".join(f"{d}\n" for d in listed))
    same = sum(n for pair, n in codes.items() if len(set(pair.split("/"))) == 1)
    FIGURES["fuzz sample"] = {
        "requests": sum(codes.values()), "same code": same,
        "codes (kube-apiserver/kubeshim)": dict(sorted(codes.items())), "differences": len(listed),
        **{f"  {i}": d[:240] for i, d in enumerate(listed, 1)}}
    assert sum(codes.values()) >= SAMPLE
    assert failures == [], "\n".join(failures)
