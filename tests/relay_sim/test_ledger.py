"""Tests for ``relay_sim/ledger.py``: seqs reserved durably ahead, never reused."""

from __future__ import annotations

import pytest

from relay_sim.ledger import ReservingLedger


def test_ledger_continues_above_what_was_reserved_before() -> None:
    ledger = ReservingLedger(41, lambda seq: None)

    assert [ledger.next_seq() for _ in range(3)] == [42, 43, 44]


def test_ledger_reserves_a_block_before_handing_out_its_first_seq() -> None:
    reserved: list[int] = []
    handed_out: list[int] = []

    def reserve(seq: int) -> None:
        assert not handed_out or handed_out[-1] < seq - 2  # written before the seq is used
        reserved.append(seq)

    ledger = ReservingLedger(5, reserve, block=3)
    for _ in range(7):
        handed_out.append(ledger.next_seq())

    assert handed_out == [6, 7, 8, 9, 10, 11, 12]
    assert reserved == [8, 11, 14]  # one write per block, each ahead of the seqs it covers
    assert all(seq <= max(reserved) for seq in handed_out)


def test_ledger_restarted_after_a_kill_never_reuses_a_seq() -> None:
    durable = [0]  # what the state file says, as the next run would read it
    first = ReservingLedger(durable[0], lambda seq: durable.__setitem__(0, seq), block=10)
    used_before_the_kill = [first.next_seq() for _ in range(4)]

    # SIGKILL: no clean stop records the exact last seq; only the reservation is on disk.
    second = ReservingLedger(durable[0], lambda seq: durable.__setitem__(0, seq), block=10)

    assert second.next_seq() > max(used_before_the_kill)


def test_ledger_that_raises_while_reserving_hands_out_nothing() -> None:
    def disk_full(seq: int) -> None:
        raise OSError("No space left on device")

    ledger = ReservingLedger(0, disk_full)

    with pytest.raises(OSError, match="No space"):
        ledger.next_seq()

    assert ledger.last_seq == 0 and ledger.reserved == 0


def test_ledger_given_a_block_reserved_already_writes_nothing_until_it_is_used_up() -> None:
    reserved: list[int] = []
    ledger = ReservingLedger(10, reserved.append, block=5, reserved=13)

    assert [ledger.next_seq() for _ in range(3)] == [11, 12, 13]
    assert reserved == []
    assert ledger.next_seq() == 14
    assert reserved == [18]
