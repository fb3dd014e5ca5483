"""Watch streams: one JSON event per line (chunked), bookmarks, timeouts and views."""
from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import orjson

from shim.machinery import tables
from shim.registry.generic import Registry, Watch
from shim.server.negotiation import Rendering
from shim.server.printing import table_for
from shim.storage.store import Entry

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _frame(kind: str, obj_bytes: bytes) -> bytes:
    return b'{"type":"' + kind.encode() + b'","object":' + obj_bytes + b"}\n"


def _bookmark(watch: Watch, rv: int, initial_end: bool = False, rendering: Rendering | None = None) -> bytes:
    info = watch.info
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {INITIAL_EVENTS_END: "true"}
    obj: dict[str, Any] = {"kind": info.kind, "apiVersion": info.api_version, "metadata": meta}
    if rendering is not None and rendering.view in ("PartialObjectMetadata", "PartialObjectMetadataList"):
        # Like every other event of a metadata watch (a metadata client cannot decode the full kind).
        obj = tables.partial_metadata(obj, rendering.version)
    return _frame("BOOKMARK", orjson.dumps(obj))


class _Encoder:
    """Turns stored entries into the bytes of the asked view."""

    def __init__(self, registry: Registry, watch: Watch, rendering: Rendering, include_object: str,
                 raw_ok: bool) -> None:
        self.registry, self.watch, self.rendering = registry, watch, rendering
        self.include_object, self.raw_ok = include_object, raw_ok

    def __call__(self, kind: str, entry: Entry) -> bytes:
        view = self.rendering.view
        if not view and self.raw_ok:
            return _frame(kind, entry.raw)
        obj = self.registry.decode(self.watch.info, entry)
        if view == "Table":
            out = table_for(self.watch.info, [obj], {"resourceVersion": str(entry.rv)}, self.include_object,
                            self.rendering.version)
        elif view in ("PartialObjectMetadata", "PartialObjectMetadataList"):
            out = tables.partial_metadata(obj, self.rendering.version)
        else:
            out = obj
        return _frame(kind, orjson.dumps(out))


async def stream(registry: Registry, watch: Watch, rendering: Rendering, *, bookmarks: bool,
                 bookmark_interval: float, timeout: float, include_object: str, raw_ok: bool) -> AsyncIterator[bytes]:
    """Initial events, the initial-events-end bookmark if asked, then live events until the timeout."""
    encode = _Encoder(registry, watch, rendering, include_object, raw_ok)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(timeout, 0)
    last_rv = watch.after
    try:
        for kind, entry in watch.initial:
            yield encode(kind, entry)
        if watch.initial_end is not None:
            yield _bookmark(watch, watch.initial_end, initial_end=True, rendering=rendering)
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            wait = min(remaining, bookmark_interval) if bookmarks else remaining
            try:
                item = await watch.next(timeout=wait)
            except asyncio.TimeoutError:
                if bookmarks and deadline - loop.time() > 0:
                    last_rv = max(last_rv, registry.store.committed_revision)
                    yield _bookmark(watch, last_rv, rendering=rendering)
                continue
            if item is None:
                return
            kind, entry = item
            last_rv = entry.rv
            yield encode(kind, entry)
    finally:
        watch.close()
