"""The one client interface, both ways: LocalClient in-process and RemoteClient against the live server.

Each test runs twice (`client` is parametrized) and asserts the same result, so a controller or the kubelet
behaves the same whether it sits next to the registry or reaches it over HTTPS with a kubeconfig.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest

from apihelpers import unique
from harness import start_kubeshim
from shim.clients.base import CONFIGMAPS, NAMESPACES, PODS, Client, Resource, WatchEvent
from shim.clients.local import LocalClient
from shim.clients.remote import RemoteClient
from shim.machinery.errors import StatusError
from shim.registry.catalog import Catalog
from shim.registry.generic import Registry
from shim.registry.rest import Verbs
from shim.storage.store import Store

BINDINGS = Resource("", "v1", "bindings")
WINDOW = 30  # revisions kept for watch resume on both the local store and the `expiring` server


@pytest.fixture(scope="module")
def expiring(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server of our own whose short watch window makes 410 Expired reachable in a few writes."""
    server = start_kubeshim(tmp_path_factory.mktemp("clients") / "data", "--no-kubelet",
                            "--watch-window", str(WINDOW))
    yield server
    server.stop()


async def _local(tmp_path: Path) -> AsyncIterator[LocalClient]:
    store = Store(tmp_path / "state.db", window=WINDOW)
    store.open()
    store.start(asyncio.get_running_loop())
    try:
        yield LocalClient(Verbs(Registry(store), Catalog(store)))
    finally:
        store.close()


async def _remote(kubeconfig: Path) -> AsyncIterator[RemoteClient]:
    async with RemoteClient.from_kubeconfig(kubeconfig) as remote:
        yield remote


@pytest.fixture(params=["local", "remote"])
async def client(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Client]:
    """The same verbs in-process and over HTTPS to the session's server."""
    source = _local(tmp_path) if request.param == "local" else _remote(request.getfixturevalue("kubeshim").kubeconfig)
    async for c in source:
        yield c


@pytest.fixture(params=["local", "remote"])
async def short_window(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Client]:
    """A client whose server keeps only WINDOW revisions for watch resume."""
    source = _local(tmp_path) if request.param == "local" else _remote(request.getfixturevalue("expiring").kubeconfig)
    async for c in source:
        yield c


async def _namespace(client: Client) -> str:
    name = unique("cl")
    await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


@pytest.fixture
async def ns(client: Client) -> AsyncIterator[str]:
    name = await _namespace(client)
    yield name
    try:
        await client.delete(NAMESPACES, name)
    except StatusError:
        pass


def cm(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}},
            "data": data or {"k": "v"}}


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}}


async def _events(client: Client, namespace: str, rv: str, count: int) -> list[WatchEvent]:
    """The first `count` events of a configmap watch from `rv` (the stream itself would run on)."""
    out: list[WatchEvent] = []

    async def read() -> None:
        async for event in client.watch(CONFIGMAPS, namespace, resource_version=rv):
            out.append(event)
            if len(out) == count:
                return

    await asyncio.wait_for(read(), 10)
    return out


async def test_configmap_create_get_update_patch_delete(client: Client, ns: str) -> None:
    created = await client.create(CONFIGMAPS, cm("a", x="1"), ns)
    assert created["metadata"]["uid"] and created["metadata"]["namespace"] == ns
    got = await client.get(CONFIGMAPS, "a", ns)
    assert got["data"] == {"x": "1"}
    got["data"]["x"] = "2"
    updated = await client.update(CONFIGMAPS, got)
    assert updated["data"] == {"x": "2"}
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    patched = await client.patch(CONFIGMAPS, "a", {"data": {"y": "3"}}, namespace=ns)
    assert patched["data"] == {"x": "2", "y": "3"}
    patched = await client.patch(CONFIGMAPS, "a", [{"op": "remove", "path": "/data/x"}], namespace=ns,
                                 patch_type="application/json-patch+json")
    assert patched["data"] == {"y": "3"}
    await client.delete(CONFIGMAPS, "a", ns)
    with pytest.raises(StatusError) as info:
        await client.get(CONFIGMAPS, "a", ns)
    assert info.value.code == 404


async def test_get_missing_is_404_not_found(client: Client, ns: str) -> None:
    with pytest.raises(StatusError) as info:
        await client.get(CONFIGMAPS, "missing", ns)
    err = info.value
    assert (err.code, err.reason, err.message) == (404, "NotFound", 'configmaps "missing" not found')
    assert (err.name, err.kind) == ("missing", "configmaps")


async def test_create_existing_is_409_already_exists(client: Client, ns: str) -> None:
    await client.create(CONFIGMAPS, cm("dup"), ns)
    with pytest.raises(StatusError) as info:
        await client.create(CONFIGMAPS, cm("dup"), ns)
    assert (info.value.code, info.value.reason) == (409, "AlreadyExists")


async def test_update_with_stale_resource_version_is_409_conflict(client: Client, ns: str) -> None:
    first = await client.create(CONFIGMAPS, cm("s"), ns)
    await client.patch(CONFIGMAPS, "s", {"data": {"k": "newer"}}, namespace=ns)
    first["data"] = {"k": "stale"}
    with pytest.raises(StatusError) as info:
        await client.update(CONFIGMAPS, first)
    assert (info.value.code, info.value.reason) == (409, "Conflict")
    assert "the object has been modified" in info.value.message
    assert (await client.get(CONFIGMAPS, "s", ns))["data"] == {"k": "newer"}


async def test_list_with_label_selector(client: Client, ns: str) -> None:
    await client.create(CONFIGMAPS, cm("web", {"app": "web"}), ns)
    await client.create(CONFIGMAPS, cm("db", {"app": "db"}), ns)
    listing = await client.list(CONFIGMAPS, ns, label_selector="app=web")
    assert [i["metadata"]["name"] for i in listing["items"]] == ["web"]
    assert listing["kind"] == "ConfigMapList" and int(listing["metadata"]["resourceVersion"]) > 0


async def test_list_without_namespace_spans_all_namespaces(client: Client, ns: str) -> None:
    other = await _namespace(client)
    await client.create(CONFIGMAPS, cm("one", {"mark": ns}), ns)
    await client.create(CONFIGMAPS, cm("two", {"mark": ns}), other)
    listing = await client.list(CONFIGMAPS, label_selector=f"mark={ns}")
    assert sorted((i["metadata"]["namespace"], i["metadata"]["name"]) for i in listing["items"]) == \
        sorted([(ns, "one"), (other, "two")])


async def test_watch_from_resource_version_sees_added_modified_deleted(client: Client, ns: str) -> None:
    rv = (await client.list(CONFIGMAPS, ns))["metadata"]["resourceVersion"]
    await client.create(CONFIGMAPS, cm("w"), ns)
    await client.patch(CONFIGMAPS, "w", {"data": {"k": "2"}}, namespace=ns)
    await client.delete(CONFIGMAPS, "w", ns)
    events = await _events(client, ns, rv, 3)
    assert [(e.type, e.object["metadata"]["name"]) for e in events] == \
        [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]
    assert events[2].object["data"] == {"k": "2"}


async def test_watch_delivers_live_changes(client: Client, ns: str) -> None:
    rv = (await client.list(CONFIGMAPS, ns))["metadata"]["resourceVersion"]
    reader = asyncio.create_task(_events(client, ns, rv, 2))
    await asyncio.sleep(0.2)
    await client.create(CONFIGMAPS, cm("live"), ns)
    await client.patch(CONFIGMAPS, "live", {"data": {"k": "2"}}, namespace=ns)
    assert [e.type for e in await reader] == ["ADDED", "MODIFIED"]


async def test_watch_with_too_old_resource_version_is_410_expired(short_window: Client) -> None:
    namespace = await _namespace(short_window)
    first = await short_window.create(CONFIGMAPS, cm("first"), namespace)
    for i in range(WINDOW + 5):
        await short_window.create(CONFIGMAPS, cm(f"cm{i}"), namespace)
    with pytest.raises(StatusError) as info:
        await _events(short_window, namespace, first["metadata"]["resourceVersion"], 1)
    assert (info.value.code, info.value.reason) == (410, "Expired")
    assert info.value.message.startswith(f"too old resource version: {first['metadata']['resourceVersion']}")


async def test_remote_watch_ends_when_the_server_closes_the_stream(kubeshim: Any) -> None:
    async with RemoteClient.from_kubeconfig(kubeshim.kubeconfig) as remote:
        namespace = await _namespace(remote)
        await remote.create(CONFIGMAPS, cm("only"), namespace)
        events = [e async for e in remote.watch(CONFIGMAPS, namespace, timeout_seconds=1)]
    assert [(e.type, e.object["metadata"]["name"]) for e in events] == [("ADDED", "only")]


async def test_binding_assigns_the_pod_to_a_node(client: Client, ns: str) -> None:
    await client.create(PODS, pod("p"), ns)
    out = await client.create(BINDINGS, {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"},
                                         "target": {"apiVersion": "v1", "kind": "Node", "name": "node-a"}}, ns)
    assert (out["kind"], out["status"]) == ("Status", "Success")
    bound = await client.get(PODS, "p", ns)
    assert bound["spec"]["nodeName"] == "node-a"
    assert any(c["type"] == "PodScheduled" and c["status"] == "True" for c in bound["status"]["conditions"])


async def test_binding_through_the_pods_binding_subresource_assigns_the_pod(client: Client, ns: str) -> None:
    """What kube-scheduler (and kubeshim's) does: POST pods/{name}/binding."""
    await client.create(PODS, pod("sub"), ns)
    out = await client.create(PODS, {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "sub"},
                                     "target": {"apiVersion": "v1", "kind": "Node", "name": "node-b"}},
                              ns, subresource="binding")
    assert (out["kind"], out["status"]) == ("Status", "Success")
    assert (await client.get(PODS, "sub", ns))["spec"]["nodeName"] == "node-b"


async def test_status_update_writes_status_only(client: Client, ns: str) -> None:
    current = await client.create(PODS, pod("st"), ns)
    current["status"] = {**current.get("status", {}), "phase": "Running", "message": "up"}
    current["spec"]["activeDeadlineSeconds"] = 30
    updated = await client.update(PODS, current, subresource="status")
    assert (updated["status"]["phase"], updated["status"]["message"]) == ("Running", "up")
    assert "activeDeadlineSeconds" not in updated["spec"]
    assert (await client.get(PODS, "st", ns))["status"]["phase"] == "Running"


async def test_delete_with_mismatched_uid_precondition_is_409(client: Client, ns: str) -> None:
    await client.create(CONFIGMAPS, cm("keep"), ns)
    with pytest.raises(StatusError) as info:
        await client.delete(CONFIGMAPS, "keep", ns, uid="not-the-uid")
    assert (info.value.code, info.value.reason) == (409, "Conflict")
    assert info.value.message.startswith('Operation cannot be fulfilled on ConfigMap "keep": the UID in the '
                                         "precondition (not-the-uid) does not match the UID in record (")
    assert info.value.message.endswith("). The object might have been deleted and then recreated")
    assert (await client.get(CONFIGMAPS, "keep", ns))["metadata"]["name"] == "keep"


async def test_remote_strategic_merge_patch_merges_containers_by_name(kubeshim: Any) -> None:
    async with RemoteClient.from_kubeconfig(kubeshim.kubeconfig) as remote:
        namespace = await _namespace(remote)
        await remote.create(PODS, pod("smp"), namespace)
        patched = await remote.patch(PODS, "smp", {"spec": {"containers": [{"name": "main", "image": "busybox:1.37"}]}},
                                     namespace=namespace, patch_type="application/strategic-merge-patch+json")
    assert [(c["name"], c["image"]) for c in patched["spec"]["containers"]] == [("main", "busybox:1.37")]


def _canned(status: int, body: bytes, content_type: str = "application/json") -> RemoteClient:
    """A RemoteClient whose every request gets the same answer: what a real apiserver or a proxy might send."""
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body,
                                                                    headers={"Content-Type": content_type}))
    return RemoteClient(httpx.AsyncClient(transport=transport, base_url="https://apiserver.invalid"))


async def test_remote_watch_error_event_raises_its_status() -> None:
    """A real kube-apiserver reports expiry inside the stream, after a 200."""
    body = (b'{"type":"ADDED","object":{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"5"}}}\n'
            b'{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure",'
            b'"message":"too old resource version: 5 (9)","reason":"Expired","code":410}}\n')
    seen: list[str] = []
    async with _canned(200, body) as remote:
        with pytest.raises(StatusError) as info:
            async for event in remote.watch(CONFIGMAPS, "ns", resource_version="5"):
                seen.append(event.type)
    assert seen == ["ADDED"]
    assert (info.value.code, info.value.reason, info.value.message) == (410, "Expired",
                                                                        "too old resource version: 5 (9)")


async def test_remote_failure_without_status_body_is_a_generic_status_error() -> None:
    """A proxy's HTML 503 still reaches callers as a StatusError with upstream's generic reason."""
    async with _canned(503, b"<html>upstream unavailable</html>", "text/html") as remote:
        with pytest.raises(StatusError) as info:
            await remote.get(CONFIGMAPS, "a", "ns")
    assert (info.value.code, info.value.reason) == (503, "ServiceUnavailable")
    assert info.value.causes == [{"reason": "UnexpectedServerResponse",
                                  "message": "<html>upstream unavailable</html>"}]
