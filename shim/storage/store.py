"""The durable store: SQLite revision log + in-memory current state + watch fan-out.

Writes are applied to memory at once (so the next write sees them and conflicts are decided in one place,
the event loop) and handed to a single writer thread that commits them in groups. A write is acknowledged,
and its event published to watchers, only after its group committed. SQLite is the source of truth at
start-up: memory is rebuilt from the current-state table and the log window.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import queue
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator


log = logging.getLogger(__name__)

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"


@dataclass(slots=True)
class Entry:
    """One stored object: its revision and JSON bytes; `cache` is free for the registry (parsed attrs)."""

    rv: int
    raw: bytes
    cache: Any = None


@dataclass(slots=True)
class Event:
    """A committed change. `prev` is the entry it replaced (None for ADDED or when unknown)."""

    rv: int
    type: str
    resource: str
    namespace: str
    name: str
    entry: Entry
    prev: Entry | None


class TooOld(Exception):
    """The asked revision is older than the kept log window."""

    def __init__(self, asked: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {asked} ({oldest})")
        self.asked = asked
        self.oldest = oldest


@dataclass(eq=False)
class Subscription:
    """A watcher's queue of events for one resource (optionally one namespace)."""

    resource: str
    namespace: str
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)
    overflowed: bool = False


@dataclass
class _Pending:
    event: Event
    future: asyncio.Future[None]


SCHEMA = Path(__file__).with_name("schema.sql")


class Store:
    """All objects of all resources, keyed by resource ("group/plural"), namespace and name."""

    def __init__(self, path: Path, *, window: int = 20000, max_queue: int = 50000) -> None:
        self.path = path
        self.window = window
        self.max_queue = max_queue
        self._objects: dict[str, dict[str, dict[str, Entry]]] = collections.defaultdict(dict)
        self._history: collections.deque[Event] = collections.deque(maxlen=window)
        self._floor = 0  # newest revision no longer in the history
        self._rev = 0  # newest revision applied to memory
        self._committed = 0  # newest revision committed and published to watchers
        self._inflight: collections.deque[Event] = collections.deque()  # applied to memory, not yet committed
        self._subs: dict[str, set[Subscription]] = collections.defaultdict(set)
        #: names of one (resource, namespace) in key order, rebuilt only after an object came or went
        self._order: dict[tuple[str, str], list[str]] = {}
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: threading.Thread | None = None
        self._failed: BaseException | None = None

    # -- life cycle -------------------------------------------------------------------------------------

    def open(self) -> None:
        """Create the tables if needed and rebuild memory from SQLite."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            conn.executescript(SCHEMA.read_text())  # the tables declared in shim.storage.tables
            self._load(conn)
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _load(self, conn: sqlite3.Connection) -> None:
        row = conn.execute("SELECT value FROM store_setting WHERE key='compacted'").fetchone()
        compacted = int(row[0]) if row else 0
        for resource, namespace, name, revision, obj in conn.execute(
                "SELECT resource, namespace, name, revision, object FROM current_state"):
            self._objects[resource].setdefault(namespace, {})[name] = Entry(revision, bytes(obj))
            self._rev = max(self._rev, revision)
        rows = conn.execute("SELECT id, resource, namespace, name, event, object FROM revision_log "
                            "WHERE id > ? ORDER BY id", (compacted,)).fetchall()
        last: dict[tuple[str, str, str], Entry] = {}
        self._floor = compacted
        for rv, resource, namespace, name, event, obj in rows[-self.window:] if rows else []:
            key = (resource, namespace, name)
            entry = Entry(rv, bytes(obj))
            self._history.append(Event(rv, event, resource, namespace, name, entry, last.get(key)))
            last[key] = entry
            self._rev = max(self._rev, rv)
        if self._history:
            self._floor = self._history[0].rv - 1
        else:
            self._floor = self._rev
        self._committed = self._rev

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the writer thread; results are delivered on `loop`."""
        self._loop = loop
        self._writer = threading.Thread(target=self._write_forever, name="store-writer", daemon=True)
        self._writer.start()

    def close(self) -> None:
        """Flush pending writes and stop the writer."""
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join(timeout=10)
            self._writer = None

    # -- reads ------------------------------------------------------------------------------------------

    @property
    def revision(self) -> int:
        """The newest revision applied (what a list or get reports)."""
        return self._rev

    @property
    def committed_revision(self) -> int:
        """The newest revision whose event every watcher has been handed (what a bookmark may promise)."""
        return self._committed

    @property
    def oldest_watchable(self) -> int:
        """Watches may resume from any revision >= this one."""
        return self._floor

    def get(self, resource: str, namespace: str, name: str) -> Entry | None:
        return self._objects.get(resource, {}).get(namespace, {}).get(name)

    def items(self, resource: str, namespace: str = "") -> Iterator[tuple[str, str, Entry]]:
        """(namespace, name, entry) in key order, all namespaces when `namespace` is empty."""
        by_ns = self._objects.get(resource, {})
        spaces = [namespace] if namespace else sorted(by_ns)
        for ns in spaces:
            names = by_ns.get(ns)
            if not names:
                continue
            order = self._order.get((resource, ns))
            if order is None:
                order = self._order[(resource, ns)] = sorted(names)
            for name in order:
                entry = names.get(name)
                if entry is not None:
                    yield ns, name, entry

    def count(self, resource: str) -> int:
        return sum(len(v) for v in self._objects.get(resource, {}).values())

    def resources(self) -> list[str]:
        return [r for r, spaces in self._objects.items() if any(spaces.values())]

    # -- writes -----------------------------------------------------------------------------------------

    def next_revision(self) -> int:
        """The revision the next write will get; objects carry it before they are written."""
        return self._rev + 1

    def write(self, resource: str, namespace: str, name: str, event: str, raw: bytes,
              cache: Any = None) -> asyncio.Future[None]:
        """Apply one change to memory now; the future resolves once it is committed and published.

        `raw` must already carry resourceVersion `next_revision()`.
        """
        if self._failed is not None:
            raise RuntimeError(f"store failed: {self._failed}")
        assert self._loop is not None, "store not started"
        self._rev += 1
        entry = Entry(self._rev, raw, cache)
        spaces = self._objects[resource]
        names = spaces.setdefault(namespace, {})
        prev = names.get(name)
        if prev is None or event == DELETED:
            self._order.pop((resource, namespace), None)
        if event == DELETED:
            names.pop(name, None)
            if not names:
                spaces.pop(namespace, None)
        else:
            names[name] = entry
        future: asyncio.Future[None] = self._loop.create_future()
        change = Event(self._rev, event, resource, namespace, name, entry, prev)
        self._inflight.append(change)
        self._queue.put(_Pending(change, future))
        return future

    def _write_forever(self) -> None:
        conn = self._connect()
        since_compaction = 0
        while True:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            stop = False
            while len(batch) < 2000:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            error = self._commit(conn, batch)
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._published, batch, error)
            since_compaction += len(batch)
            if since_compaction >= 1000:
                since_compaction = 0
                self._compact(conn, batch[-1].event.rv)
            if stop:
                break
        conn.close()

    @staticmethod
    def _commit(conn: sqlite3.Connection, batch: list[_Pending]) -> BaseException | None:
        events = [p.event for p in batch]
        try:
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO revision_log (id, resource, namespace, name, event, object) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             [(e.rv, e.resource, e.namespace, e.name, e.type, e.entry.raw) for e in events])
            for e in events:
                if e.type == DELETED:
                    conn.execute("DELETE FROM current_state WHERE resource=? AND namespace=? AND name=?",
                                 (e.resource, e.namespace, e.name))
                else:
                    conn.execute("INSERT OR REPLACE INTO current_state (resource, namespace, name, revision, "
                                 "object) VALUES (?, ?, ?, ?, ?)",
                                 (e.resource, e.namespace, e.name, e.rv, e.entry.raw))
            conn.execute("COMMIT")
            return None
        except sqlite3.Error as exc:  # disk full, I/O error: fail the writes, keep serving reads
            log.exception("commit failed")
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            return exc

    def _compact(self, conn: sqlite3.Connection, newest: int) -> None:
        floor = newest - self.window
        if floor <= 0:
            return
        try:
            conn.execute("BEGIN")
            conn.execute("DELETE FROM revision_log WHERE id <= ?", (floor,))
            conn.execute("INSERT OR REPLACE INTO store_setting (key, value) VALUES ('compacted', ?)", (str(floor),))
            conn.execute("COMMIT")
        except sqlite3.Error:
            log.exception("compaction failed")
            conn.execute("ROLLBACK")

    def _published(self, batch: list[_Pending], error: BaseException | None) -> None:
        for _ in batch:
            self._inflight.popleft()
        if error is not None:
            self._failed = error
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(RuntimeError(f"storage commit failed: {error}"))
            return
        for p in batch:
            e = p.event
            if len(self._history) == self._history.maxlen:
                self._floor = self._history[0].rv
            self._history.append(e)
            for sub in list(self._subs.get(e.resource, ())):
                if sub.namespace and sub.namespace != e.namespace:
                    continue
                if sub.queue.qsize() >= self.max_queue:
                    sub.overflowed = True
                    self._subs[e.resource].discard(sub)
                    sub.queue.put_nowait(None)
                    continue
                sub.queue.put_nowait(e)
            self._committed = e.rv
            if not p.future.done():
                p.future.set_result(None)

    # -- watch ------------------------------------------------------------------------------------------

    def subscribe(self, resource: str, namespace: str, after: int) -> tuple[list[Event], Subscription]:
        """Events after revision `after` already committed, and a subscription for the rest.

        Taken in one step on the event loop, so nothing falls between the two. Raises TooOld when `after`
        is behind the kept window.
        """
        if after < self._floor:
            raise TooOld(after, self._floor + 1)
        backlog = [e for e in self._history if e.rv > after and e.resource == resource
                   and (not namespace or e.namespace == namespace)]
        sub = Subscription(resource, namespace)
        self._subs[resource].add(sub)
        return backlog, sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.get(sub.resource, set()).discard(sub)

    def history_since(self, after: int) -> list[Event]:
        """Events newer than `after`, committed or still in flight: undone in order, they turn the in-memory
        state back into the state at `after` (an older snapshot). TooOld if not kept."""
        if after < self._floor:
            raise TooOld(after, self._floor + 1)
        return [e for e in self._history if e.rv > after] + [e for e in self._inflight if e.rv > after]
