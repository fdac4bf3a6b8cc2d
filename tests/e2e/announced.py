"""What a webhook receiver has been told so far, tallied as calls arrive.

A soak waits until every acknowledged message's end has been announced, and
``Receiver.wait_until`` checks its condition twice per incoming call. Reading
every call again on each check (a JSON decode each) costs time in proportion
to all calls so far, so a check per call grows quadratic: at 6,000 calls each
check took about 0.2 s, and the test's event loop, which also runs the relays
and the receiver, stalled for minutes. This tally looks at each call once, and
again only while it is still waiting for the receiver's answer.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

from tests.e2e.receiver import Call, Receiver


class AnnouncedEvents:
    """The first acknowledged (2xx) delivery of each ``webhook-id`` (a redelivery
    keeps the id), as ``(request_id, type)`` counts; ``update`` reads new calls."""

    def __init__(
        self,
        receiver: Receiver,
        terminal_types: Collection[str],
        decode: Callable[[bytes], Any] = json.loads,
    ) -> None:
        self._receiver = receiver
        self._terminal_types = frozenset(terminal_types)
        self._decode = decode
        self._next = 0  # index of the first call never looked at
        self._unanswered: list[Call] = []  # looked at before the receiver answered
        self._counted: set[str] = set()  # webhook-ids already counted
        self.per_type: Counter[tuple[str, str]] = Counter()
        self.terminal_ids: set[str] = set()

    def update(self) -> AnnouncedEvents:
        """Count the calls answered since the last update; returns self."""
        calls = self._receiver.calls
        fresh, self._next = calls[self._next :], len(calls)
        waiting, self._unanswered = self._unanswered + fresh, []
        for call in waiting:
            if call.status == 0:
                self._unanswered.append(call)
            elif 200 <= call.status < 300 and call.webhook_id not in self._counted:
                self._counted.add(call.webhook_id)
                event = self._decode(call.body)
                request_id = str(event["data"]["request_id"])
                self.per_type[(request_id, event["type"])] += 1
                if event["type"] in self._terminal_types:
                    self.terminal_ids.add(request_id)
        return self
