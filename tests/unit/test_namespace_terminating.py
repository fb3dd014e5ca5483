"""Creating in a namespace is refused only while the namespace is being deleted, decided by its metadata."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import AsyncIterator

import pytest

from shim.machinery.errors import StatusError
from shim.registry.catalog import Catalog
from shim.registry.generic import Registry
from shim.registry.resource import ResourceInfo
from shim.storage.store import Store


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[Registry]:
    store = Store(tmp_path / "state.db")
    store.open()
    store.start(asyncio.get_running_loop())
    try:
        yield Registry(store)
    finally:
        store.close()


def _core(registry: Registry, plural: str) -> ResourceInfo:
    info = Catalog(registry.store).lookup("", "v1", plural)
    assert info is not None
    return info


async def test_a_label_named_deletion_timestamp_does_not_make_a_namespace_terminating(registry: Registry) -> None:
    namespaces, configmaps = _core(registry, "namespaces"), _core(registry, "configmaps")
    await registry.create(namespaces, "", {"metadata": {"name": "labelled",
                                                        "labels": {"deletionTimestamp": "yes"},
                                                        "annotations": {"deletionTimestamp": "no"}}})
    await registry.create(configmaps, "labelled", {"metadata": {"name": "cm"}, "data": {"a": "1"}})
    assert registry.get(configmaps, "labelled", "cm")["data"] == {"a": "1"}


async def test_a_namespace_being_deleted_refuses_new_content(registry: Registry) -> None:
    namespaces, configmaps = _core(registry, "namespaces"), _core(registry, "configmaps")
    await registry.create(namespaces, "", {"metadata": {"name": "going"}})
    await registry.delete(namespaces, "", "going")
    going = registry.get(namespaces, "", "going")  # the `kubernetes` finalizer holds it in Terminating
    assert going["metadata"]["deletionTimestamp"] and going["status"]["phase"] == "Terminating"
    with pytest.raises(StatusError) as refused:
        await registry.create(configmaps, "going", {"metadata": {"name": "cm"}})
    assert (refused.value.code, refused.value.reason) == (403, "Forbidden")
    assert "because it is being terminated" in refused.value.message
