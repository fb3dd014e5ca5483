"""Group commit: one thread appends queued events to the log, many per transaction, and reports each group.

A transaction per group pays SQLite's cost of a commit once for many writes; the event loop hears of a
group only after its COMMIT, so nothing is acknowledged before it is committed. The same thread compacts
the log now and then.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from pathlib import Path
from typing import Callable

from shim.storage.log import RevisionLog
from shim.storage.model import Event

log = logging.getLogger(__name__)

#: the most events one transaction takes
MAX_GROUP = 2000
#: events committed between two compactions
COMPACT_EVERY = 1000

#: called on the event loop with a committed group, or with the group and the error that failed it
Committed = Callable[[list[Event], BaseException | None], None]


class GroupWriter:
    """The single writer of one SQLite file."""

    def __init__(self, path: Path, window: int, committed: Committed) -> None:
        self.path = path
        self.window = window
        self._committed = committed
        self._queue: queue.SimpleQueue[Event | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the thread; groups are reported on `loop`."""
        self._loop = loop
        self._thread = threading.Thread(target=self._write_forever, name="store-writer", daemon=True)
        self._thread.start()

    def submit(self, event: Event) -> None:
        self._queue.put(event)

    def close(self) -> None:
        """Commit what is queued, then stop the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _write_forever(self) -> None:
        revlog = RevisionLog(self.path)
        since_compaction = 0
        while True:
            first = self._queue.get()
            if first is None:
                break
            group = [first]
            stop = False
            while len(group) < MAX_GROUP:
                try:
                    event = self._queue.get_nowait()
                except queue.Empty:
                    break
                if event is None:
                    stop = True
                    break
                group.append(event)
            error = self._append(revlog, group)
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._committed, group, error)
            since_compaction += len(group)
            if since_compaction >= COMPACT_EVERY:
                since_compaction = 0
                self._compact(revlog, group[-1].rv - self.window)
            if stop:
                break
        revlog.close()

    @staticmethod
    def _append(revlog: RevisionLog, group: list[Event]) -> BaseException | None:
        try:
            revlog.append(group)
            return None
        except sqlite3.Error as exc:  # disk full, I/O error: fail the writes, keep serving reads
            log.exception("commit failed")
            return exc

    @staticmethod
    def _compact(revlog: RevisionLog, floor: int) -> None:
        if floor <= 0:
            return
        try:
            revlog.compact(floor)
        except sqlite3.Error:  # the log keeps some older rows until the next compaction; writing goes on
            log.exception("compaction failed")
