"""Running control loops: restart a loop that failed, after a pause, instead of losing it; track per-object
workers."""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Sequence

from shim.clients.base import Client, Resource

log = logging.getLogger(__name__)


async def forever(name: str, loop: Callable[[], Awaitable[None]], pause: float = 1.0) -> None:
    """Run `loop` again whenever it returns or raises (a closed watch, a transient error)."""
    while True:
        try:
            await loop()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("controller %s failed; restarting", name)
        await asyncio.sleep(pause)


def busy_while(busy: set[str], name: str, task: asyncio.Task[None]) -> None:
    """Keep `name` in `busy` until `task` is done (one worker per object at a time)."""
    busy.add(name)
    task.add_done_callback(lambda _task: busy.discard(name))


async def reconcile_on_changes(client: Client, resources: Sequence[Resource],
                               reconcile: Callable[[], Awaitable[None]]) -> None:
    """Call `reconcile` now, then after every change to any of `resources` (changes arriving meanwhile are
    folded into one call). Returns when a watch ends, for `forever` to start over."""
    changed = asyncio.Event()
    changed.set()

    async def follow(resource: Resource) -> None:
        async for _ in client.watch(resource):
            changed.set()

    watches = [asyncio.create_task(follow(r)) for r in resources]
    try:
        while True:
            waiting = asyncio.create_task(changed.wait())
            done, _ = await asyncio.wait([waiting, *watches], return_when=asyncio.FIRST_COMPLETED)
            if waiting not in done:
                waiting.cancel()
                return
            changed.clear()
            await reconcile()
    finally:
        for task in watches:
            task.cancel()
        await asyncio.gather(*watches, return_exceptions=True)
