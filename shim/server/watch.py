"""Watch streams: one JSON event per line (chunked), bookmarks and timeouts; events rendered by a Renderer."""
from __future__ import annotations

import asyncio
from typing import AsyncIterator, Callable

from shim.registry.generic import Watch
from shim.server.rendering import Renderer

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


async def stream(watch: Watch, render: Renderer, revision: Callable[[], int], *, bookmarks: bool,
                 bookmark_interval: float, timeout: float) -> AsyncIterator[bytes]:
    """Initial events, the initial-events-end bookmark if asked, then live events until the timeout; idle
    bookmarks carry the committed `revision()`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(timeout, 0)
    last_rv = watch.after
    try:
        for kind, entry in watch.initial:
            yield render.event(kind, entry)
        if watch.initial_end is not None:
            yield render.bookmark({"resourceVersion": str(watch.initial_end),
                                   "annotations": {INITIAL_EVENTS_END: "true"}})
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            wait = min(remaining, bookmark_interval) if bookmarks else remaining
            try:
                item = await watch.next(timeout=wait)
            except asyncio.TimeoutError:
                if bookmarks and deadline - loop.time() > 0:
                    last_rv = max(last_rv, revision())
                    yield render.bookmark({"resourceVersion": str(last_rv)})
                continue
            if item is None:
                return
            kind, entry = item
            last_rv = entry.rv
            yield render.event(kind, entry)
    finally:
        watch.close()
