"""The in-memory state: every current object in key order, plus the recent events that lead to it.

Writes are applied here at once, before they commit, so the next write sees them; the recent events are
the watch window: watches resume from them and older snapshots are rebuilt by undoing them.
"""
from __future__ import annotations

import bisect
import collections
from typing import Any, Iterable, Iterator

from shim.storage.model import ADDED, DELETED, Entry, Event, Key, TooOld


class Cache:
    """All objects of all resources, keyed by resource ("group/plural"), namespace and name."""

    def __init__(self, window: int) -> None:
        self._objects: dict[str, dict[str, dict[str, Entry]]] = collections.defaultdict(dict)
        #: names of one (resource, namespace) in key order, rebuilt only after an object came or went
        self._order: dict[tuple[str, str], list[str]] = {}
        self._history: collections.deque[Event] = collections.deque(maxlen=window)  # committed, oldest first
        self._inflight: collections.deque[Event] = collections.deque()  # applied, not yet committed
        #: newest revision applied
        self.revision = 0
        #: newest revision committed
        self.committed = 0
        #: newest revision no longer in the history: watches may resume from any revision >= this one
        self.floor = 0

    def load(self, objects: Iterable[tuple[str, str, str, Entry]], events: Iterable[Event]) -> None:
        """Start from what SQLite holds: the live objects and the newest events, oldest first."""
        for resource, namespace, name, entry in objects:
            self._objects[resource].setdefault(namespace, {})[name] = entry
            self.revision = max(self.revision, entry.rv)
        for event in events:
            self._history.append(event)
            self.revision = max(self.revision, event.rv)
        self.floor = self._history[0].rv - 1 if self._history else self.revision
        self.committed = self.revision

    # -- reads ------------------------------------------------------------------------------------------

    def get(self, resource: str, namespace: str, name: str) -> Entry | None:
        return self._objects.get(resource, {}).get(namespace, {}).get(name)

    def items(self, resource: str, namespace: str = "", after: Key | None = None) -> Iterator[tuple[str, str, Entry]]:
        """(namespace, name, entry) in key order, all namespaces when `namespace` is empty; with `after`, only
        the keys after it (found by bisection, so a continued page does not walk the ones before)."""
        by_ns = self._objects.get(resource, {})
        spaces = [namespace] if namespace else sorted(by_ns)
        for ns in spaces:
            if after is not None and ns < after[0]:
                continue
            names = by_ns.get(ns)
            if not names:
                continue
            order = self._order.get((resource, ns))
            if order is None:
                order = self._order[(resource, ns)] = sorted(names)
            start = bisect.bisect_right(order, after[1]) if after is not None and ns == after[0] else 0
            for name in order[start:] if start else order:
                entry = names.get(name)
                if entry is not None:
                    yield ns, name, entry

    def items_at(self, resource: str, namespace: str, revision: int,
                 after: Key | None = None) -> Iterator[tuple[str, str, Entry]]:
        """Like `items`, as of an older `revision`: the current state with the newer events undone.

        TooOld when the window does not reach back that far, or an event to undo does not know what it
        replaced (the window began after it at start-up).
        """
        state: dict[Key, Entry | None] = {(ns, name): entry for ns, name, entry in self.items(resource, namespace)}
        for event in reversed(self._history_since(revision)):
            if event.resource != resource or (namespace and event.namespace != namespace):
                continue
            if event.type != ADDED and event.prev is None:
                raise TooOld(revision, self.floor + 1)
            state[(event.namespace, event.name)] = event.prev if event.type != ADDED else None
        return iter([(ns, name, entry) for (ns, name), entry in sorted(state.items())
                     if entry is not None and (after is None or (ns, name) > after)])

    def events_after(self, after: int, resource: str, namespace: str) -> list[Event]:
        """Committed events of `resource` (and `namespace`, if given) newer than `after`; TooOld if not kept."""
        if after < self.floor:
            raise TooOld(after, self.floor + 1)
        return [e for e in self._history if e.rv > after and e.resource == resource
                and (not namespace or e.namespace == namespace)]

    def _history_since(self, after: int) -> list[Event]:
        """Events newer than `after`, committed or still in flight: undone in order, they turn the in-memory
        state back into the state at `after` (an older snapshot). TooOld if not kept."""
        if after < self.floor:
            raise TooOld(after, self.floor + 1)
        return [e for e in self._history if e.rv > after] + [e for e in self._inflight if e.rv > after]

    # -- writes -----------------------------------------------------------------------------------------

    def apply(self, resource: str, namespace: str, name: str, type_: str, raw: bytes, cache: Any) -> Event:
        """Make one change visible at the next revision; it stays in flight until `committed_event` or `dropped`."""
        self.revision += 1
        entry = Entry(self.revision, raw, cache)
        spaces = self._objects[resource]
        names = spaces.setdefault(namespace, {})
        prev = names.get(name)
        if prev is None or type_ == DELETED:
            self._order.pop((resource, namespace), None)
        if type_ == DELETED:
            names.pop(name, None)
            if not names:
                spaces.pop(namespace, None)
        else:
            names[name] = entry
        event = Event(self.revision, type_, resource, namespace, name, entry, prev)
        self._inflight.append(event)
        return event

    def committed_event(self, event: Event) -> None:
        """The oldest event in flight committed: it joins the history (the oldest leaves a full window)."""
        self._inflight.popleft()
        if len(self._history) == self._history.maxlen:
            self.floor = self._history[0].rv
        self._history.append(event)
        self.committed = event.rv

    def compact(self, floor: int) -> None:
        """Forget the committed events up to `floor`: no watch resumes, and no list reads, at or before it."""
        while self._history and self._history[0].rv <= floor:
            self._history.popleft()
        self.floor = max(self.floor, min(floor, self.committed))

    def dropped(self, count: int) -> None:
        """The oldest `count` events in flight failed to commit."""
        for _ in range(count):
            self._inflight.popleft()
