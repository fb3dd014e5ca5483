"""Running control loops: restart a loop that failed, after a pause, instead of losing it."""
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
