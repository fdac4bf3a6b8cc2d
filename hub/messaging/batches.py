"""List sends: one text to every number of a list, each its own message.

The text may name ``{name}`` and any metadata key (``{city}``); each message
gets its own copy. A recipient whose text cannot be made (a placeholder its
metadata lacks, a text over the part limit) or whose number came up already is
skipped and reported, never half-sent. The messages are of kind ``list``: they
wait behind OTPs and single sends in the queue, and auto relay mode spreads
them over the account's online relays like any other send.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any, Final

from hub.clock import Clock, rfc3339
from hub.errors import BadTemplate, PartlyQueued, PartlyStored
from hub.messaging.engine import Messaging
from hub.messaging.message import LiveMessage, new_message
from hub.recipients.directory import Recipient
from hub.recipients.lists import RecipientLists
from hub.store.interface import Store
from hub.text.sms_text import measure
from protocol.lifecycle import State

COUNTED: Final = tuple(s.value for s in State)
MAX_TEXT: Final = 5000  # characters of one personalised text, as for a single send


def placeholders(template: str) -> set[str]:
    """The names a text template uses; ``BadTemplate`` if it does not parse or asks
    for more than a plain value (a format spec or conversion could make a huge
    text or fail on a value)."""
    try:
        fields = [(n, spec, conv) for _, n, spec, conv in string.Formatter().parse(template)]
    except ValueError as exc:
        raise BadTemplate(f"{exc}; write {{{{ and }}}} for literal braces") from None
    names = set()
    for name, spec, conv in fields:
        if name is None:
            continue
        if not name.isidentifier() or spec or conv:
            written = name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "")
            raise BadTemplate(
                f"'{{{written}}}' is not a placeholder; use {{name}} or {{a_metadata_key}},"
                " nothing more"
            )
        names.add(name)
    return names


def personalise(template: str, recipient: Recipient) -> str | None:
    """The recipient's copy of the text; None if it uses a field they lack."""
    values: dict[str, Any] = {**{k: str(v) for k, v in recipient.metadata.items()}}
    values["name"] = recipient.name
    if not placeholders(template) <= {k for k, v in values.items() if v != ""}:
        return None
    return template.format_map(values)


@dataclass
class Plan:
    """A list send before it is stored: one message per recipient, and who was skipped."""

    messages: list[LiveMessage] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)


class Batches:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        lists: RecipientLists,
        messaging: Messaging,
        max_parts: int,
    ) -> None:
        self._store = store
        self._clock = clock
        self._lists = lists
        self._messaging = messaging
        self._max_parts = max_parts
        self._cancelled: set[str] = set()  # batches cancelled (their queueing stops)

    def plan(
        self,
        account_id: str,
        batch_id: str,
        members: list[Recipient],
        template: str,
        device_id: str | None,
        ttl_s: int,
    ) -> Plan:
        now = self._clock.now()
        plan = Plan()
        seen: set[str] = set()
        for recipient in members:
            skip = {"recipient_id": recipient.id, "phone": recipient.phone}
            if recipient.phone in seen:
                plan.skipped.append({**skip, "reason": "duplicate number in this send"})
                continue
            seen.add(recipient.phone)
            text = personalise(template, recipient)
            if text is None:
                missing = placeholders(template) - {"name", *recipient.metadata}
                plan.skipped.append({**skip, "reason": "no value for "
                                     + ", ".join(sorted(missing or {"name"}))})  # fmt: skip
                continue
            if len(text) > MAX_TEXT:
                plan.skipped.append({**skip, "reason": f"longer than {MAX_TEXT} characters"})
                continue
            size = measure(text)
            if size.parts > self._max_parts:
                plan.skipped.append({**skip, "reason": f"takes {size.parts} SMS parts"
                                     f" (at most {self._max_parts})"})  # fmt: skip
                continue
            plan.messages.append(
                new_message(
                    account_id,
                    recipient.phone,
                    text,
                    now=now,
                    ttl_s=ttl_s,
                    kind="list",
                    device_id=device_id,
                    batch_id=batch_id,
                )
            )
        return plan

    async def queue(
        self, account_id: str, batch_id: str, list_id: str, template: str, plan: Plan
    ) -> int:
        """Store the batch and its messages, in chunks; how many were queued (fewer
        than planned if it was cancelled meanwhile).

        ``PartlyQueued`` if storage failed after some chunks were stored: those
        go out, so the caller must not queue the same list again blindly.
        """
        record = (
            "INSERT INTO batches (id, account_id, list_id, text, total, skipped, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (batch_id, account_id, list_id, template, len(plan.messages), len(plan.skipped),
             rfc3339(self._clock.now())),
        )  # fmt: skip
        if not plan.messages:
            await self._store.execute(*record)
            return 0
        try:
            return await self._messaging.submit_many(
                plan.messages, also=[record], stop=lambda: batch_id in self._cancelled
            )
        except PartlyStored:
            raise PartlyQueued(batch_id) from None

    async def get(self, account_id: str, batch_id: str) -> dict[str, Any] | None:
        row = await self._store.fetchone(
            "SELECT * FROM batches WHERE id = ? AND account_id = ?", (batch_id, account_id)
        )
        if row is None:
            return None
        counts = dict.fromkeys(COUNTED, 0)
        for state in await self._store.fetchall(
            "SELECT state, COUNT(*) AS n FROM messages WHERE batch_id = ? GROUP BY state",
            (batch_id,),
        ):
            counts[state["state"]] = state["n"]
        return {
            "id": row["id"], "list_id": row["list_id"], "text": row["text"],
            "total": row["total"], "queued": sum(counts.values()), "skipped": row["skipped"],
            "counts": counts,
            "created_at": row["created_at"], "cancelled_at": row["cancelled_at"],
        }  # fmt: skip

    async def cancel(self, account_id: str, batch_id: str) -> int | None:
        """Cancel the batch's messages no relay has been handed yet; how many.
        Chunks of it still to be written are not written at all."""
        if await self.get(account_id, batch_id) is None:
            return None
        self._cancelled.add(batch_id)
        await self._store.barrier()  # every message of the batch is stored
        rows = await self._store.fetchall(
            "SELECT id FROM messages WHERE batch_id = ? AND state = 'queued'", (batch_id,)
        )
        ids = [r["id"] for r in rows]
        cancelled = self._messaging.cancel_queued(ids, "batch_cancelled")
        # A cluster node: those no node holds wait in the shared queue.
        done = set(cancelled)
        left = [i for i in ids if i not in done]
        cancelled += await self._messaging.cancel_shared(left, "batch_cancelled")
        await self._store.execute(
            "UPDATE batches SET cancelled_at = COALESCE(cancelled_at, ?) WHERE id = ?",
            (rfc3339(self._clock.now()), batch_id),
        )
        return len(cancelled)
