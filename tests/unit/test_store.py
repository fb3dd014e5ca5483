"""The Store on its own (no registry, no sockets): the write path, the revision log, reads, paging, watches."""
from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import orjson
import pytest

from harness import wait_for_async
from shim.storage import log as revision_log
from shim.storage.model import ADDED, DELETED, MODIFIED, Entry, Event, TooOld
from shim.storage.paging import ContinueTooOld, InvalidContinue, encode_continue
from shim.storage.store import Store
from shim.storage.writer import COMPACT_EVERY

CM, SECRET = "/configmaps", "/secrets"


async def opened(path: Path, **kwargs: Any) -> Store:
    store = Store(path, **kwargs)
    store.open()
    store.start(asyncio.get_running_loop())
    return store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await opened(tmp_path / "state.db", window=20)
    yield s
    s.close()


def send(store: Store, namespace: str, name: str, event: str = ADDED, resource: str = CM,
         **data: str) -> asyncio.Future[None]:
    """Start one write of an object that carries its revision, as the registry's are."""
    obj = {"metadata": {"name": name, "namespace": namespace, "resourceVersion": str(store.next_revision())},
           "data": data}
    return store.write(resource, namespace, name, event, orjson.dumps(obj))


async def put(store: Store, namespace: str, name: str, event: str = ADDED, resource: str = CM, **data: str) -> int:
    """One write, acknowledged; its revision."""
    await send(store, namespace, name, event, resource, **data)
    return store.revision


def names(entries: list[Entry]) -> list[str]:
    return [orjson.loads(e.raw)["metadata"]["name"] for e in entries]


def data(entry: Entry | None) -> dict[str, str]:
    assert entry is not None
    return dict(orjson.loads(entry.raw)["data"])


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """What another connection to the file sees (only what was committed)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def drain(queue: asyncio.Queue[Event | None]) -> list[Event | None]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


# -- writes ---------------------------------------------------------------------------------------------


async def test_a_write_is_visible_at_once_and_acknowledged_after_its_commit(store: Store, tmp_path: Path) -> None:
    ack = send(store, "ns", "a", x="1")
    assert store.revision == 1 and data(store.get(CM, "ns", "a")) == {"x": "1"}  # the next write sees it
    assert not ack.done() and store.committed_revision == 0  # not acknowledged before its group committed
    await ack
    assert store.committed_revision == 1
    assert rows(tmp_path / "state.db", "SELECT id, resource, namespace, name, event FROM revision_log") == [
        (1, CM, "ns", "a", ADDED)]
    assert rows(tmp_path / "state.db", "SELECT resource, namespace, name, revision FROM current_state") == [
        (CM, "ns", "a", 1)]


async def test_revisions_are_one_sequence_over_every_resource(store: Store, tmp_path: Path) -> None:
    assert store.next_revision() == 1
    assert await put(store, "ns", "a") == 1
    assert await put(store, "ns", "s", resource=SECRET) == 2
    assert await put(store, "ns", "a", MODIFIED, x="2") == 3
    assert await put(store, "ns", "a", DELETED) == 4
    assert store.next_revision() == 5
    assert store.get(CM, "ns", "a") is None
    assert [(ns, name, e.rv) for ns, name, e in store.items(SECRET)] == [("ns", "s", 2)]
    assert rows(tmp_path / "state.db", "SELECT id, event FROM revision_log ORDER BY id") == [
        (1, ADDED), (2, ADDED), (3, MODIFIED), (4, DELETED)]
    assert rows(tmp_path / "state.db", "SELECT resource, name FROM current_state") == [(SECRET, "s")]


async def test_writes_sent_together_commit_in_groups_and_are_acknowledged_in_revision_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    statements: list[str] = []
    on_connect(monkeypatch, lambda conn: conn.set_trace_callback(statements.append))
    store = await opened(tmp_path / "state.db")
    acked: list[int] = []
    acks = []
    for i in range(500):
        rv = store.next_revision()
        acks.append(send(store, f"ns{i % 3}", f"o{i}"))
        acks[-1].add_done_callback(lambda _, rv=rv: acked.append(rv))
    await asyncio.wait_for(asyncio.gather(*acks), 10)
    store.close()
    assert acked == list(range(1, 501))
    assert rows(tmp_path / "state.db", "SELECT count(*), min(id), max(id) FROM revision_log") == [(500, 1, 500)]
    assert 1 <= statements.count("COMMIT") < 500  # transactions, each holding many writes


async def test_items_are_in_namespace_then_name_order(store: Store) -> None:
    for ns, name in [("b", "y"), ("a", "z"), ("b", "x"), ("a", "c")]:
        await put(store, ns, name)
    assert [(ns, name) for ns, name, _ in store.items(CM)] == [("a", "c"), ("a", "z"), ("b", "x"), ("b", "y")]
    assert [name for _, name, _ in store.items(CM, "b")] == ["x", "y"]
    await put(store, "a", "m")
    assert [name for _, name, _ in store.items(CM, "a")] == ["c", "m", "z"]


# -- the window, compaction and reload -------------------------------------------------------------------


async def test_events_older_than_the_window_are_too_old(tmp_path: Path) -> None:
    store = await opened(tmp_path / "state.db", window=5)
    try:
        for i in range(12):
            await put(store, "ns", f"o{i}")
        assert store.oldest_watchable == 7
        backlog, _ = store.subscribe(CM, "", 7)
        assert [e.rv for e in backlog] == [8, 9, 10, 11, 12]
        with pytest.raises(TooOld, match=r"^too old resource version: 6 \(8\)$"):
            store.subscribe(CM, "", 6)
    finally:
        store.close()


async def test_compaction_drops_log_rows_older_than_the_window(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = await opened(path, window=10)
    await asyncio.gather(*(send(store, "ns", f"o{i}") for i in range(COMPACT_EVERY)))
    store.close()  # the writer compacts right after the group it counted to COMPACT_EVERY in
    assert rows(path, "SELECT min(id), max(id) FROM revision_log") == [(COMPACT_EVERY - 9, COMPACT_EVERY)]
    assert rows(path, "SELECT value FROM store_setting WHERE key='compacted'") == [(str(COMPACT_EVERY - 10),)]
    assert rows(path, "SELECT count(*) FROM current_state") == [(COMPACT_EVERY,)]


async def test_a_reopened_store_has_the_objects_revisions_and_window_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = await opened(path, window=4)
    await put(first, "ns", "a", x="1")
    await put(first, "ns", "b")
    await put(first, "ns", "a", MODIFIED, x="2")
    await put(first, "other", "c", resource=SECRET)
    await put(first, "ns", "b", DELETED)
    before = [(ns, name, e.rv, e.raw) for ns, name, e in first.items(CM)]
    first.close()

    again = await opened(path, window=4)
    try:
        assert [(ns, name, e.rv, e.raw) for ns, name, e in again.items(CM)] == before
        assert again.revision == again.committed_revision == 5  # the newest write was a delete
        assert again.oldest_watchable == 1
        backlog, _ = again.subscribe(CM, "", 1)
        assert [(e.rv, e.type, e.name) for e in backlog] == [(2, ADDED, "b"), (3, MODIFIED, "a"), (5, DELETED, "b")]
        with pytest.raises(TooOld):
            again.subscribe(CM, "", 0)
        assert await put(again, "ns", "d") == 6
    finally:
        again.close()


# -- reads at an older revision and paging -----------------------------------------------------------------


async def test_a_list_at_an_older_revision_undoes_the_newer_events(store: Store) -> None:
    await put(store, "ns", "a", x="1")
    await put(store, "ns", "b")
    await put(store, "ns", "a", MODIFIED, x="2")
    await put(store, "ns", "s", resource=SECRET)
    await put(store, "ns", "b", DELETED)
    await put(store, "other", "c")
    at2 = store.list(CM, revision=2)
    assert (names(at2.items), at2.revision, data(at2.items[0])) == (["a", "b"], 2, {"x": "1"})
    assert names(store.list(CM, revision=5).items) == ["a"]
    assert names(store.list(CM, "other", revision=5).items) == []
    now = store.list(CM)
    assert (names(now.items), now.revision) == (["a", "c"], 6)
    pending = send(store, "ns", "a", DELETED)  # in flight: undone as well
    assert names(store.list(CM, revision=6).items) == ["a", "c"]
    await pending


async def test_a_list_older_than_the_window_is_too_old(tmp_path: Path) -> None:
    store = await opened(tmp_path / "state.db", window=3)
    try:
        for i in range(6):
            await put(store, "ns", f"o{i}")
        assert names(store.list(CM, revision=3).items) == ["o0", "o1", "o2"]
        with pytest.raises(TooOld, match=r"^too old resource version: 2 \(4\)$"):
            store.list(CM, revision=2)
    finally:
        store.close()


async def test_pages_continue_after_the_last_key_at_the_first_page_revision(store: Store) -> None:
    for ns, name in [("a", "1"), ("a", "2"), ("a", "3"), ("b", "1"), ("b", "2"), ("c", "1"), ("c", "2")]:
        await put(store, ns, name)
    first = store.list(CM, limit=3)
    assert (len(first.items), first.revision, first.remaining) == (3, 7, 4) and first.continue_token
    await put(store, "a", "9")  # sorts before the next page: not seen
    await put(store, "b", "1", DELETED)  # gone now, but still there at the first page's revision
    second = store.list(CM, continue_token=first.continue_token, limit=3)
    assert ([(orjson.loads(e.raw)["metadata"]["namespace"], e.rv) for e in second.items], second.revision,
            second.remaining) == ([("b", 4), ("b", 5), ("c", 6)], 7, 1)
    last = store.list(CM, continue_token=second.continue_token, limit=3)
    assert ([e.rv for e in last.items], last.continue_token, last.remaining) == ([7], "", None)


async def test_pages_of_the_current_state_skip_to_the_key(store: Store) -> None:
    for i in range(10):
        await put(store, "ns", f"o{i}")
    seen, token = [], ""
    while True:
        page = store.list(CM, "ns", continue_token=token, limit=4)
        seen += names(page.items)
        token = page.continue_token
        if not token:
            break
    assert seen == [f"o{i}" for i in range(10)]


async def test_a_filtered_page_does_not_count_the_rest(store: Store) -> None:
    for i in range(6):
        await put(store, "ns", f"o{i}", odd=str(i % 2))
    odd = lambda ns, name, entry: data(entry)["odd"] == "1"  # noqa: E731
    first = store.list(CM, limit=2, keep=odd)
    assert (names(first.items), first.remaining) == (["o1", "o3"], None) and first.continue_token
    rest = store.list(CM, continue_token=first.continue_token, limit=2, keep=odd)
    assert (names(rest.items), rest.continue_token) == (["o5"], "")
    assert names(store.list(CM, keep=odd).items) == ["o1", "o3", "o5"]


async def test_continue_tokens_that_do_not_decode_are_refused(store: Store) -> None:
    await put(store, "ns", "o0")
    zero_revision = encode_continue(0, ("ns", "o0"))
    for garbage in ("%%%", "eyJ2IjoxfQ", "bm90IGpzb24", zero_revision):
        with pytest.raises(InvalidContinue):
            store.list(CM, continue_token=garbage, limit=1)


async def test_a_continue_token_that_left_the_window_offers_the_rest_at_the_newest_revision(tmp_path: Path) -> None:
    store = await opened(tmp_path / "state.db", window=3)
    try:
        for i in range(3):
            await put(store, "ns", f"o{i}")
        first = store.list(CM, limit=1)
        for i in range(4):
            await put(store, "ns", f"p{i}")  # after the first page's key: the rest at the newest revision has them
        with pytest.raises(ContinueTooOld) as expired:
            store.list(CM, continue_token=first.continue_token, limit=1)
        assert str(expired.value).startswith("The provided continue parameter is too old")
        rest = store.list(CM, continue_token=expired.value.inconsistent)
        assert names(rest.items) == ["o1", "o2"] + [f"p{i}" for i in range(4)]
        assert rest.revision == store.revision != first.revision
    finally:
        store.close()


async def test_compaction_expires_revisions_older_than_the_previous_interval(tmp_path: Path) -> None:
    store = await opened(tmp_path / "state.db", compaction_interval=0.05)
    try:
        await put(store, "ns", "a")
        await put(store, "ns", "b")
        page = store.list(CM, limit=1)
        newest = await put(store, "ns", "c")
        await wait_for_async(lambda: store.oldest_watchable >= newest, what="a compaction past the last write")
        with pytest.raises(TooOld):
            store.subscribe(CM, "ns", page.revision)
        with pytest.raises(ContinueTooOld):
            store.list(CM, continue_token=page.continue_token)
    finally:
        store.close()


# -- watch fan-out -----------------------------------------------------------------------------------------


async def test_watchers_get_committed_events_of_their_resource_in_revision_order(store: Store) -> None:
    _, every = store.subscribe(CM, "", store.revision)
    _, one_ns = store.subscribe(CM, "a", store.revision)
    _, secrets = store.subscribe(SECRET, "", store.revision)
    await asyncio.gather(send(store, "a", "x"), send(store, "b", "y"), send(store, "a", "s", resource=SECRET),
                         send(store, "a", "x", MODIFIED), send(store, "b", "y", DELETED))
    assert [(e.rv, e.type, e.name) for e in drain(every.queue) if e] == [
        (1, ADDED, "x"), (2, ADDED, "y"), (4, MODIFIED, "x"), (5, DELETED, "y")]
    assert [(e.rv, e.name) for e in drain(one_ns.queue) if e] == [(1, "x"), (4, "x")]
    assert [(e.rv, e.name) for e in drain(secrets.queue) if e] == [(3, "s")]


async def test_a_watch_resumes_with_the_backlog_then_live_events_without_a_gap(store: Store) -> None:
    for i in range(4):
        await put(store, "ns", f"o{i}")
    pending = send(store, "ns", "o4")  # applied, not committed: it comes live, not in the backlog
    backlog, sub = store.subscribe(CM, "ns", 2)
    await pending
    await put(store, "ns", "o5")
    assert [e.rv for e in backlog] + [e.rv for e in drain(sub.queue) if e] == [3, 4, 5, 6]
    store.unsubscribe(sub)
    await put(store, "ns", "o6")
    assert drain(sub.queue) == []


async def test_a_watcher_that_falls_too_far_behind_is_cut_off(tmp_path: Path) -> None:
    store = await opened(tmp_path / "state.db", max_queue=3)
    try:
        _, sub = store.subscribe(CM, "", 0)
        for i in range(5):
            await put(store, "ns", f"o{i}")
        assert [e.rv if e else None for e in drain(sub.queue)] == [1, 2, 3, None]
        assert sub.overflowed
    finally:
        store.close()


# -- failures ------------------------------------------------------------------------------------------------


def on_connect(monkeypatch: pytest.MonkeyPatch, setup: Callable[[sqlite3.Connection], None]) -> None:
    """Run `setup(connection)` on every log connection opened from now on (the writer's among them)."""
    connect = revision_log.connect

    def connect_and_set_up(path: Path) -> sqlite3.Connection:
        conn = connect(path)
        setup(conn)
        return conn

    monkeypatch.setattr(revision_log, "connect", connect_and_set_up)


def interrupt(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """From now on, make SQLite end the writer's transaction under any statement starting with one of the
    returned set's strings, as it does on a full disk or an I/O error (here: an interrupt, which rolls the
    transaction back the same way). The set starts empty."""
    failing: set[str] = set()

    def interrupt_failing(conn: sqlite3.Connection) -> None:
        conn.set_trace_callback(lambda sql: conn.interrupt() if any(map(sql.startswith, failing)) else None)

    on_connect(monkeypatch, interrupt_failing)
    return failing


async def test_a_failed_commit_fails_its_writes_and_later_ones_but_reads_go_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    failing = interrupt(monkeypatch)
    store = await opened(tmp_path / "state.db")
    try:
        await put(store, "ns", "kept", x="1")
        failing.add("INSERT INTO revision_log")
        with pytest.raises(RuntimeError, match="storage commit failed"):
            await asyncio.wait_for(send(store, "ns", "lost"), 5)
        with pytest.raises(RuntimeError, match="store failed"):
            send(store, "ns", "refused")
        assert data(store.get(CM, "ns", "kept")) == {"x": "1"}
    finally:
        store.close()
    assert rows(tmp_path / "state.db", "SELECT name FROM revision_log") == [("kept",)]


async def test_writes_complete_after_a_compaction_whose_transaction_failed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """SQLite ends the compaction's transaction itself (as when BEGIN fails, or on a full disk): the writer
    goes on, later writes are acknowledged, and the next compaction does the work."""
    failing = interrupt(monkeypatch)
    failing.add("DELETE FROM revision_log")
    path = tmp_path / "state.db"
    store = await opened(path, window=10)
    try:
        await asyncio.gather(*(send(store, "ns", f"o{i}") for i in range(COMPACT_EVERY)))
        await asyncio.wait_for(send(store, "ns", "after"), 5)  # the writer has tried to compact by now
        assert "compaction failed" in caplog.text
        assert rows(path, "SELECT min(id) FROM revision_log") == [(1,)]
        failing.clear()
        await asyncio.wait_for(asyncio.gather(*(send(store, "ns", f"p{i}") for i in range(COMPACT_EVERY))), 10)
    finally:
        store.close()
    [(oldest, compacted)] = rows(path, "SELECT min(id), value FROM revision_log, store_setting "
                                         "WHERE key='compacted'")
    assert oldest > COMPACT_EVERY and compacted == str(oldest - 1)


def test_a_compaction_that_cannot_begin_leaves_the_log_writable(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite refuses the compaction's BEGIN (an authorizer here): compact raises that error, not the one of a
    ROLLBACK with no transaction to undo, and the log takes appends and compactions afterwards."""
    refused = {"BEGIN"}

    def refuse(conn: sqlite3.Connection) -> None:
        conn.set_authorizer(lambda action, what, *_: sqlite3.SQLITE_DENY
                            if action == sqlite3.SQLITE_TRANSACTION and what in refused else sqlite3.SQLITE_OK)

    on_connect(monkeypatch, refuse)
    revlog = revision_log.RevisionLog(tmp_path / "state.db")
    try:
        revlog.create()
        with pytest.raises(sqlite3.DatabaseError, match="^not authorized$"):  # BEGIN's own error, nothing else
            revlog.compact(1)
        refused.clear()
        entries = [Entry(rv, b"{}") for rv in (1, 2, 3)]
        revlog.append([Event(e.rv, ADDED, CM, "ns", f"o{e.rv}", e, None) for e in entries])
        revlog.compact(1)
        assert [e.rv for e in revlog.load(10).events] == [2, 3]
    finally:
        revlog.close()
