"""Write ops built from statements: the plain one, and a report's, which moves the
device's stored ``last_seq`` one step so no report is stored past a lost one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

from hub.store.interface import Statement, Tx


class ReportGap(Exception):
    """A report's write would have moved ``last_seq`` past one that was not stored."""


class SeqStep(NamedTuple):
    """A report's write moves the device's stored ``last_seq`` from ``previous`` to ``seq``."""

    device_id: str
    previous: int
    seq: int


def run_statements(statements: Iterable[Statement]) -> Callable[[Tx], None]:
    """A write op that runs ``statements`` in order."""
    items = list(statements)

    def op(tx: Tx) -> None:
        for sql, params in items:
            tx.execute(sql, params)

    return op


def report_op(statements: list[Statement], step: SeqStep) -> Callable[[Tx], None]:
    """A report's write: move the device's stored seq from exactly ``step.previous``
    to ``step.seq``, then run ``statements``; if the seq before it was never
    stored, fail."""

    def op(tx: Tx) -> None:
        moved = tx.execute(
            "UPDATE devices SET last_seq = ? WHERE id = ? AND last_seq = ?",
            (step.seq, step.device_id, step.previous),
        ).rowcount
        if moved != 1:
            raise ReportGap(
                f"{step.device_id}: seq {step.seq} does not follow the stored seq {step.previous}"
            )
        for sql, params in statements:
            tx.execute(sql, params)

    return op
