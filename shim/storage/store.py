"""The store the registry uses: the cache, the durable log and the watch fan-out behind one face.

Writes are applied to memory at once (so the next write sees them and conflicts are decided in one place,
the event loop) and handed to a single writer thread that commits them in groups. A write is acknowledged,
and its event published to watchers, only after its group committed. SQLite is the source of truth at
start-up: memory is rebuilt from the current-state table and the log window.
"""
from __future__ import annotations

import asyncio
import collections
from pathlib import Path
from typing import Any, Callable, Iterator

from shim.storage import paging
from shim.storage.cache import Cache
from shim.storage.fanout import Fanout, Subscription
from shim.storage.log import RevisionLog
from shim.storage.model import ADDED, DELETED, MODIFIED, Entry, Event, TooOld
from shim.storage.paging import ContinueTooOld, Page
from shim.storage.writer import GroupWriter

__all__ = ["ADDED", "DELETED", "MODIFIED", "Entry", "Event", "Store", "Subscription", "TooOld"]


class Store:
    """All objects of all resources, keyed by resource ("group/plural"), namespace and name."""

    def __init__(self, path: Path, *, window: int = 20000, max_queue: int = 50000,
                 compaction_interval: float = 300.0) -> None:
        self.path = path
        self.window = window
        #: seconds between compactions of the history (0: only the window bounds it)
        self.compaction_interval = compaction_interval
        self._compactor: asyncio.Task[None] | None = None
        self._cache = Cache(window)
        self._fanout = Fanout(max_queue)
        self._writer = GroupWriter(path, window, self._committed)
        #: the futures of the writes in flight, oldest first (as the cache's events in flight)
        self._acks: collections.deque[asyncio.Future[None]] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failed: BaseException | None = None

    # -- life cycle -------------------------------------------------------------------------------------

    def open(self) -> None:
        """Create the tables if needed and rebuild memory from SQLite."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        revlog = RevisionLog(self.path)
        try:
            revlog.create()
            loaded = revlog.load(self.window)
        finally:
            revlog.close()
        self._cache.load(loaded.objects, loaded.events)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the writer thread; results are delivered on `loop`."""
        self._loop = loop
        self._writer.start(loop)
        if self.compaction_interval:
            self._compactor = loop.create_task(self._compact_periodically())

    def close(self) -> None:
        """Flush pending writes and stop the writer."""
        if self._compactor is not None:
            self._compactor.cancel()
        self._writer.close()

    async def _compact_periodically(self) -> None:
        """As kube-apiserver compacts etcd: each interval, forget the history up to where the previous interval
        began, so a watch or a continue token stays good for one to two intervals, then gets 410."""
        previous = self._cache.committed
        while True:
            await asyncio.sleep(self.compaction_interval)
            self._cache.compact(previous)
            previous = self._cache.committed

    # -- reads ------------------------------------------------------------------------------------------

    @property
    def revision(self) -> int:
        """The newest revision applied (what a list or get reports)."""
        return self._cache.revision

    @property
    def committed_revision(self) -> int:
        """The newest revision whose event every watcher has been handed (what a bookmark may promise)."""
        return self._cache.committed

    @property
    def oldest_watchable(self) -> int:
        """Watches may resume from any revision >= this one."""
        return self._cache.floor

    def get(self, resource: str, namespace: str, name: str) -> Entry | None:
        return self._cache.get(resource, namespace, name)

    def items(self, resource: str, namespace: str = "") -> Iterator[tuple[str, str, Entry]]:
        """(namespace, name, entry) in key order, all namespaces when `namespace` is empty."""
        return self._cache.items(resource, namespace)

    # -- writes -----------------------------------------------------------------------------------------

    def next_revision(self) -> int:
        """The revision the next write will get; objects carry it before they are written."""
        return self._cache.revision + 1

    def write(self, resource: str, namespace: str, name: str, event: str, raw: bytes,
              cache: Any = None) -> asyncio.Future[None]:
        """Apply one change to memory now; the future resolves once it is committed and published.

        `raw` must already carry resourceVersion `next_revision()`.
        """
        if self._failed is not None:
            raise RuntimeError(f"store failed: {self._failed}")
        assert self._loop is not None, "store not started"
        change = self._cache.apply(resource, namespace, name, event, raw, cache)
        future: asyncio.Future[None] = self._loop.create_future()
        self._acks.append(future)
        self._writer.submit(change)
        return future

    def _committed(self, group: list[Event], error: BaseException | None) -> None:
        """The writer's report of one group, on the event loop: publish and acknowledge, or fail it."""
        acks = [self._acks.popleft() for _ in group]
        if error is not None:
            self._cache.dropped(len(group))
            self._failed = error
            for ack in acks:
                if not ack.done():
                    ack.set_exception(RuntimeError(f"storage commit failed: {error}"))
            return
        for event, ack in zip(group, acks, strict=True):
            self._cache.committed_event(event)
            self._fanout.publish(event)
            if not ack.done():
                ack.set_result(None)

    # -- watch ------------------------------------------------------------------------------------------

    def subscribe(self, resource: str, namespace: str, after: int) -> tuple[list[Event], Subscription]:
        """Events after revision `after` already committed, and a subscription for the rest.

        Taken in one step on the event loop, so nothing falls between the two. Raises TooOld when `after`
        is behind the kept window.
        """
        backlog = self._cache.events_after(after, resource, namespace)
        return backlog, self._fanout.subscribe(resource, namespace)

    def unsubscribe(self, sub: Subscription) -> None:
        self._fanout.unsubscribe(sub)

    # -- lists (last: mypy would take a `list[...]` annotation below this method for the method) ----------

    def list(self, resource: str, namespace: str = "", *, revision: int | None = None, continue_token: str = "",
             limit: int = 0, keep: Callable[[str, str, Entry], bool] | None = None) -> Page:
        """One page of `resource`'s objects (all namespaces when `namespace` is empty) in key order.

        As of `revision` (default: the newest), or of the revision of the page that gave `continue_token`,
        starting after that page's last key; older states are rebuilt from the window, as etcd's MVCC reads
        do. `keep(namespace, name, entry)` filters; without it a page also counts the items after it.
        Raises paging.InvalidContinue, ContinueTooOld or TooOld.
        """
        after = None
        if continue_token:
            revision, after = paging.decode_continue(continue_token)
            if revision == paging.LATEST:
                revision = None
            elif revision < self._cache.floor:
                raise ContinueTooOld(revision, self._cache.floor + 1, after)
        if revision is None or revision == self._cache.revision:
            revision = self._cache.revision
            items = self._cache.items(resource, namespace, after)
        else:
            items = self._cache.items_at(resource, namespace, revision, after)
        if keep is not None:
            items = (item for item in items if keep(*item))
        return paging.paginate(items, revision, limit, count_rest=keep is None)
