"""The time controllers read and wait on (k8s.io/utils/clock): the real one, and a fake one whose time moves only
when told to, for tests of time-driven controllers (a CronJob's schedule) that must not wait for real minutes.

A clock is called for the current time in seconds since the epoch, so it stands in wherever a controller takes a
plain `Callable[[], float]`; `call_later` runs a callback once that much of the clock's time has passed.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Callable, Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock:
    """Real time: the epoch now, and timers on the running event loop."""

    def __call__(self) -> float:
        return time.time()

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return asyncio.get_running_loop().call_later(max(delay, 0.0), callback)


class _FakeTimer:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock(Clock):
    """Time that stands still until `step` moves it; timers whose time has come fire during the step."""

    def __init__(self, now: float) -> None:
        self.now = now
        self._timers: list[tuple[float, int, _FakeTimer, Callable[[], None]]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = _FakeTimer()
        heapq.heappush(self._timers, (self.now + max(delay, 0.0), next(self._order), timer, callback))
        return timer

    def step(self, seconds: float) -> None:
        self.set(self.now + seconds)

    def set(self, now: float) -> None:
        self.now = now
        while self._timers and self._timers[0][0] <= now:
            _, _, timer, callback = heapq.heappop(self._timers)
            if not timer.cancelled:
                callback()
