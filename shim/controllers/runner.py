"""Running control loops: restart a loop that failed, after a pause, instead of losing it; track per-object
workers."""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

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
