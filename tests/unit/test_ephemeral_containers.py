"""pods/ephemeralcontainers: a subresource added as one handler (shim/registry/subresources/ephemeralcontainers.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from registryhelpers import WRITE, Api, pod
from shim.machinery.errors import StatusError
from shim.registry.options import Patch

DEBUG = {"name": "debug", "image": "busybox:1.36", "command": ["sh"]}


async def test_ephemeral_containers_are_added_through_their_subresource_only(tmp_path: Path) -> None:
    api = await Api(tmp_path).start()
    try:
        await api.create("pods", pod("p", nodeName="n1"), "default")
        pods = api.info("pods")
        assert api.verbs.route(pods, "ephemeralcontainers", "patch") is pods.subresources["ephemeralcontainers"]
        patch = Patch("application/strategic-merge-patch+json", {
            "metadata": {"labels": {"ignored": "here"}}, "spec": {"ephemeralContainers": [DEBUG]}})
        debugged = (await api.verbs.patch(pods, "default", "p", patch, WRITE, subresource="ephemeralcontainers")).object
        assert [c["name"] for c in debugged["spec"]["ephemeralContainers"]] == ["debug"]
        assert "labels" not in debugged["metadata"]
        assert debugged["metadata"]["managedFields"][-1]["subresource"] == "ephemeralcontainers"
        assert api.verbs.get(pods, "default", "p", subresource="ephemeralcontainers") == debugged
        for body, field in (({"spec": {"ephemeralContainers": []}}, "spec.ephemeralContainers"),
                            ({"spec": {"ephemeralContainers": [DEBUG, {**DEBUG}]}}, "spec.ephemeralContainers[1].name"),
                            ({"spec": {"ephemeralContainers": [DEBUG, {"name": "main", "image": "x"}]}},
                             "spec.ephemeralContainers[1].name"),
                            ({"spec": {"ephemeralContainers": [DEBUG, {"name": "x", "image": "x",
                                                                       "ports": [{"containerPort": 80}]}]}},
                             "spec.ephemeralContainers[1].ports")):
            with pytest.raises(StatusError) as err:
                await api.verbs.patch(pods, "default", "p", Patch("application/merge-patch+json", body), WRITE,
                                      subresource="ephemeralcontainers")
            assert (err.value.code, [c["field"] for c in err.value.causes]) == (422, [field])
        with pytest.raises(StatusError) as err:  # the pod itself keeps its spec
            await api.verbs.patch(pods, "default", "p", Patch("application/merge-patch+json", {
                "spec": {"ephemeralContainers": [DEBUG, {"name": "more", "image": "x"}]}}), WRITE)
        assert err.value.code == 422
    finally:
        api.store.close()
