"""Fixtures of the kubectl tier: the real kubectl binaries (1.27 and 1.33 from the cloud SDK, 1.34 as
tools/k8s/build.sh builds it: skipped unless built, built under CI=true) against the session's kubeshim.

Each kubectl version gets its own HOME and --cache-dir for the session: kubectl caches discovery and OpenAPI
for hours, so a shared cache would hide what the server answers now. Every test gets a fresh namespace.
"""
from __future__ import annotations

from typing import Iterator

import pytest

from harness import BUILT_KUBECTL, kubectl_path
from kubectl_helpers import Kubectl, unique

VERSIONS = ("1.27", "1.33", BUILT_KUBECTL)


@pytest.fixture(scope="session", params=VERSIONS, ids=[f"kubectl-{v}" for v in VERSIONS])
def kubectl(request: pytest.FixtureRequest, kubeshim, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    binary = kubectl_path(request.param)
    home = tmp_path_factory.mktemp(f"kubectl-{request.param}-home")
    return Kubectl(request.param, binary, home, kubeshim.kubeconfig)


@pytest.fixture
def ns(kubectl: Kubectl) -> Iterator[str]:
    """A fresh namespace for one test, deleted (not awaited) afterwards."""
    name = unique("kt")
    kubectl.ok("create", "namespace", name)
    yield name
    kubectl.run("delete", "namespace", name, "--wait=false")
