"""Tests for ``hub/messaging/message.py`` and ``writes.py``: how a ``LiveMessage``
takes a lifecycle decision, and how its row, history and events reach storage
(a real SQLite store)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.accounts.tokens import TokenAuthority
from hub.clock import ManualClock, rfc3339
from hub.messaging.message import LiveMessage, insert_statements, save_statements
from hub.messaging.writes import ReportGap, SeqStep, report_op, run_statements
from hub.store.sqlite import SqliteStore
from protocol.lifecycle import Decision, Event, State, decide

NOW = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
RELAY_SAYS = NOW - timedelta(seconds=2)  # a report's own time, before the hub heard it
DEVICE = "dev_A"


def message(account_id: str = "acc_1", **fields: object) -> LiveMessage:
    values: dict[str, object] = {
        "id": "req_1", "account_id": account_id, "to": "+998901234567", "text": "Salom",
        "parts": 1, "encoding": "gsm7", "requested_device_id": None, "sim_slot": None,
        "queued_at": NOW, "expires_at": NOW + timedelta(hours=1),
    }  # fmt: skip
    values.update(fields)
    return LiveMessage(**values)  # type: ignore[arg-type]


def moved(m: LiveMessage, event: Event, **options: object) -> Decision:
    """``m`` after ``event`` from ``DEVICE`` (the lifecycle decides, the message applies)."""
    decision = decide(m.state, m.device_id, event, device=DEVICE)
    m.enter(decision, str(event), NOW, device=DEVICE, **options)  # type: ignore[arg-type]
    return decision


def history_of(statements: list[tuple[str, tuple[object, ...]]]) -> list[tuple[object, ...]]:
    return [params for sql, params in statements if sql.startswith("INSERT INTO message_events")]


def events_of(statements: list[tuple[str, tuple[object, ...]]]) -> list[dict[str, object]]:
    return [
        json.loads(params[4])  # type: ignore[arg-type]
        for sql, params in statements
        if sql.startswith("INSERT INTO events")
    ]


# enter()


def test_live_message_enters_dispatched_with_its_holder_and_the_hubs_own_time() -> None:
    m = message()

    moved(m, Event.DISPATCH, at=RELAY_SAYS)

    assert (m.state, m.device_id) == (State.DISPATCHED, DEVICE)
    assert m.stamps == {"dispatched_at": rfc3339(NOW)}  # dispatch is the hub's act: its time
    assert m.updated_at == NOW


def test_live_message_stamps_a_report_with_the_time_the_relay_gives() -> None:
    m = message()
    moved(m, Event.DISPATCH)

    moved(m, Event.SENT, at=RELAY_SAYS)

    assert m.state is State.SENT
    # The implied acceptance is stamped too, at the report's time.
    assert m.stamps["accepted_at"] == m.stamps["sent_at"] == rfc3339(RELAY_SAYS)


def test_live_message_notes_a_history_row_for_every_state_on_the_path() -> None:
    m = message()
    m.note_queued(NOW)
    moved(m, Event.DISPATCH)

    moved(m, Event.DELIVERED, at=RELAY_SAYS)

    states = [row[2] for row in history_of(m.take_changes())]
    assert states == ["queued", "dispatched", "accepted", "sent", "delivered"]


def test_live_message_changes_nothing_when_the_decision_changes_nothing() -> None:
    m = message()
    moved(m, Event.DISPATCH)
    moved(m, Event.SENT)
    m.take_changes()
    before = (m.state, dict(m.stamps), m.updated_at)

    ignored = moved(m, Event.ACCEPTED)  # backwards: a no-op

    assert not ignored.changed
    assert (m.state, m.stamps, m.updated_at) == before
    assert m.take_changes() == []


def test_live_message_keeps_its_holder_when_it_fails_and_records_the_error_in_its_history() -> None:
    m = message()
    moved(m, Event.DISPATCH)

    moved(m, Event.FAILED, error=("no_service", "the SIM has no network"))

    assert (m.state, m.device_id) == (State.FAILED, DEVICE)
    assert (m.error_code, m.error_message) == ("no_service", "the SIM has no network")
    (row,) = history_of(m.take_changes())[-1:]
    assert row[5] == "no_service: the SIM has no network"


def test_live_message_announces_sent_and_delivered_as_events_with_the_relays_time() -> None:
    m = message()
    moved(m, Event.DISPATCH)

    moved(m, Event.DELIVERED, at=RELAY_SAYS)

    events = events_of(m.take_changes())
    assert [e["type"] for e in events] == ["message.sent", "message.delivered"]
    assert all(e["data"]["request_id"] == "req_1" for e in events)  # type: ignore[index]
    assert all(e["data"]["at"] == rfc3339(RELAY_SAYS) for e in events)  # type: ignore[index]


def test_live_message_announces_an_expiry_as_a_failure_that_names_the_reason() -> None:
    m = message()

    moved(m, Event.EXPIRE)

    (event,) = events_of(m.take_changes())
    assert event["type"] == "message.failed"
    assert event["data"]["error"]["code"] == "expired"  # type: ignore[index]


def test_live_message_hands_out_its_changes_only_once() -> None:
    m = message()
    moved(m, Event.DISPATCH)

    first, second = m.take_changes(), m.take_changes()

    assert len(history_of(first)) == 1
    assert second == []


# small views


def test_live_message_ranks_a_login_code_before_an_sms_before_a_list_send() -> None:
    kinds = ["list", "sms", "otp"]

    ranked = sorted(kinds, key=lambda kind: message(kind=kind).priority)

    assert ranked == ["otp", "sms", "list"]


def test_live_message_send_frame_counts_a_first_attempt_as_attempt_one() -> None:
    assert message().send_frame().attempt == 1
    assert message(attempts=3).send_frame().attempt == 3


# storage round trips


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(tmp_path / "hub.db")
    await store.open()
    await TokenAuthority(store, _FixedClock()).bootstrap("rh_message_test_token_000")
    yield store
    await store.close()


class _FixedClock:
    def now(self) -> datetime:
        return NOW

    def monotonic(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        raise AssertionError("nothing here waits")


async def account_of(store: SqliteStore) -> str:
    row = await store.fetchone("SELECT id FROM accounts")
    assert row is not None
    return str(row["id"])


async def test_live_message_reads_back_from_its_row_as_it_was_written(store: SqliteStore) -> None:
    m = message(await account_of(store))
    m.note_queued(NOW)
    await store.write(run_statements(insert_statements(m)))
    moved(m, Event.DISPATCH)
    moved(m, Event.SENT, at=RELAY_SAYS)
    await store.write(run_statements(save_statements(m)))

    row = await store.fetchone("SELECT * FROM messages WHERE id = ?", (m.id,))
    assert row is not None
    back = LiveMessage.from_row(row, unseal=lambda sealed: "never called")

    assert (back.state, back.device_id, back.text, back.to) == (State.SENT, DEVICE, "Salom", m.to)
    assert back.stamps == m.stamps
    assert back.queued_at == datetime.fromisoformat(rfc3339(NOW))  # stored to the millisecond
    history = await store.fetchall("SELECT state FROM message_events WHERE message_id = ?", (m.id,))
    assert [r["state"] for r in history] == ["queued", "dispatched", "accepted", "sent"]


async def test_live_message_keeps_a_sealed_text_out_of_storage_once_a_relay_accepted_it(
    store: SqliteStore,
) -> None:
    m = message(await account_of(store), kind="otp", text="Code 123456", text_sealed=b"sealed")
    await store.write(run_statements(insert_statements(m)))
    queued = await store.fetchone("SELECT text, text_sealed FROM messages WHERE id = ?", (m.id,))
    moved(m, Event.DISPATCH)
    moved(m, Event.ACCEPTED)
    await store.write(run_statements(save_statements(m)))
    accepted = await store.fetchone("SELECT text, text_sealed FROM messages WHERE id = ?", (m.id,))

    assert queued is not None and accepted is not None
    assert (queued["text"], queued["text_sealed"]) == ("", b"sealed")  # never in plain text
    assert (accepted["text"], accepted["text_sealed"]) == ("", None)


async def test_report_op_refuses_a_seq_that_does_not_follow_the_stored_one(
    store: SqliteStore,
) -> None:
    account_id = await account_of(store)
    await store.write(
        lambda conn: conn.execute(
            "INSERT INTO devices (id, account_id, name, token_hash, created_at)"
            " VALUES (?, ?, 'A', x'01', ?)",
            (DEVICE, account_id, rfc3339(NOW)),
        )
    )

    await store.write(report_op([], SeqStep(DEVICE, previous=0, seq=1)))
    with pytest.raises(ReportGap):
        await store.write(report_op([], SeqStep(DEVICE, previous=2, seq=3)))  # seq 2 never stored
    row = await store.fetchone("SELECT last_seq FROM devices WHERE id = ?", (DEVICE,))

    assert row is not None and row["last_seq"] == 1


# the row's columns


def columns_written(sql: str) -> list[str]:
    """The columns an ``INSERT`` names, or an ``UPDATE`` sets, in their order."""
    if sql.startswith("INSERT"):
        return [c.strip() for c in sql[sql.index("(") + 1 : sql.index(")")].split(",")]
    sets = sql[sql.index(" SET ") + len(" SET ") : sql.index(" WHERE ")]
    return [assignment.split("=")[0].strip() for assignment in sets.split(",")]


@pytest.mark.parametrize("state", [State.DISPATCHED, State.SENT, State.FAILED])
@pytest.mark.parametrize("sealed", [None, b"sealed"])
def test_a_save_writes_the_changing_columns_as_the_full_row_has_them(
    state: State, sealed: bytes | None
) -> None:
    """The narrow UPDATE of a later write and the full INSERT agree on every
    column they share, whatever the state and however the text is kept."""
    now = ManualClock().now()
    message = LiveMessage(
        id="req_1", account_id="acc_1", to="+998901234567", text="hi", parts=1,
        encoding="gsm7", requested_device_id=None, sim_slot=0, queued_at=now,
        expires_at=now + timedelta(hours=1), state=state, device_id="dev_1", attempts=2,
        error_code="generic_failure", error_message="radio off",
        stamps={"dispatched_at": "2026-01-01T00:00:00.000Z", "sent_at": "2026-01-01T00:00:01.000Z"},
        updated_at=now + timedelta(seconds=3), text_sealed=sealed,
    )  # fmt: skip
    (insert, inserted), *_ = insert_statements(message)
    (update, updated), *_ = save_statements(message)
    full = dict(zip(columns_written(insert), inserted, strict=True))
    changing = columns_written(update)

    assert updated == (*(full[c] for c in changing), message.id)  # the id is the WHERE's
    assert set(changing) <= set(full)


async def test_a_message_row_names_every_column_of_the_messages_table_once(
    store: SqliteStore,
) -> None:
    m = message(await account_of(store))
    statements = insert_statements(m)
    await store.write(run_statements(statements))

    row = await store.fetchone("SELECT * FROM messages WHERE id = ?", (m.id,))

    assert row is not None
    assert sorted(columns_written(statements[0][0])) == sorted(row.keys())
