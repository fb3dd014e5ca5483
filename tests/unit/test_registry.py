"""The generic store and the verbs layer over a real SQLite store: every verb once, no sockets."""
from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from registryhelpers import ADMIN, WRITE, Api, configmap, crd, namespace, pod
from shim.controllers.gc import collected_resources
from shim.machinery.errors import StatusError
from shim.machinery.fields import parse_field_selector
from shim.machinery.labels import parse_label_selector
from shim.machinery.users import User
from shim.registry.generic import iterate
from shim.registry.options import DeleteOptions, ListOptions, Patch, WriteOptions
from shim.registry.services import Services

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    api = await Api(tmp_path).start()
    yield api
    api.store.close()


def status_of(err: pytest.ExceptionInfo[StatusError]) -> tuple[int, str]:
    return err.value.code, err.value.reason


# -- create ---------------------------------------------------------------------------------------------------

async def test_create_stamps_server_fields_and_commits(api: Api) -> None:
    before = api.store.revision
    created = await api.create("configmaps", configmap("a"), "default")
    meta = created["metadata"]
    assert meta["uid"] and meta["creationTimestamp"] and int(meta["resourceVersion"]) == before + 1
    assert "generation" not in meta  # ConfigMaps have no spec/status split
    assert api.get("configmaps", "a", "default") == created
    assert api.store.committed_revision == before + 1


async def test_create_with_generate_name_and_dry_run(api: Api) -> None:
    dry = await api.create("configmaps", {**configmap(""), "metadata": {"generateName": "gen-"}}, "default",
                           dataclasses.replace(WRITE, dry_run=True))
    assert dry["metadata"]["name"].startswith("gen-")
    assert "resourceVersion" not in dry["metadata"]
    listed = await api.verbs.list(api.info("configmaps"), "default", ListOptions())
    assert listed.entries == []


async def test_create_refuses_duplicates_missing_and_terminating_namespaces(api: Api) -> None:
    await api.create("configmaps", configmap("a"), "default")
    with pytest.raises(StatusError) as err:
        await api.create("configmaps", configmap("a"), "default")
    assert status_of(err) == (409, "AlreadyExists")
    with pytest.raises(StatusError) as err:
        await api.create("configmaps", configmap("a"), "nowhere")
    assert status_of(err) == (404, "NotFound")
    await api.create("namespaces", namespace("going"))
    await api.verbs.delete(api.info("namespaces"), "", "going", DeleteOptions())
    with pytest.raises(StatusError) as err:
        await api.create("configmaps", configmap("late"), "going")
    assert status_of(err) == (403, "Forbidden")


async def test_write_answers_its_warnings_and_options_stay_frozen(api: Api) -> None:
    opts = WriteOptions(field_manager="tests")
    body = {**configmap("w"), "surprise": 1}
    written = await api.verbs.create(api.info("configmaps"), "default", body, opts)
    assert written.warnings == ('unknown field "surprise"',)
    assert "surprise" not in written.object
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.dry_run = True  # type: ignore[misc]
    strict = dataclasses.replace(opts, field_validation="Strict")
    with pytest.raises(StatusError) as err:
        await api.verbs.create(api.info("configmaps"), "default", {**configmap("x"), "surprise": 1}, strict)
    assert err.value.code == 400


async def test_wrong_kind_and_wrong_types_are_bad_requests(api: Api) -> None:
    with pytest.raises(StatusError) as err:
        await api.create("configmaps", {**configmap("x"), "kind": "Secret"}, "default")
    assert status_of(err) == (400, "BadRequest")
    with pytest.raises(StatusError) as err:
        await api.create("configmaps", {**configmap("x"), "data": ["not", "a", "map"]}, "default")
    assert status_of(err) == (400, "BadRequest")
    with pytest.raises(StatusError) as err:
        await api.create("configmaps", configmap("Not_A_Name"), "default")
    assert status_of(err) == (422, "Invalid")


# -- update and patch -----------------------------------------------------------------------------------------

async def test_update_is_an_optimistic_lock_and_a_no_op_keeps_the_revision(api: Api) -> None:
    created = await api.create("configmaps", configmap("u"), "default")
    info = api.info("configmaps")
    same = (await api.verbs.update(info, "default", "u", dict(created), WRITE)).object
    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    changed = (await api.verbs.update(info, "default", "u", configmap("u", {"k": "w"}), WRITE)).object
    assert int(changed["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    with pytest.raises(StatusError) as err:
        await api.verbs.update(info, "default", "u", {**configmap("u", {"k": "x"}), "metadata": {
            "name": "u", "resourceVersion": created["metadata"]["resourceVersion"]}}, WRITE)
    assert status_of(err) == (409, "Conflict")


async def test_generation_follows_spec_changes_only(api: Api) -> None:
    created = await api.create("pods", pod("g"), "default")
    assert created["metadata"]["generation"] == 1
    info = api.info("pods")
    labelled = await api.verbs.patch(info, "default", "g", Patch(MERGE, {"metadata": {"labels": {"a": "b"}}}), WRITE)
    assert labelled.object["metadata"]["generation"] == 1
    image = await api.verbs.patch(info, "default", "g", Patch(
        STRATEGIC, {"spec": {"containers": [{"name": "main", "image": "busybox:1.37"}]}}), WRITE)
    assert image.object["metadata"]["generation"] == 2
    assert [c["image"] for c in image.object["spec"]["containers"]] == ["busybox:1.37"]


async def test_patch_types(api: Api) -> None:
    await api.create("configmaps", configmap("p", {"a": "1", "b": "2"}), "default")
    info = api.info("configmaps")
    merged = await api.verbs.patch(info, "default", "p", Patch(MERGE, {"data": {"a": None, "c": "3"}}), WRITE)
    assert merged.object["data"] == {"b": "2", "c": "3"}
    patched = await api.verbs.patch(info, "default", "p", Patch(JSON_PATCH, [
        {"op": "replace", "path": "/data/b", "value": "4"}]), WRITE)
    assert patched.object["data"] == {"b": "4", "c": "3"}
    with pytest.raises(StatusError) as err:
        await api.verbs.patch(info, "default", "p", Patch(JSON_PATCH, [{"op": "test", "path": "/data/b",
                                                                        "value": "0"}]), WRITE)
    assert status_of(err) == (422, "Invalid")
    with pytest.raises(StatusError) as err:
        await api.verbs.patch(info, "default", "p", Patch("application/json", {}), WRITE)
    assert err.value.code == 415
    with pytest.raises(StatusError) as err:
        await api.verbs.patch(info, "default", "p", Patch(MERGE, ["not", "an", "object"]), WRITE)
    assert err.value.code == 400


async def test_server_side_apply_creates_then_owns_fields(api: Api) -> None:
    info = api.info("configmaps")
    applied = configmap("ssa", {"a": "1"})
    created = await api.verbs.patch(info, "default", "ssa", Patch(APPLY, applied), WRITE)
    assert created.object["data"] == {"a": "1"}
    assert created.object["metadata"]["managedFields"][0]["operation"] == "Apply"
    other = dataclasses.replace(WRITE, field_manager="other")
    with pytest.raises(StatusError) as err:
        await api.verbs.patch(info, "default", "ssa", Patch(APPLY, configmap("ssa", {"a": "2"})), other)
    assert status_of(err) == (409, "Conflict")
    forced = await api.verbs.patch(info, "default", "ssa", Patch(APPLY, configmap("ssa", {"a": "2"}), force=True),
                                   other)
    assert forced.object["data"] == {"a": "2"}
    assert {m["manager"] for m in forced.object["metadata"]["managedFields"]} == {"other"}
    with pytest.raises(StatusError) as err:
        await api.verbs.patch(info, "default", "ssa", Patch(APPLY, configmap("ssa")), WriteOptions())
    assert err.value.code == 422  # apply needs a field manager


# -- reads ----------------------------------------------------------------------------------------------------

async def test_list_selects_and_pages_at_one_revision(api: Api) -> None:
    for i in range(5):
        await api.create("configmaps", configmap(f"c{i}", labels={"parity": "even" if i % 2 == 0 else "odd"}),
                         "default")
    info = api.info("configmaps")
    even = await api.verbs.list(info, "default", ListOptions(parse_label_selector("parity=even")))
    assert [api.verbs.decode(info, e)["metadata"]["name"] for e in even.entries] == ["c0", "c2", "c4"]
    named = await api.verbs.list(info, "", ListOptions(field_selector=parse_field_selector("metadata.name=c3")))
    assert len(named.entries) == 1
    first = await api.verbs.list(info, "default", ListOptions(limit=2))
    assert first.continue_token and first.remaining == 3
    await api.create("configmaps", configmap("c9"), "default")  # after the snapshot: not in its pages
    rest = await api.verbs.list(info, "default", ListOptions(limit=10, continue_token=first.continue_token))
    assert [api.verbs.decode(info, e)["metadata"]["name"] for e in rest.entries] == ["c2", "c3", "c4"]
    as_object = api.verbs.list_object(info, rest)
    assert (as_object["kind"], as_object["metadata"]["resourceVersion"]) == ("ConfigMapList",
                                                                              str(first.resource_version))
    with pytest.raises(StatusError) as err:
        await api.verbs.list(info, "default", ListOptions(field_selector=parse_field_selector("data.k=v")))
    assert err.value.code == 400


async def test_watch_turns_selector_transitions_into_added_and_deleted(api: Api) -> None:
    info = api.info("configmaps")
    watch = await api.verbs.watch(info, "default", ListOptions(parse_label_selector("watched=yes"),
                                                               resource_version=str(api.store.revision)))
    seen: list[tuple[str, str]] = []

    async def collect() -> None:
        async for kind, entry in iterate(watch):
            seen.append((kind, api.verbs.decode(info, entry)["metadata"]["name"]))
            if len(seen) == 3:
                return
    task = asyncio.create_task(collect())
    await api.create("configmaps", configmap("ignored"), "default")
    await api.create("configmaps", configmap("w", labels={"watched": "yes"}), "default")
    await api.verbs.patch(info, "default", "ignored", Patch(MERGE, {"metadata": {"labels": {"watched": "yes"}}}),
                          WRITE)
    await api.verbs.patch(info, "default", "w", Patch(MERGE, {"metadata": {"labels": {"watched": "no"}}}), WRITE)
    await asyncio.wait_for(task, 5)
    watch.close()
    assert seen == [("ADDED", "w"), ("ADDED", "ignored"), ("DELETED", "w")]


# -- delete ---------------------------------------------------------------------------------------------------

async def test_finalizers_hold_a_deleted_object_until_they_are_gone(api: Api) -> None:
    await api.create("configmaps", configmap("held", finalizers=["example.com/hold"]), "default")
    info = api.info("configmaps")
    deleted = await api.verbs.delete(info, "default", "held", DeleteOptions())
    assert not deleted.gone and deleted.object["metadata"]["deletionTimestamp"]
    with pytest.raises(StatusError) as err:
        await api.verbs.patch(info, "default", "held", Patch(MERGE, {"metadata": {"finalizers": ["a", "b"]}}), WRITE)
    assert status_of(err) == (422, "Invalid")
    await api.verbs.patch(info, "default", "held", Patch(MERGE, {"metadata": {"finalizers": None}}), WRITE)
    with pytest.raises(StatusError) as err:
        api.get("configmaps", "held", "default")
    assert err.value.code == 404


async def test_delete_leaves_its_options_alone_and_checks_preconditions(api: Api) -> None:
    created = await api.create("pods", pod("graceful", nodeName="n1"), "default")  # scheduled: graceful
    info = api.info("pods")
    with pytest.raises(StatusError) as err:
        await api.verbs.delete(info, "default", "graceful", DeleteOptions(uid="another"))
    assert status_of(err) == (409, "Conflict")
    opts = DeleteOptions(grace_period_seconds=-5)
    deleted = await api.verbs.delete(info, "default", "graceful", opts)
    obj = deleted.object
    assert not deleted.gone and obj["metadata"]["deletionGracePeriodSeconds"] == 1  # negative means "at once": 1s
    assert opts.grace_period_seconds == -5
    assert obj["metadata"]["uid"] == created["metadata"]["uid"]
    with pytest.raises(StatusError) as err:
        await api.verbs.delete(info, "default", "graceful", DeleteOptions(propagation_policy="Sideways"))
    assert status_of(err) == (422, "Invalid")


async def test_delete_collection_deletes_what_the_list_selects(api: Api) -> None:
    for name, team in (("a", "x"), ("b", "x"), ("c", "y")):
        await api.create("configmaps", configmap(name, labels={"team": team}), "default")
    info = api.info("configmaps")
    deleted = await api.verbs.delete_collection(info, "default", ListOptions(parse_label_selector("team=x")),
                                                DeleteOptions())
    assert sorted(i["metadata"]["name"] for i in deleted.object["items"]) == ["a", "b"]
    left = await api.verbs.list(info, "default", ListOptions())
    assert [api.verbs.decode(info, e)["metadata"]["name"] for e in left.entries] == ["c"]


# -- subresources and virtual resources -----------------------------------------------------------------------

async def test_routes_answer_404_for_unknown_subresources_and_405_for_undeclared_verbs(api: Api) -> None:
    pods, bindings = api.info("pods"), api.info("bindings")
    with pytest.raises(StatusError) as err:
        api.verbs.route(pods, "nonsense", "get")
    assert err.value.code == 404
    for info, subresource, verb in ((pods, "binding", "get"), (pods, "status", "delete"), (pods, "log", "update"),
                                    (bindings, "", "list"), (bindings, "", "get"),
                                    (api.info("namespaces"), "finalize", "patch")):
        with pytest.raises(StatusError) as err:
            api.verbs.route(info, subresource, verb)
        assert err.value.code == 405, (info.plural, subresource, verb)
    assert api.verbs.route(pods, "status", "patch") is pods.subresources["status"]
    assert api.verbs.route(api.info("configmaps"), "", "list") is None


async def test_status_writes_status_only_and_the_main_endpoint_keeps_it(api: Api) -> None:
    created = await api.create("pods", pod("s"), "default")
    info = api.info("pods")
    body = {**created, "status": {"phase": "Running"}, "metadata": {**created["metadata"], "labels": {"x": "y"}},
            "spec": {**created["spec"], "activeDeadlineSeconds": 5}}
    updated = (await api.verbs.update(info, "default", "s", body, WRITE, subresource="status")).object
    assert updated["status"]["phase"] == "Running"
    assert "activeDeadlineSeconds" not in updated["spec"]
    assert updated["metadata"]["labels"] == {"x": "y"}  # pods/status may relabel, as upstream's
    assert updated["metadata"]["managedFields"][-1]["subresource"] == "status"
    main = await api.verbs.patch(info, "default", "s", Patch(MERGE, {"status": {"phase": "Failed"}}), WRITE)
    assert main.object["status"]["phase"] == "Running"


async def test_binding_assigns_a_pod_once_through_either_path(api: Api) -> None:
    await api.create("pods", pod("b1"), "default")
    await api.create("pods", pod("b2"), "default")
    pods, bindings = api.info("pods"), api.info("bindings")
    target = {"target": {"kind": "Node", "name": "n1"}}
    out = await api.verbs.create(pods, "default", dict(target), WRITE, name="b1", subresource="binding")
    assert (out.object["kind"], out.object["status"]) == ("Status", "Success")
    await api.verbs.create(bindings, "default", {"metadata": {"name": "b2"}, **target}, WRITE)
    for name in ("b1", "b2"):
        bound = api.get("pods", name, "default")
        assert bound["spec"]["nodeName"] == "n1"
        assert [c["status"] for c in bound["status"]["conditions"] if c["type"] == "PodScheduled"] == ["True"]
    with pytest.raises(StatusError) as err:
        await api.verbs.create(pods, "default", dict(target), WRITE, name="b1", subresource="binding")
    assert status_of(err) == (409, "Conflict")
    with pytest.raises(StatusError) as err:
        await api.verbs.create(pods, "default", {"metadata": {"name": "other"}, **target}, WRITE, name="b1",
                               subresource="binding")
    assert err.value.code == 400
    with pytest.raises(StatusError) as err:
        await api.verbs.create(bindings, "default", {"metadata": {"name": "b1"}, "target": "n1"}, WRITE)
    assert err.value.code == 400


async def test_eviction_deletes_the_pod_with_its_options(api: Api) -> None:
    await api.create("pods", pod("e"), "default")
    out = await api.verbs.create(api.info("pods"), "default", {"deleteOptions": {"gracePeriodSeconds": 0}}, WRITE,
                                 name="e", subresource="eviction")
    assert out.object["status"] == "Success"
    with pytest.raises(StatusError):
        api.get("pods", "e", "default")


async def test_finalize_changes_spec_finalizers_only(api: Api) -> None:
    await api.create("namespaces", namespace("fin"))
    info = api.info("namespaces")
    current = api.get("namespaces", "fin")
    body = {**current, "spec": {"finalizers": []}, "status": {"phase": "Terminating"}}
    done = (await api.verbs.update(info, "", "fin", body, WRITE, subresource="finalize")).object
    assert done["spec"] == {} and done["status"]["phase"] == "Active"
    main = await api.verbs.patch(info, "", "fin", Patch(MERGE, {"spec": {"finalizers": ["x"]}}), WRITE)
    assert main.object["spec"] == {}  # only finalize changes spec.finalizers


async def test_review_kinds_are_answered_never_stored(tmp_path: Path) -> None:
    class Reviewer:
        def review(self, user: User, plural: str, body: dict[str, Any]) -> dict[str, Any]:
            return {**body, "status": {"allowed": user.name == "admin", "plural": plural}}

    api = await Api(tmp_path, Services(reviews=Reviewer())).start()
    try:
        info = api.info("selfsubjectaccessreviews", "authorization.k8s.io")
        out = await api.verbs.create(info, "", {"spec": {"resourceAttributes": {"verb": "get"}}}, WRITE)
        assert out.object["status"] == {"allowed": True, "plural": "selfsubjectaccessreviews"}
        assert out.object["kind"] == "SelfSubjectAccessReview"
        assert list(api.store.items(info.storage)) == []
        anonymous = dataclasses.replace(WRITE, user=User("someone"))
        out = await api.verbs.create(info, "", {"spec": {}}, anonymous)
        assert out.object["status"]["allowed"] is False
        with pytest.raises(StatusError) as err:
            await api.verbs.list(info, "", ListOptions())
        assert err.value.code == 405
    finally:
        api.store.close()


async def test_handlers_without_their_service_answer_503(api: Api) -> None:
    await api.create("serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}},
                     "default")
    with pytest.raises(StatusError) as err:
        await api.verbs.create(api.info("serviceaccounts"), "default", {"spec": {}}, WRITE, name="sa",
                               subresource="token")
    assert err.value.code == 503
    with pytest.raises(StatusError) as err:
        await api.verbs.create(api.info("subjectaccessreviews", "authorization.k8s.io"), "", {"spec": {}}, WRITE)
    assert err.value.code == 503
    await api.create("pods", pod("l"), "default")
    with pytest.raises(StatusError) as err:
        await api.verbs.stream(api.info("pods"), "default", "l", "log", {})
    assert err.value.code == 400  # no kubelet in this process


async def test_log_streams_what_the_pod_log_service_reads(tmp_path: Path) -> None:
    async def pod_logs(pod: dict[str, Any], options: Any) -> AsyncIterator[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            yield f"{pod['metadata']['name']}:{options.get('container')}\n".encode()
        return chunks()

    api = await Api(tmp_path, Services(pod_logs=pod_logs)).start()
    try:
        await api.create("pods", pod("lp"), "default")
        stream = await api.verbs.stream(api.info("pods"), "default", "lp", "log", {"container": "main"})
        assert b"".join([chunk async for chunk in stream]) == b"lp:main\n"
    finally:
        api.store.close()


# -- custom resources -----------------------------------------------------------------------------------------

async def test_custom_resources_follow_their_crd(api: Api) -> None:
    await api.create("customresourcedefinitions", crd(), group="apiextensions.k8s.io")
    v1 = api.info("widgets", "example.com")
    v1beta1 = api.info("widgets", "example.com", "v1beta1")
    created = (await api.verbs.create(v1beta1, "default", {
        "apiVersion": "example.com/v1beta1", "kind": "Widget", "metadata": {"name": "w"},
        "spec": {"selector": "app=w", "unknown": True}}, WRITE))
    assert created.object["spec"] == {"replicas": 1, "selector": "app=w"}  # defaulted and pruned
    assert api.verbs.get(v1, "default", "w")["apiVersion"] == "example.com/v1"
    listed = api.verbs.list_object(v1, await api.verbs.list(v1, "default", ListOptions()))
    assert [i["apiVersion"] for i in listed["items"]] == ["example.com/v1"]
    with pytest.raises(StatusError) as err:
        await api.verbs.patch(v1, "default", "w", Patch(STRATEGIC, {"spec": {}}), WRITE)
    assert err.value.code == 415
    scale = api.verbs.get(v1, "default", "w", subresource="scale")
    assert (scale["kind"], scale["spec"]["replicas"], scale["status"]["selector"]) == ("Scale", 1, "app=w")
    rescaled = await api.verbs.patch(v1, "default", "w", Patch(MERGE, {"spec": {"replicas": 4}}), WRITE,
                                     subresource="scale")
    assert rescaled.object["spec"]["replicas"] == 4
    assert api.verbs.get(v1, "default", "w")["spec"]["replicas"] == 4
    with pytest.raises(StatusError) as err:
        await api.verbs.update(v1, "default", "w", {"spec": {"replicas": -1}}, WRITE, subresource="scale")
    assert status_of(err) == (422, "Invalid")
    selected = await api.verbs.list(v1, "default", ListOptions(field_selector=parse_field_selector(
        "spec.selector=app=w")))
    assert len(selected.entries) == 1


async def test_custom_resources_merge_lists_by_their_list_map_keys_on_apply(api: Api) -> None:
    await api.create("customresourcedefinitions", crd(), group="apiextensions.k8s.io")
    v1 = api.info("widgets", "example.com")
    first = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "m"},
             "spec": {"ports": [{"name": "http", "port": 80}]}}
    await api.verbs.patch(v1, "default", "m", Patch(APPLY, first), WRITE)
    second = {**first, "spec": {"ports": [{"name": "grpc", "port": 90}]}}
    merged = await api.verbs.patch(v1, "default", "m", Patch(APPLY, second),
                                   dataclasses.replace(WRITE, field_manager="second"))
    assert sorted(p["name"] for p in merged.object["spec"]["ports"]) == ["grpc", "http"]


async def test_the_garbage_collector_watches_every_storage_once(api: Api) -> None:
    await api.create("customresourcedefinitions", crd(), group="apiextensions.k8s.io")
    watched = [(r.group, r.version, r.plural) for r in collected_resources(api.catalog)]
    assert ("example.com", "v1", "widgets") in watched and ("example.com", "v1beta1", "widgets") not in watched
    assert ("", "v1", "events") in watched and ("events.k8s.io", "v1", "events") not in watched
    assert ("", "v1", "bindings") not in watched


async def test_no_custom_resources_while_their_crd_terminates(api: Api) -> None:
    definition = crd()
    definition["metadata"]["finalizers"] = ["example.com/hold"]
    await api.create("customresourcedefinitions", definition, group="apiextensions.k8s.io")
    crds = api.info("customresourcedefinitions", "apiextensions.k8s.io")
    await api.verbs.delete(crds, "", "widgets.example.com", DeleteOptions())
    with pytest.raises(StatusError) as err:
        await api.verbs.create(api.info("widgets", "example.com"), "default", {
            "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "late"}}, WRITE)
    assert status_of(err) == (405, "MethodNotAllowed")


def test_the_admin_user_is_a_master() -> None:
    assert ADMIN.is_master and not User("x").is_master


async def test_a_namespace_status_patch_keeps_the_annotation_it_sets(api: Api) -> None:
    await api.create("namespaces", namespace("patched"))
    condition = {"type": "StatusPatch", "status": "True"}
    patch = Patch("application/merge-patch+json", {"metadata": {"annotations": {"e2e": "yes"}},
                                                   "status": {"conditions": [condition]}})
    written = await api.verbs.patch(api.info("namespaces"), "", "patched", patch, WRITE, subresource="status")
    assert written.object["metadata"]["annotations"] == {"e2e": "yes"}
    assert written.object["status"]["conditions"] == [{**condition, "lastTransitionTime": None}]


async def test_built_in_objects_are_stored_as_their_go_types_marshal(api: Api) -> None:
    """Empty maps go (Go's omitempty on a nil map); a time without omitempty is null."""
    created = await api.create("configmaps", {**configmap("a"), "data": {}, "metadata": {"name": "a", "labels": {}}},
                               "default")
    assert "data" not in created and "labels" not in created["metadata"]
    assert api.get("configmaps", "a", "default") == created
    patch = Patch("application/merge-patch+json", {"status": {"conditions": [{"type": "X", "status": "True"}]}})
    written = await api.verbs.patch(api.info("namespaces"), "", "default", patch, WRITE, subresource="status")
    assert written.object["status"]["conditions"] == [{"type": "X", "status": "True", "lastTransitionTime": None}]


async def test_custom_resources_keep_empty_maps_but_not_in_metadata(api: Api) -> None:
    """Upstream stores a custom resource as its JSON, with its metadata coerced through Go's ObjectMeta."""
    await api.create("customresourcedefinitions", crd(), group="apiextensions.k8s.io")
    created = await api.create("widgets", {"apiVersion": "example.com/v1", "kind": "Widget",
                                           "metadata": {"name": "w", "labels": {}}, "spec": {"ports": []}},
                               "default", group="example.com")
    assert "labels" not in created["metadata"] and created["spec"]["ports"] == []


async def test_a_pod_status_write_cannot_change_its_owners(api: Api) -> None:
    await api.create("pods", pod("owned"), "default")
    owner = {"apiVersion": "v1", "kind": "ConfigMap", "name": "c", "uid": "u"}
    patch = Patch("application/merge-patch+json", {"metadata": {"ownerReferences": [owner], "labels": {"a": "b"}}})
    written = await api.verbs.patch(api.info("pods"), "default", "owned", patch, WRITE, subresource="status")
    assert "ownerReferences" not in written.object["metadata"]
    assert written.object["metadata"]["labels"] == {"a": "b"}


async def test_a_default_added_to_a_crd_shows_in_objects_stored_before_it(api: Api) -> None:
    created = await api.create("customresourcedefinitions", crd(), group="apiextensions.k8s.io")
    v1 = api.info("widgets", "example.com")
    await api.verbs.create(v1, "default", {"apiVersion": "example.com/v1", "kind": "Widget",
                                           "metadata": {"name": "old"}, "spec": {}}, WRITE)
    for version in created["spec"]["versions"]:
        spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
        spec["properties"]["color"] = {"type": "string", "default": "blue"}
    crds = api.info("customresourcedefinitions", "apiextensions.k8s.io")
    await api.verbs.update(crds, "", created["metadata"]["name"], created, WRITE)
    v1 = api.info("widgets", "example.com")
    assert api.verbs.get(v1, "default", "old")["spec"] == {"replicas": 1, "color": "blue"}
    listed = api.verbs.list_object(v1, await api.verbs.list(v1, "default", ListOptions()))
    assert listed["items"][0]["spec"]["color"] == "blue"


async def test_a_built_in_object_nested_past_the_typed_walk_is_a_400_and_not_stored(api: Api) -> None:
    """A CRD's schema is a recursive Go type: one nested thousands of levels deep is refused, never a 500."""
    schema: Any = {"type": "string"}
    for _ in range(3000):
        schema = {"type": "object", "properties": {"p": schema}}
    deep = crd(group="deep.example.com")
    deep["spec"]["versions"] = [{"name": "v1", "served": True, "storage": True,
                                 "schema": {"openAPIV3Schema": schema}}]
    with pytest.raises(StatusError) as err:
        await api.create("customresourcedefinitions", deep, group="apiextensions.k8s.io")
    assert status_of(err) == (400, "BadRequest")
    assert api.verbs.catalog.lookup("deep.example.com", "v1", "widgets") is None
