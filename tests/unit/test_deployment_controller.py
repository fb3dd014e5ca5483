"""The Deployment controller with the ReplicaSet controller on kubeshim's own registry (in-process; a stand-in
kubelet marks pods ready): ReplicaSets per template with upstream's names and annotations, rolling updates
within maxUnavailable/maxSurge, Recreate, rollback, scaling, pausing, history cleanup and the conditions
`kubectl rollout status` reads."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from localapi import LocalApi
from shim.clients.base import PODS
from shim.controllers.deployment import DEPLOYMENTS
from shim.controllers.replicaset import REPLICASETS
from workloadhelpers import eventually, fake_kubelet, live_pods, pods_of, workloads


def deployment(name: str = "web", replicas: int = 3, image: str = "python:3.11", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}, **spec}}


async def replica_sets(api: LocalApi) -> list[dict[str, Any]]:
    return sorted((await api.client.list(REPLICASETS, "default"))["items"],
                  key=lambda rs: int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]))


async def rolled_out(api: LocalApi, name: str = "web") -> dict[str, Any]:
    """Wait for what `kubectl rollout status` waits for, and return the deployment."""
    async def check() -> dict[str, Any] | None:
        d = await api.client.get(DEPLOYMENTS, name, "default")
        s, want = d.get("status") or {}, d["spec"]["replicas"]
        progressing = next((c for c in s.get("conditions") or [] if c["type"] == "Progressing"), {})
        done = (s.get("observedGeneration", 0) >= d["metadata"]["generation"] and s.get("updatedReplicas", 0) == want
                and s.get("replicas", 0) == want and s.get("availableReplicas", 0) == want
                and progressing.get("reason") == "NewReplicaSetAvailable")
        return d if done else None
    return await eventually(check, what=f"deployment {name} rolled out")


async def set_image(api: LocalApi, image: str, name: str = "web") -> None:
    await api.client.patch(DEPLOYMENTS, name, {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": image}]}}}}, namespace="default", patch_type="application/strategic-merge-patch+json")


async def test_a_deployment_gets_one_replica_set_named_after_its_template_hash(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api, fake_kubelet(api):
        created = await api.client.create(DEPLOYMENTS, deployment(), "default")
        d = await rolled_out(api)
        [rs] = await replica_sets(api)
        pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
        assert rs["metadata"]["name"] == f"web-{pod_hash}"
        assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": pod_hash}
        assert rs["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]
        assert {k: v for k, v in rs["metadata"]["annotations"].items() if k.startswith("deployment.")} == {
            "deployment.kubernetes.io/revision": "1", "deployment.kubernetes.io/desired-replicas": "3",
            "deployment.kubernetes.io/max-replicas": "4"}
        assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
        conditions = {c["type"]: (c["status"], c["reason"]) for c in d["status"]["conditions"]}
        assert conditions == {"Available": ("True", "MinimumReplicasAvailable"),
                              "Progressing": ("True", "NewReplicaSetAvailable")}
        assert len(await live_pods(api, 3, "app=web")) == 3


async def test_a_rolling_update_never_drops_below_max_unavailable_nor_exceeds_max_surge(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api, fake_kubelet(api):
        strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}}
        await api.client.create(DEPLOYMENTS, deployment(replicas=4, strategy=strategy), "default")
        await rolled_out(api)
        seen: list[tuple[int, int]] = []
        watch = api.client.watch(PODS, "default", resource_version=str(api.store.revision))
        import asyncio

        async def follow() -> None:
            live: dict[str, dict[str, Any]] = {p["metadata"]["name"]: p for p in await pods_of(api)}
            async for event in watch:
                name = event.object["metadata"]["name"]
                if event.type == "DELETED" or event.object["metadata"].get("deletionTimestamp"):
                    live.pop(name, None)
                else:
                    live[name] = event.object
                ready = sum(1 for p in live.values() if any(c["type"] == "Ready" and c["status"] == "True"
                                                             for c in p.get("status", {}).get("conditions") or []))
                seen.append((ready, len(live)))

        follower = asyncio.create_task(follow())
        await set_image(api, "python:3.12")
        d = await rolled_out(api)
        follower.cancel()
        assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
        assert seen and min(r for r, _ in seen) >= 3 and max(n for _, n in seen) <= 5
        old, new = await replica_sets(api)
        assert old["spec"]["replicas"] == 0 and new["spec"]["replicas"] == 4
        images = {p["spec"]["containers"][0]["image"] for p in await live_pods(api, 4, "app=web")}
        assert images == {"python:3.12"}


async def test_undo_returns_to_the_old_replica_set_as_a_new_revision(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api, fake_kubelet(api):
        await api.client.create(DEPLOYMENTS, deployment(replicas=2), "default")
        await rolled_out(api)
        first = (await replica_sets(api))[0]["metadata"]["name"]
        await set_image(api, "python:3.12")
        await rolled_out(api)
        await set_image(api, "python:3.11")  # what `kubectl rollout undo` does: the old template, client-side
        d = await rolled_out(api)
        rss = await replica_sets(api)
        assert len(rss) == 2 and rss[-1]["metadata"]["name"] == first
        assert rss[-1]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
        assert rss[-1]["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
        assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"


async def test_scaling_to_zero_removes_every_pod(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api, fake_kubelet(api):
        await api.client.create(DEPLOYMENTS, deployment(), "default")
        await rolled_out(api)
        await api.client.patch(DEPLOYMENTS, "web", {"spec": {"replicas": 0}}, namespace="default")
        await rolled_out(api)
        assert await live_pods(api, 0, "app=web") == []
        [rs] = await replica_sets(api)
        assert rs["spec"]["replicas"] == 0 and rs["metadata"]["annotations"][
            "deployment.kubernetes.io/desired-replicas"] == "0"


async def test_recreate_scales_the_old_replica_set_to_zero_before_the_new_one_starts(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api, fake_kubelet(api):
        await api.client.create(DEPLOYMENTS, deployment(strategy={"type": "Recreate"}), "default")
        await rolled_out(api)
        await set_image(api, "python:3.12")
        await rolled_out(api)
        old, new = await replica_sets(api)
        assert old["spec"]["replicas"] == 0 and new["spec"]["replicas"] == 3


async def test_a_paused_deployment_does_not_roll_out_and_says_so(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api, fake_kubelet(api):
        await api.client.create(DEPLOYMENTS, deployment(replicas=1), "default")
        await rolled_out(api)
        await api.client.patch(DEPLOYMENTS, "web", {"spec": {"paused": True}}, namespace="default")
        await set_image(api, "python:3.12")

        async def paused() -> bool:
            d = await api.client.get(DEPLOYMENTS, "web", "default")
            return any(c["reason"] == "DeploymentPaused" and c["status"] == "Unknown"
                       for c in d["status"]["conditions"])
        await eventually(paused)
        assert len(await replica_sets(api)) == 1
        await api.client.patch(DEPLOYMENTS, "web", {"spec": {"paused": False}}, namespace="default")
        await rolled_out(api)
        assert len(await replica_sets(api)) == 2


async def test_old_replica_sets_beyond_the_history_limit_are_deleted(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api, fake_kubelet(api):
        await api.client.create(DEPLOYMENTS, deployment(replicas=1, revisionHistoryLimit=1), "default")
        for image in ("python:3.12", "python:3.13"):
            await rolled_out(api)
            await set_image(api, image)
        await rolled_out(api)

        async def two_left() -> list[dict[str, Any]]:
            rss = await replica_sets(api)
            return rss if len(rss) == 2 else []
        rss = await eventually(two_left)
        assert [rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for rs in rss] == ["2", "3"]


async def test_a_scale_during_a_rollout_is_shared_proportionally(tmp_path: Path) -> None:
    async with workloads(tmp_path) as api, fake_kubelet(api, ready=False):
        strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 3}}
        await api.client.create(DEPLOYMENTS, deployment(replicas=10, strategy=strategy), "default")
        await eventually(lambda: _spec_total(api, 10))
        await set_image(api, "python:3.12")
        await eventually(lambda: _spec_total(api, 13))
        await api.client.patch(DEPLOYMENTS, "web", {"spec": {"replicas": 20}}, namespace="default")
        await eventually(lambda: _spec_total(api, 23))
        old, new = await replica_sets(api)
        assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (18, 5)


async def _spec_total(api: LocalApi, n: int) -> bool:
    return sum(rs["spec"]["replicas"] for rs in await replica_sets(api)) == n and len(await replica_sets(api)) >= 1
