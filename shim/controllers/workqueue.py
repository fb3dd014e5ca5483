"""client-go's workqueue for asyncio: a key waits once however often it is added, is never worked on by two
workers at once (added while in work, it runs again after), can be added after a delay, and failures back off per
key (5ms doubling to 1000s, as DefaultControllerRateLimiter's per-item part).

Delayed adds wait on the queue's clock (a fake one in tests of schedules); failure back-off is always real time."""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Awaitable, Callable, Generic, Hashable, TypeVar

from shim.controllers.clock import Clock, Timer

log = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)


class WorkQueue(Generic[K]):
    def __init__(self, base_delay: float = 0.005, max_delay: float = 1000.0, clock: Clock | None = None) -> None:
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._ready = asyncio.Event()
        self._failures: dict[K, int] = {}
        self._timers: dict[K, tuple[float, Timer]] = {}
        self._backoffs: dict[K, asyncio.TimerHandle] = {}
        self.clock = clock or Clock()
        self.base_delay = base_delay
        self.max_delay = max_delay

    def add(self, key: K) -> None:
        if key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._ready.set()

    def add_after(self, key: K, delay: float) -> None:
        """Add `key` once `delay` seconds of the clock's time passed (an earlier pending add wins, as the delaying
        queue keeps the sooner)."""
        if delay <= 0:
            self.add(key)
            return
        when = self.clock() + delay
        pending = self._timers.get(key)
        if pending is not None and pending[0] <= when:
            return
        if pending is not None:
            pending[1].cancel()
        self._timers[key] = (when, self.clock.call_later(delay, lambda: self._fire(key)))

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: K) -> None:
        """Add `key` after its back-off, in real time, doubling with every failure since it was last forgotten."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        pending = self._backoffs.pop(key, None)
        if pending is not None:
            pending.cancel()
        delay = min(self.base_delay * 2 ** failures, self.max_delay)
        self._backoffs[key] = asyncio.get_running_loop().call_later(delay, self._backed_off, key)

    def _backed_off(self, key: K) -> None:
        self._backoffs.pop(key, None)
        self.add(key)

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    async def get(self) -> K:
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        key = self._queue.popleft()
        self._dirty.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: K) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._ready.set()

    def __len__(self) -> int:
        return len(self._queue)


async def run_workers(name: str, queue: WorkQueue[K], sync: Callable[[K], Awaitable[None]], workers: int) -> None:
    """Take keys off `queue` and `sync` them with `workers` concurrent workers; a sync that raises is retried
    with back-off, one that returns resets the key's back-off."""
    async def work() -> None:
        while True:
            key = await queue.get()
            try:
                await sync(key)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - a failed sync is retried, as upstream's handleErr
                log.info("%s: syncing %s failed, retrying: %s", name, key, err)
                queue.add_rate_limited(key)
            else:
                queue.forget(key)
            finally:
                queue.done(key)

    tasks = [asyncio.create_task(work(), name=f"{name}-worker-{i}") for i in range(workers)]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
