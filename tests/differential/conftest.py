"""Fixtures of the differential tier: the reference stack and a kubeshim of its own, started once per session
(stack.py), and per test a namespace of the same name on both."""
from __future__ import annotations

import uuid
from typing import Iterator

import httpx
import pytest

import known_differences
import stack
from differ import Pair, Server, make_namespace

#: the session's reference stack and kubeshim (stack.py), shared with tests/fuzz
k8s_bin, servers, clients = stack.k8s_bin, stack.servers, stack.clients


@pytest.fixture
def pair(request: pytest.FixtureRequest, servers: tuple[Server, Server],
         clients: tuple[httpx.Client, httpx.Client]) -> Iterator[Pair]:
    """Both servers and a fresh namespace of the same name on each, deleted (not awaited) afterwards."""
    ns = f"d-{uuid.uuid4().hex[:8]}"
    for server, client in zip(servers, clients, strict=True):
        make_namespace(server, client, ns)
    yield Pair(request.node.name, ns, servers, clients)
    for client in clients:
        client.delete(f"/api/v1/namespaces/{ns}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The allow-list, reported whenever the tier compared anything: every accepted difference with its reason,
    how many of its paths this run saw differ, and each path it found gone (STALE)."""
    if not known_differences.RAN:
        return
    write = terminalreporter.write_line
    terminalreporter.section(f"differential allow-list ({len(known_differences.KNOWN)} entries)")
    for entry in known_differences.KNOWN:
        states = {(scenario, path): known_differences.SEEN.get((id(entry), scenario, path))
                  for scenario, paths in entry.where.items() for path in paths}
        seen = sum(1 for s in states.values() if s)
        skipped = sum(1 for s in states.values() if s is None)
        write(f"- [{entry.item}] {entry.reason}: {seen}/{len(states)} paths differ"
              + (f", {skipped} not run" if skipped else ""))
        for (scenario, path), state in states.items():
            if state is False:
                write(f"    STALE {scenario}: {path}")
