"""Tests for ``hub/store/writer.py``: group commit on a real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from hub.store.interface import StorageUnavailable
from hub.store.writer import GroupCommitWriter, is_storage_fault, unavailable_of
from tests.hub.store.store_faults import CommitFaults

# How long a test waits for the writer thread to reach a point before giving up.
THREAD_WAIT_S = 5.0


def connector(path: Path) -> Callable[[], sqlite3.Connection]:
    """A connect function like the store's: explicit transactions, WAL, no busy wait."""

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, v TEXT UNIQUE)")
        return conn

    return connect


def committed(path: Path) -> list[str]:
    """Values committed to ``items``, read on a connection of their own."""
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT v FROM items ORDER BY id")]


def insert(value: str) -> Callable[[sqlite3.Connection], int]:
    def op(conn: sqlite3.Connection) -> int:
        cursor = conn.execute("INSERT INTO items (v) VALUES (?)", (value,))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    return op


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "writer.db"


@pytest.fixture
async def writer(db: Path) -> AsyncIterator[GroupCommitWriter]:
    w = GroupCommitWriter(connector(db), batch_max=512)
    await w.start()
    yield w
    await w.close()


async def test_writer_commits_in_fewer_transactions_than_writes_when_writes_arrive_together(
    writer: GroupCommitWriter, db: Path
) -> None:
    await asyncio.gather(*(writer.write(insert(f"v{i}")) for i in range(200)))

    assert writer.ops == 200
    assert writer.batches < writer.ops
    assert len(committed(db)) == 200


async def test_writer_takes_at_most_batch_max_ops_per_transaction_when_more_are_pending(
    db: Path,
) -> None:
    writer = GroupCommitWriter(connector(db), batch_max=10)
    await writer.start()
    try:
        await asyncio.gather(*(writer.write(insert(f"v{i}")) for i in range(35)))
    finally:
        await writer.close()

    assert (writer.batches, writer.ops) == (4, 35)


async def test_writer_returns_each_caller_its_own_result_when_ops_share_a_batch(
    writer: GroupCommitWriter,
) -> None:
    results = await asyncio.gather(*(writer.write(lambda _c, i=i: i * i) for i in range(50)))

    assert results == [i * i for i in range(50)]
    assert writer.batches < writer.ops


async def test_writer_runs_ops_in_submission_order_when_they_share_a_batch(
    writer: GroupCommitWriter,
) -> None:
    def op(i: int) -> Callable[[sqlite3.Connection], int]:
        def run(conn: sqlite3.Connection) -> int:
            # What the earlier ops of the batch wrote is visible here.
            seen = conn.execute("SELECT count(*) FROM items").fetchone()[0]
            conn.execute("INSERT INTO items (v) VALUES (?)", (f"v{i}",))
            return int(seen)

        return run

    seen = await asyncio.gather(*(writer.write(op(i)) for i in range(100)))

    assert seen == list(range(100))
    assert writer.batches < writer.ops


async def test_writer_fails_only_the_raising_op_when_one_op_of_a_batch_raises(
    writer: GroupCommitWriter, db: Path
) -> None:
    def half_then_raise(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO items (v) VALUES ('partial')")
        raise ValueError("boom")

    results = await asyncio.gather(
        writer.write(insert("first")),
        writer.write(half_then_raise),
        writer.write(insert("last")),
        return_exceptions=True,
    )

    assert isinstance(results[0], int)
    assert isinstance(results[1], ValueError)
    assert isinstance(results[2], int)
    assert writer.batches == 1  # all three shared one transaction
    assert committed(db) == ["first", "last"]  # the failing op's row was rolled back


async def test_writer_rolls_back_a_failing_ops_earlier_statements_when_a_later_one_errs(
    writer: GroupCommitWriter, db: Path
) -> None:
    await writer.write(insert("taken"))

    def two_inserts(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO items (v) VALUES ('fresh')")
        conn.execute("INSERT INTO items (v) VALUES ('taken')")  # UNIQUE violation

    with pytest.raises(sqlite3.IntegrityError):
        await writer.write(two_inserts)

    assert committed(db) == ["taken"]


async def test_writer_resolves_a_write_only_after_it_is_committed_when_awaited(
    writer: GroupCommitWriter, db: Path
) -> None:
    await writer.write(insert("durable"))

    assert committed(db) == ["durable"]


async def test_writer_fails_every_write_of_a_batch_when_the_commit_fails(
    writer: GroupCommitWriter, db: Path
) -> None:
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # holds the write lock: the batch cannot begin
    try:
        results = await asyncio.gather(
            writer.write(insert("a")), writer.write(insert("b")), return_exceptions=True
        )
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    assert all(isinstance(r, StorageUnavailable) for r in results)
    assert committed(db) == []


async def test_writer_keeps_writing_when_an_earlier_commit_failed(
    writer: GroupCommitWriter, db: Path
) -> None:
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageUnavailable):
            await writer.write(insert("lost"))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    await writer.write(insert("after"))

    assert committed(db) == ["after"]


async def test_writer_commits_pending_writes_and_refuses_new_ones_when_closed(
    db: Path,
) -> None:
    writer = GroupCommitWriter(connector(db), batch_max=512)
    await writer.start()
    futures = [writer.submit(insert(f"v{i}")) for i in range(3)]

    await writer.close()

    for fut in futures:
        await fut  # submitted before close: committed and answered
    assert committed(db) == ["v0", "v1", "v2"]
    with pytest.raises(StorageUnavailable):
        await writer.submit(insert("late"))


async def test_writer_resolves_the_batch_in_flight_when_closed_during_its_commit(
    db: Path,
) -> None:
    writer = GroupCommitWriter(connector(db), batch_max=512)
    await writer.start()
    started, release = threading.Event(), threading.Event()

    def slow(conn: sqlite3.Connection) -> str:
        started.set()
        release.wait(THREAD_WAIT_S)
        conn.execute("INSERT INTO items (v) VALUES ('slow')")
        return "slow"

    in_flight = writer.submit(slow)
    assert await asyncio.to_thread(started.wait, THREAD_WAIT_S)
    closing = asyncio.create_task(writer.close())
    await asyncio.sleep(0)  # let close() begin while the batch is still in the thread
    release.set()
    await closing

    try:
        assert in_flight.done(), "the caller of the in-flight batch is never answered"
    finally:
        if not in_flight.done():
            in_flight.cancel()


async def test_writer_says_the_database_is_busy_when_another_connection_holds_the_lock(
    writer: GroupCommitWriter, db: Path
) -> None:
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StorageUnavailable) as failed:
            await writer.write(insert("locked out"))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    assert failed.value.cause == "busy"
    assert committed(db) == []


async def test_writer_says_the_disk_is_full_when_a_write_needs_a_page_it_cannot_have(
    writer: GroupCommitWriter, db: Path
) -> None:
    # max_page_count makes SQLite answer SQLITE_FULL as a full disk would.
    pages = await writer.run_in_thread(lambda c: c.execute("PRAGMA page_count").fetchone()[0])
    await writer.run_in_thread(lambda c: c.execute(f"PRAGMA max_page_count = {pages}"))

    def big(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO items (v) VALUES (?)", ("x" * 100_000,))

    results = await asyncio.gather(
        writer.write(insert("small")), writer.write(big), return_exceptions=True
    )
    await writer.run_in_thread(lambda c: c.execute("PRAGMA max_page_count = 1000000"))
    await writer.write(insert("after"))

    # SQLite rolled the whole transaction back: every op of the batch failed,
    # each told the real cause (not "no such savepoint"), and nothing of it stayed.
    assert [type(r) for r in results] == [StorageUnavailable, StorageUnavailable]
    assert all(isinstance(r, StorageUnavailable) and r.cause == "disk" for r in results)
    assert "full" in str(results[1])
    assert committed(db) == ["after"]


def test_storage_unavailable_keeps_the_cause_of_one_that_already_is_one() -> None:
    original = StorageUnavailable("the hub is shutting down", "unavailable")

    assert unavailable_of(original) is original
    assert unavailable_of(ValueError("not SQLite")).cause == "unavailable"


# --- one op's data never fails its batch-mates (issue 16, finding 1) ------------


async def test_writer_fails_only_the_op_at_fault_when_its_data_rolls_back_the_whole_transaction(
    writer: GroupCommitWriter, db: Path
) -> None:
    await writer.write(insert("taken"))

    def rollback_all(conn: sqlite3.Connection) -> None:
        # OR ROLLBACK: the constraint ends the whole transaction, not the statement.
        conn.execute("INSERT OR ROLLBACK INTO items (v) VALUES ('taken')")

    results = await asyncio.gather(
        writer.write(insert("before")),
        writer.write(rollback_all),
        writer.write(insert("after")),
        return_exceptions=True,
    )

    assert isinstance(results[0], int) and isinstance(results[2], int)
    assert isinstance(results[1], sqlite3.IntegrityError)  # its own error, not a storage fault
    assert committed(db) == ["taken", "before", "after"]


async def test_writer_fails_only_the_op_at_fault_when_a_value_cannot_be_bound(
    writer: GroupCommitWriter, db: Path
) -> None:
    # The value a relay's seq of 2^63 became: SQLite integers stop at 2^63 - 1.
    def too_big(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO items (v) VALUES (?)", (2**63,))

    results = await asyncio.gather(
        writer.write(insert("a")), writer.write(too_big), writer.write(insert("b")),
        return_exceptions=True,
    )  # fmt: skip

    assert isinstance(results[1], OverflowError)
    assert not isinstance(results[1], StorageUnavailable)
    assert committed(db) == ["a", "b"]


@pytest.mark.parametrize(
    "exc",
    [
        OverflowError("Python int too large to convert to SQLite INTEGER"),
        ValueError("bad"),
        TypeError("bad"),
        sqlite3.IntegrityError("UNIQUE constraint failed"),
        sqlite3.InterfaceError("Error binding parameter 1"),
        sqlite3.ProgrammingError("Incorrect number of bindings"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_is_storage_fault_says_no_when_one_ops_data_failed(exc: Exception) -> None:
    assert is_storage_fault(exc) is False


async def test_is_storage_fault_says_yes_when_the_database_is_locked(db: Path) -> None:
    conn = connector(db)()
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sqlite3.OperationalError) as locked:
            conn.execute("BEGIN IMMEDIATE")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        conn.close()

    assert is_storage_fault(locked.value) is True
    assert is_storage_fault(StorageUnavailable("the hub is shutting down")) is True


@pytest.fixture
async def faulty_writer(db: Path) -> AsyncIterator[tuple[GroupCommitWriter, CommitFaults]]:
    """A writer whose connection fails the commits its ``CommitFaults`` marks."""
    faults = CommitFaults()
    w = GroupCommitWriter(connector(db), batch_max=512)
    w.connect = faults.wrap(w.connect)
    await w.start()
    yield w, faults
    await w.close()


async def test_writer_fails_every_write_of_a_batch_as_a_disk_fault_when_its_commit_fails(
    faulty_writer: tuple[GroupCommitWriter, CommitFaults], db: Path
) -> None:
    writer, faults = faulty_writer
    faults.fail_next()

    results = await asyncio.gather(
        writer.write(insert("a")), writer.write(insert("b")), return_exceptions=True
    )

    assert faults.failed == 1  # one batch, one commit: both writes rode on it
    assert [type(r) for r in results] == [StorageUnavailable, StorageUnavailable]
    assert [r.cause for r in results if isinstance(r, StorageUnavailable)] == ["disk", "disk"]
    assert committed(db) == []


async def test_writer_rolls_back_a_batch_whose_commit_failed_and_commits_the_next(
    faulty_writer: tuple[GroupCommitWriter, CommitFaults], db: Path
) -> None:
    writer, faults = faulty_writer
    faults.fail_next()
    with pytest.raises(StorageUnavailable):
        await writer.write(insert("lost"))

    # Were the failed transaction left open, this one would hold "lost" too.
    await writer.write(insert("after"))

    assert committed(db) == ["after"]
    assert faults.failed == 1


async def test_writer_fails_as_many_batches_as_commits_were_told_to_fail(
    faulty_writer: tuple[GroupCommitWriter, CommitFaults], db: Path
) -> None:
    writer, faults = faulty_writer
    faults.fail_next(2)

    outcomes = []
    for value in ("one", "two", "three"):  # awaited one by one: a batch each
        try:
            await writer.write(insert(value))
            outcomes.append("committed")
        except StorageUnavailable:
            outcomes.append("failed")

    assert outcomes == ["failed", "failed", "committed"]
    assert committed(db) == ["three"]
