"""Session fixtures on top of tests/harness.py: one API server (no kubelet) and the official Python client."""
from __future__ import annotations

from typing import Iterator

import pytest

from harness import Kubeshim, start_kubeshim


@pytest.fixture(scope="session")
def kubeshim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubeshim]:
    """One API server (no kubelet) shared by the api and kubectl tiers."""
    server = start_kubeshim(tmp_path_factory.mktemp("kubeshim") / "data", "--no-kubelet")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def api_client(kubeshim: Kubeshim):
    from kubernetes import config
    return config.new_client_from_config(str(kubeshim.kubeconfig))
