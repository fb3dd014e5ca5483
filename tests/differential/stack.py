"""The reference stack and a kubeshim of its own, as session fixtures: the differential tier's, and the fuzz
tier's for the sample it replays on both.

kubeshim installs crds/*.yaml at its first start; the same CRDs are created on the reference so that a fresh
kubeshim and the reference start from the same objects. Each server has its own kubectl HOME and cache.
"""
from __future__ import annotations

import ssl
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import yaml

import reference
from differ import REF, SHIM, Server
from harness import ROOT, kubectl_path, require_tool, start_kubeshim, wait_for


@pytest.fixture(scope="session")
def k8s_bin() -> Path:
    require_tool(reference.go_toolchain(), "the Go toolchain (`go`) is not on PATH: the differential tier builds "
                                           f"kube-apiserver {reference.VERSION} with it")
    return reference.build()


def _client(url: str, ca: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=ca),
                        headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _install_crds(client: httpx.Client) -> None:
    """The CRDs kubeshim installs at first start, created on the reference and awaited until Established."""
    names = []
    for path in sorted((ROOT / "crds").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                resp = client.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=doc)
                assert resp.status_code == 201, resp.text
                names.append(doc["metadata"]["name"])

    def established(name: str) -> bool:
        crd = client.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}").json()
        return any(c["type"] == "Established" and c["status"] == "True"
                   for c in (crd.get("status") or {}).get("conditions") or [])
    for name in names:
        wait_for(lambda name=name: established(name), 30, f"CRD {name} established on the reference", interval=0.1)


@pytest.fixture(scope="session")
def servers(k8s_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    kubectl = kubectl_path("1.33")
    ref = reference.start_reference(tmp_path_factory.mktemp("reference"), k8s_bin)
    try:
        shim = start_kubeshim(tmp_path_factory.mktemp("differential") / "data", "--no-kubelet",
                              # the reference's kube-controller-manager runs no workload controllers: nor does this
                              "--controllers", "*,-replicaset-controller,-deployment-controller,-job-controller,"
                              "-replicationcontroller-controller,-cronjob-controller,-ttl-after-finished-controller,"
                              "-disruption-controller")
    except BaseException:
        ref.stop()
        raise
    try:
        with _client(ref.url, ref.ca, ref.token) as client:
            _install_crds(client)
        yield (Server(REF, ref.url, ref.token, ref.ca, ref.kubeconfig, kubectl,
                      tmp_path_factory.mktemp("kubectl-reference")),
               Server(SHIM, shim.url, shim.token, shim.ca, shim.kubeconfig, kubectl,
                      tmp_path_factory.mktemp("kubectl-kubeshim")))
    finally:
        shim.stop()
        ref.stop()


@pytest.fixture(scope="session")
def clients(servers: tuple[Server, Server]) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    a, b = (_client(s.url, s.ca, s.token) for s in servers)
    with a, b:
        yield a, b
