"""What the dispatcher tests share: one account's messages, explicit times, and
``place`` with messages shown by id, so a test reads as the placements it expects."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hub.messaging.dispatcher import Dispatcher
from hub.messaging.message import LiveMessage

ACCOUNT = "acc_1"
OTHER_ACCOUNT = "acc_2"
WALL = datetime(2026, 1, 1, tzinfo=UTC)
T0 = 1000.0  # monotonic seconds
SIMS = frozenset({0})
PPM = 1000  # a rate limit that never binds unless a test says so

_ids = itertools.count(1)


def message(
    *,
    account: str = ACCOUNT,
    parts: int = 1,
    device: str | None = None,
    sim_slot: int | None = None,
    expires_at: datetime | None = None,
    kind: str = "sms",
) -> LiveMessage:
    return LiveMessage(
        id=f"req_{next(_ids):04d}",
        account_id=account,
        to="+998901234567",
        text="hello",
        parts=parts,
        encoding="gsm7",
        requested_device_id=device,
        sim_slot=sim_slot,
        queued_at=WALL,
        expires_at=expires_at or WALL + timedelta(hours=1),
        kind=kind,
    )


def queue_all(dispatcher: Dispatcher, *messages: LiveMessage) -> None:
    for m in messages:
        dispatcher.enqueue(m)


def place(
    dispatcher: Dispatcher, now: float = T0, wall: datetime = WALL, account: str = ACCOUNT
) -> tuple[list[tuple[str, str]], list[str]]:
    """``place`` with messages shown by id: ``([(message, device)], [expired])``."""
    placed, expired = dispatcher.place(account, now, wall)
    return [(m.id, d) for m, d in placed], [m.id for m in expired]


def queued_ids(dispatcher: Dispatcher, account: str = ACCOUNT) -> list[str]:
    return [m.id for m in dispatcher.queued(account)]
