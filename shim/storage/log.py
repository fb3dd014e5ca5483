"""The durable log in SQLite, in kine's shape: every write appends a row whose id is its revision.

Next to the log, a current-state table holds the newest version of every live object, so start-up reads
the objects once instead of replaying history; compaction drops log rows older than the watch window.
"""
from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from shim.storage.model import DELETED, Entry, Event

#: the tables declared in shim.storage.tables, as SQLite gets them
SCHEMA = Path(__file__).with_name("schema.sql")


def connect(path: Path) -> sqlite3.Connection:
    """A WAL connection in autocommit mode: the log opens its transactions itself."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


@dataclass
class Loaded:
    """What start-up finds in SQLite."""

    #: every live object as (resource, namespace, name, entry)
    objects: list[tuple[str, str, str, Entry]]
    #: the newest `window` events, oldest first; `prev` is known when the replaced version is among them
    events: list[Event]


class RevisionLog:
    """One connection to the log; the writer thread owns the only one that writes."""

    def __init__(self, path: Path) -> None:
        self._conn = connect(path)

    def close(self) -> None:
        self._conn.close()

    def create(self) -> None:
        """Create the tables if they are missing."""
        self._conn.executescript(SCHEMA.read_text())

    def load(self, window: int) -> Loaded:
        conn = self._conn
        row = conn.execute("SELECT value FROM store_setting WHERE key='compacted'").fetchone()
        compacted = int(row[0]) if row else 0
        objects = [(resource, namespace, name, Entry(revision, bytes(obj))) for resource, namespace, name, revision, obj
                   in conn.execute("SELECT resource, namespace, name, revision, object FROM current_state")]
        rows = conn.execute("SELECT id, resource, namespace, name, event, object FROM revision_log "
                            "WHERE id > ? ORDER BY id", (compacted,)).fetchall()
        last: dict[tuple[str, str, str], Entry] = {}
        events = []
        for rv, resource, namespace, name, event, obj in rows[-window:] if rows else []:
            key = (resource, namespace, name)
            entry = Entry(rv, bytes(obj))
            events.append(Event(rv, event, resource, namespace, name, entry, last.get(key)))
            last[key] = entry
        return Loaded(objects, events)

    def append(self, events: Sequence[Event]) -> None:
        """Commit `events` in one transaction: their log rows and the current state they leave.

        Raises sqlite3.Error (disk full, I/O error) with nothing written.
        """
        with self._transaction() as conn:
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

    def compact(self, floor: int) -> None:
        """Drop the log rows up to revision `floor` and remember it. Raises sqlite3.Error with nothing changed."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM revision_log WHERE id <= ?", (floor,))
            conn.execute("INSERT OR REPLACE INTO store_setting (key, value) VALUES ('compacted', ?)", (str(floor),))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN ... COMMIT, rolled back on any error. SQLite may have ended the transaction itself already (a
        full disk, an I/O error, an interrupt) or never begun it (a failed BEGIN raises from here): ROLLBACK
        then has nothing to undo and would fail, so it runs only inside a transaction, and the first error is
        the one raised."""
        conn = self._conn
        conn.execute("BEGIN")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
