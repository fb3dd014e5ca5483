"""Fixtures of the api tier: typed clients, a raw HTTP client and a fresh namespace per test.

Everything talks to the session's `kubeshim` (a real server process, no kubelet) over HTTPS with the
kubeconfig's bearer token; tests that need their own server start one with `start_kubeshim`.
"""
from __future__ import annotations

from typing import Iterator

import httpx
import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from apihelpers import http_client, unique
from harness import start_kubeshim


@pytest.fixture(scope="session")
def core(api_client) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="session")
def custom(api_client) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture(scope="session")
def http(kubeshim) -> Iterator[httpx.Client]:
    """Raw HTTPS with the admin token and the cluster CA, for what the typed client cannot express."""
    with http_client(kubeshim) as c:
        yield c


@pytest.fixture
def ns(core) -> Iterator[str]:
    """A fresh namespace for one test, deleted (not awaited) afterwards."""
    name = unique("ns")
    core.create_namespace({"metadata": {"name": name}})
    yield name
    try:
        core.delete_namespace(name)
    except ApiException:
        pass


@pytest.fixture(scope="session")
def tuned(tmp_path_factory):
    """A server of our own with a 30-revision watch window (410 Expired is easy to reach) and bookmarks
    after 0.3 s of quiet; tests on it use their own namespaces."""
    server = start_kubeshim(tmp_path_factory.mktemp("tuned") / "data", "--no-kubelet", "--watch-window", "30",
                            "--controllers", "*,-root-ca-certificate-publisher-controller",
                            "--bookmark-interval", "0.3")
    yield server
    server.stop()


@pytest.fixture
def tuned_http(tuned) -> Iterator[httpx.Client]:
    with http_client(tuned) as c:
        yield c
