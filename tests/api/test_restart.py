"""Crash safety: SIGKILL in the middle of a stream of writes, start again on the same data dir.

Every write the server acknowledged must be there afterwards with the resourceVersion it was acknowledged
with; CRDs and their resources are served again; a watch resumes from a resourceVersion taken before the crash.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from apihelpers import cm_manifest, http_client, watch_events
from harness import start_kubeshim

GROUP = "restart.example.com"
CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": f"things.{GROUP}"},
       "spec": {"group": GROUP, "scope": "Namespaced",
                "names": {"plural": "things", "singular": "thing", "kind": "Thing"},
                "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                              "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                  "spec": {"type": "object", "properties": {"n": {"type": "integer"}}}}}}}]}}
WRITERS = 6


@pytest.fixture(scope="module")
def crashed(tmp_path_factory):
    """A server that took writes, was SIGKILLed mid-stream, and was started again on the same data dir.

    Yields (server, acknowledged, unanswered, mark, before): acknowledged maps each acknowledged config map to
    the resourceVersion and data the server answered; unanswered maps a config map to the data of the one later
    write its writer sent without getting a reply (the kill came first); `mark` is a resourceVersion taken
    before the stream; `before` is what existed before the stream (CRD, a custom resource, a config map).
    """
    data = tmp_path_factory.mktemp("restart") / "data"
    server = start_kubeshim(data, "--no-kubelet")
    with http_client(server) as http:
        http.post("/api/v1/namespaces", json={"metadata": {"name": "crash"}}).raise_for_status()
        crd = http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=CRD).json()
        thing = http.post(f"/apis/{GROUP}/v1/namespaces/crash/things",
                          json={"apiVersion": f"{GROUP}/v1", "kind": "Thing", "metadata": {"name": "t1"},
                                "spec": {"n": 1}}).json()
        steady = http.post("/api/v1/namespaces/crash/configmaps", json=cm_manifest("steady")).json()
        mark = steady["metadata"]["resourceVersion"]

    acknowledged: dict[str, tuple[str, dict]] = {}
    unanswered: dict[str, dict] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(n: int) -> None:
        with http_client(server, timeout=5) as c:
            i = 0
            while not stop.is_set():
                name = f"w{n}-{i}"
                try:
                    resp = c.post("/api/v1/namespaces/crash/configmaps", json=cm_manifest(name, data={"i": str(i)}))
                    if resp.status_code == 201:
                        body = resp.json()
                        with lock:
                            acknowledged[name] = (body["metadata"]["resourceVersion"], body["data"])
                    if i % 3 == 2 and name in acknowledged:  # updates too: then the updated state is acknowledged
                        with lock:
                            unanswered[name] = {"i": "u"}
                        resp = c.patch(f"/api/v1/namespaces/crash/configmaps/{name}", json={"data": {"i": "u"}},
                                       headers={"Content-Type": "application/merge-patch+json"})
                        if resp.status_code == 200:
                            body = resp.json()
                            with lock:
                                acknowledged[name] = (body["metadata"]["resourceVersion"], body["data"])
                                del unanswered[name]
                except httpx.HTTPError:
                    return  # the server is gone
                i += 1

    with ThreadPoolExecutor(WRITERS) as pool:
        futures = [pool.submit(writer, n) for n in range(WRITERS)]
        deadline = time.monotonic() + 10
        while len(acknowledged) < 150 and time.monotonic() < deadline:
            time.sleep(0.02)
        server.process.kill()  # SIGKILL: no flush, no shutdown hooks
        server.process.wait()
        stop.set()
        for f in futures:
            f.result()
    assert len(acknowledged) >= 50, "the writers should have been mid-stream"

    again = start_kubeshim(data, "--no-kubelet")
    yield again, acknowledged, unanswered, mark, {"crd": crd, "thing": thing, "steady": steady}
    again.stop()


def test_every_acknowledged_write_survives_sigkill(crashed):
    """Each object holds what was acknowledged, or the one later write of the same writer that took effect
    without its reply arriving (a write may be committed just before the kill): nothing else, nothing older."""
    server, acknowledged, unanswered, _, _ = crashed
    with http_client(server) as http:
        items = http.get("/api/v1/namespaces/crash/configmaps").json()["items"]
    stored = {i["metadata"]["name"]: (i["metadata"]["resourceVersion"], i["data"]) for i in items}

    def survived(name: str, ack: tuple[str, dict]) -> bool:
        if stored.get(name) == ack:
            return True
        rv, data = stored.get(name, ("0", None))
        return name in unanswered and data == unanswered[name] and int(rv) > int(ack[0])

    lost = {name: (ack, stored.get(name)) for name, ack in acknowledged.items() if not survived(name, ack)}
    assert lost == {}


def test_objects_keep_uid_and_resource_version_across_restart(crashed):
    server, _, _, _, before = crashed
    with http_client(server) as http:
        steady = http.get("/api/v1/namespaces/crash/configmaps/steady").json()
    assert steady["metadata"]["uid"] == before["steady"]["metadata"]["uid"]
    assert steady["metadata"]["resourceVersion"] == before["steady"]["metadata"]["resourceVersion"]


def test_resource_versions_keep_increasing_after_restart(crashed):
    server, acknowledged, _, _, _ = crashed
    newest = max(int(rv) for rv, _ in acknowledged.values())
    with http_client(server) as http:
        listed = http.get("/api/v1/namespaces/crash/configmaps").json()
        created = http.post("/api/v1/namespaces/crash/configmaps", json=cm_manifest("after")).json()
    assert int(listed["metadata"]["resourceVersion"]) >= newest
    assert int(created["metadata"]["resourceVersion"]) > int(listed["metadata"]["resourceVersion"])


def test_crds_and_custom_resources_survive_restart(crashed):
    server, _, _, _, before = crashed
    with http_client(server) as http:
        crd = http.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/things.{GROUP}").json()
        assert crd["metadata"]["uid"] == before["crd"]["metadata"]["uid"]
        thing = http.get(f"/apis/{GROUP}/v1/namespaces/crash/things/t1").json()
        assert thing["metadata"]["resourceVersion"] == before["thing"]["metadata"]["resourceVersion"]
        assert thing["spec"] == {"n": 1}
        assert GROUP in {g["name"] for g in http.get("/apis").json()["groups"]}
        created = http.post(f"/apis/{GROUP}/v1/namespaces/crash/things",
                            json={"apiVersion": f"{GROUP}/v1", "kind": "Thing", "metadata": {"name": "t2"},
                                  "spec": {"n": 2, "pruned": True}})
        assert created.status_code == 201 and created.json()["spec"] == {"n": 2}


def test_watch_resumes_from_a_resource_version_taken_before_the_crash(crashed):
    server, acknowledged, _, mark, _ = crashed
    with http_client(server) as http:
        events = watch_events(http, "/api/v1/namespaces/crash/configmaps",
                              {"resourceVersion": mark, "timeoutSeconds": "2"})
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and rvs and rvs[0] > int(mark)
    seen = {(e["object"]["metadata"]["name"], e["object"]["metadata"]["resourceVersion"]) for e in events}
    assert {(name, rv) for name, (rv, _) in acknowledged.items()} <= seen
    assert {e["type"] for e in events} <= {"ADDED", "MODIFIED"}


def test_token_and_kubeconfig_work_after_restart(crashed):
    server, _, _, _, _ = crashed
    from kubernetes import client, config
    api = client.CoreV1Api(config.new_client_from_config(str(server.kubeconfig)))
    assert api.read_namespace("crash").status.phase == "Active"
