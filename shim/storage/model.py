"""What the storage modules hand each other and the registry: stored entries, change events, TooOld."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"

#: where an object sits in its resource: (namespace, name), "" for cluster-scoped; lists run in this order
Key = tuple[str, str]


@dataclass(slots=True)
class Entry:
    """One stored object: its revision and JSON bytes; `cache` is free for the registry (parsed attrs)."""

    rv: int
    raw: bytes
    cache: Any = None


@dataclass(slots=True)
class Event:
    """A change. `prev` is the entry it replaced (None for ADDED or when unknown)."""

    rv: int
    type: str
    resource: str
    namespace: str
    name: str
    entry: Entry
    prev: Entry | None


class TooOld(Exception):
    """The asked revision is older than the kept log window (the API answers 410 Expired)."""

    def __init__(self, asked: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {asked} ({oldest})")
        self.asked = asked
        self.oldest = oldest
