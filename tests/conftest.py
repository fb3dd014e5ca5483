"""Session fixtures on top of tests/harness.py: one API server (no kubelet) and the official Python client."""
from __future__ import annotations

from typing import Iterator

import pytest

from harness import Kubeshim, start_kubeshim


@pytest.fixture(scope="session")
def kubeshim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubeshim]:
    """One API server (no kubelet) shared by the api and kubectl tiers. Their tests count the objects of fresh
    namespaces, so the root CA publisher, which puts a ConfigMap in each, is left out here (kube-apiserver
    without kube-controller-manager has none either); tests/unit and the conformance tier cover it."""
    server = start_kubeshim(tmp_path_factory.mktemp("kubeshim") / "data", "--no-kubelet",
                            "--controllers", "*,-root-ca-certificate-publisher-controller")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def api_client(kubeshim: Kubeshim):
    from kubernetes import config
    return config.new_client_from_config(str(kubeshim.kubeconfig))
