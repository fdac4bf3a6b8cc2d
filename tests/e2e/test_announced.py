"""The chaos soak's wait condition: each webhook call read once, however often it is checked.

``Receiver.wait_until`` checks its condition twice per incoming call. The soak
used to decode every call so far on each check, so at 6,000 calls one check
took about 0.2 s and the test's event loop (relays and receiver included)
stalled; see ``tests.e2e.announced``.
"""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.announced import AnnouncedEvents
from tests.e2e.receiver import Call, Receiver

TERMINAL = {"message.delivered", "message.failed"}


def _call(webhook_id: str, request_id: str, kind: str, status: int = 204) -> Call:
    body = json.dumps({"type": kind, "data": {"request_id": request_id}}).encode()
    return Call(headers={"webhook-id": webhook_id}, body=body, status=status)


class CountingDecode:
    def __init__(self) -> None:
        self.bodies = 0

    def __call__(self, body: bytes) -> Any:
        self.bodies += 1
        return json.loads(body)


def test_a_check_reads_only_the_calls_that_arrived_since_the_last_one() -> None:
    receiver, decode = Receiver(), CountingDecode()
    announced = AnnouncedEvents(receiver, TERMINAL, decode)
    for n in range(3000):
        receiver.calls.append(_call(f"evt_{n}", f"req_{n}", "message.delivered"))
        announced.update()  # as the soak's wait does: twice per call
        announced.update()

    assert decode.bodies == 3000  # decoding all calls each time: about 9 million
    assert announced.terminal_ids == {f"req_{n}" for n in range(3000)}


def test_only_the_first_acknowledged_delivery_of_each_webhook_id_counts() -> None:
    receiver = Receiver()
    announced = AnnouncedEvents(receiver, TERMINAL)
    in_flight = _call("evt_a", "req_a", "message.delivered", status=0)
    receiver.calls += [
        in_flight,
        _call("evt_b", "req_b", "message.failed", status=500),  # refused: not told
        _call("evt_c", "req_c", "message.sent"),  # told, but not an end
    ]
    assert announced.update().terminal_ids == set()

    in_flight.status = 204  # the receiver answered after the last check
    receiver.calls += [
        _call("evt_a", "req_a", "message.delivered"),  # a redelivery: same webhook-id
        _call("evt_d", "req_a", "message.delivered"),  # a second event for the same end
    ]
    announced.update()

    assert announced.terminal_ids == {"req_a"}
    assert announced.per_type == {("req_a", "message.delivered"): 2, ("req_c", "message.sent"): 1}
