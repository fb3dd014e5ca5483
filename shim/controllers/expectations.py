"""Controller expectations (pkg/controller/controller_utils.go ControllerExpectations): how many creations and
which deletions a controller still waits to see in its informer. While it waits it does not act again, so a slow
watch never makes it create or delete twice; expectations older than five minutes are given up on."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

EXPECTATIONS_TIMEOUT = 300.0


@dataclass
class _Expected:
    adds: int = 0
    deletes: set[str] = field(default_factory=set)
    at: float = 0.0

    def fulfilled(self) -> bool:
        return self.adds <= 0 and not self.deletes


class Expectations:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._by_key: dict[str, _Expected] = {}

    def satisfied(self, key: str) -> bool:
        """Whether `key`'s controller may act: nothing awaited, or what it awaited is seen, or it waited too long."""
        exp = self._by_key.get(key)
        return exp is None or exp.fulfilled() or self._clock() - exp.at > EXPECTATIONS_TIMEOUT

    def expect_creations(self, key: str, count: int) -> None:
        self._by_key[key] = _Expected(adds=count, at=self._clock())

    def expect_deletions(self, key: str, pod_keys: Iterable[str]) -> None:
        self._by_key[key] = _Expected(deletes=set(pod_keys), at=self._clock())

    def creation_observed(self, key: str) -> None:
        exp = self._by_key.get(key)
        if exp is not None:
            exp.adds -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        exp = self._by_key.get(key)
        if exp is not None:
            exp.deletes.discard(pod_key)

    def delete(self, key: str) -> None:
        self._by_key.pop(key, None)
