"""One relay's frames cost at most its own socket (issue 16, findings 1, 7 and 8).

Each test first does what an attacker did against the hub: a phone of account B
sends a frame with an integer or time storage cannot hold, a phone of one
account claims a message given to another phone, a phone puts a line break in
an id to forge a log line. Account A's healthy relay (relay_sim) must keep its
socket, the hub must never fence (close every relay to reload from storage),
and A's messages still go out.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from protocol import frames as f
from relay_sim.pairing import pair_device
from tests.e2e import raw_relay
from tests.e2e.conftest import RunningHub, delivered_ids

FENCE_LOG = "reloading state from storage"
AT = "2024-05-01T10:00:00Z"


async def closed_with(ws: ClientConnection) -> tuple[int | None, str | None]:
    """Read until the hub closes the socket; its close code and reason."""
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(10):
            while True:
                await ws.recv()
    return ws.close_code, ws.close_reason


async def b_socket(hub: RunningHub, name: str = "Hostile") -> ClientConnection:
    """A raw, welcomed relay socket of a phone paired in a second account, B."""
    created = await hub.post("/api/v1/admin/accounts", {"name": f"Bravo {name}"})
    assert created.status_code == 201, created.text
    device = await pair_device(hub.client, hub.base_url, created.json()["token"], name)
    ws = await hub.open_socket(device.device_token)
    await raw_relay.hello(ws)
    return ws


def fences(caplog: pytest.LogCaptureFixture) -> int:
    return sum(FENCE_LOG in record.getMessage() for record in caplog.records)


def report(kind: str, **fields: Any) -> str:
    """A report frame as JSON text, with any value (msgspec would check none here)."""
    base: dict[str, Any] = {
        "sent": {"seq": 1, "id": "req_unknown", "at": AT, "parts": 1, "sim_slot": 0},
        "delivered": {"seq": 1, "id": "req_unknown", "at": AT},
        "failed": {"seq": 1, "id": "req_unknown", "at": AT, "code": "x", "message": "",
                   "retryable": False},
        "received": {"seq": 1, "from": "+998901234567", "text": "hi", "at": AT, "sim_slot": 0},
        "heartbeat": {"battery": 50, "charging": True, "signal": 3, "network": "lte",
                      "queue": 0},
    }[kind]  # fmt: skip
    return json.dumps({"type": kind, **base, **fields})


# Values a phone sent that decoded, then could not be stored or converted: the
# write (or the time's conversion) failed and the hub fenced, closing every
# relay of every account with 1011.
OUT_OF_RANGE = [
    pytest.param(report("received", seq=2**63), id="seq_2_63"),
    pytest.param(report("received", seq=2**63 - 1), id="seq_2_63_minus_1"),
    pytest.param(report("received", seq=2**53), id="seq_past_json_safe"),
    pytest.param(report("delivered", seq=2**64 + 5), id="seq_2_64"),
    pytest.param(report("failed", android_result=2**63), id="android_result_2_63"),
    pytest.param(report("heartbeat", queue=2**63), id="heartbeat_queue_2_63"),
    pytest.param(report("received", at="9999-12-31T23:00:00-14:00"), id="at_past_year_9999"),
    pytest.param(report("received", at="0001-01-01T00:00:00+14:00"), id="at_before_year_1"),
]


@pytest.mark.parametrize("frame", OUT_OF_RANGE)
async def test_hub_closes_only_the_socket_whose_frame_holds_a_value_out_of_range(
    hub_server: RunningHub, caplog: pytest.LogCaptureFixture, frame: str
) -> None:
    caplog.set_level(logging.WARNING)
    healthy = await hub_server.relay("Alpha phone")
    ws = await b_socket(hub_server)

    await ws.send(frame)

    code, reason = await closed_with(ws)
    assert code == 1007, reason
    request_id = await hub_server.send(text="after the hostile frame")
    await healthy.wait_until(lambda: request_id in delivered_ids(healthy))
    assert healthy.close_codes == []  # A's relay never lost its socket
    assert fences(caplog) == 0


async def test_device_keeps_reporting_after_its_out_of_range_seq_was_refused(
    hub_server: RunningHub,
) -> None:
    # Regression: seq 2^63-1 was stored as the device's last seq, so every later
    # report of that device was taken for a repeat and dropped.
    device = await hub_server.pair("Own foot")
    ws = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(ws)
    await ws.send(report("received", seq=2**63 - 1, text="too far"))
    code, _ = await closed_with(ws)
    assert code == 1007

    ws = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(ws)
    await ws.send(report("received", seq=1, text="kept"))

    receipt = await raw_relay.next_frame(ws)
    assert receipt == f.Receipt(seq=1)
    rows = await hub_server.hub.store.fetchall(
        "SELECT text FROM inbound_messages WHERE device_id = ?", (device.device_id,)
    )
    assert [row["text"] for row in rows] == ["kept"]


# --- finding 7: a report implies `accepted` only from the device it was given to --


async def test_phone_cannot_claim_a_message_pinned_to_another_phone_that_never_got_it(
    hub_server: RunningHub,
) -> None:
    owner = await hub_server.pair("Owner")  # never connects: the message waits for it
    claimer = await hub_server.pair("Claimer")
    ws = await hub_server.open_socket(claimer.device_token)
    await raw_relay.hello(ws)
    request_id = await hub_server.send(text="for the owner", device_id=owner.device_id)

    await ws.send(f.encode(f.Accepted(id=request_id)).decode())
    await ws.send(report("delivered", seq=1, id=request_id))

    assert await raw_relay.next_frame(ws) == f.Receipt(seq=1)  # receipted, as unknown ids are
    status = await hub_server.status(request_id)
    assert status["status"] == "queued"
    assert status["attempts"] == 0
    assert status.get("device_id") in (None, owner.device_id)


async def test_phone_cannot_take_over_a_message_dispatched_to_another_phone(
    hub_server: RunningHub,
) -> None:
    holder = await hub_server.pair("Holder")
    holder_ws = await hub_server.open_socket(holder.device_token)
    await raw_relay.hello(holder_ws)
    request_id = await hub_server.send(text="for the holder", device_id=holder.device_id)
    assert (await raw_relay.next_job(holder_ws)).id == request_id
    claimer = await hub_server.pair("Claimer")
    ws = await hub_server.open_socket(claimer.device_token)
    await raw_relay.hello(ws)

    await ws.send(report("sent", seq=1, id=request_id))

    assert await raw_relay.next_frame(ws) == f.Receipt(seq=1)
    status = await hub_server.status(request_id)
    assert status["status"] == "dispatched"
    assert status["device_id"] == holder.device_id
    # The holder still owns it: its own answer counts, and no cancel came.
    await holder_ws.send(f.encode(f.Accepted(id=request_id)).decode())
    await holder_ws.send(report("delivered", seq=1, id=request_id))
    assert await raw_relay.next_frame(holder_ws) == f.Receipt(seq=1)
    assert (await hub_server.status(request_id))["status"] == "delivered"


# --- finding 8: a relay cannot forge log lines ------------------------------------

# Short enough for the 64-character limit ids always had.
FORGED = 'r\nINFO:     127.0.0.1:1 - "GET /api HTTP/1.1" 200'


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(json.dumps({"type": "accepted", "id": FORGED}), id="accepted"),
        pytest.param(report("delivered", id=FORGED), id="delivered"),
        pytest.param(report("failed", code="x\ny"), id="failed_code"),
    ],
)
async def test_relay_cannot_put_a_line_break_in_a_hub_log_line(
    hub_server: RunningHub, caplog: pytest.LogCaptureFixture, frame: str
) -> None:
    caplog.set_level(logging.DEBUG)
    device = await hub_server.pair("Forger")
    ws = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(ws)

    await ws.send(frame)

    code, _ = await closed_with(ws)
    assert code == 1007  # an id or code must match the documented pattern
    assert not [
        r for r in caplog.records if "\n" in r.getMessage() and "GET /api" in r.getMessage()
    ]


async def test_hub_logs_an_unknown_id_from_a_relay_quoted(
    hub_server: RunningHub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    device = await hub_server.pair("Quoted")
    ws = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(ws)

    await ws.send(report("delivered", id="req_nobody_knows"))

    assert await raw_relay.next_frame(ws) == f.Receipt(seq=1)
    lines = [r.getMessage() for r in caplog.records if "req_nobody_knows" in r.getMessage()]
    assert lines and all("'req_nobody_knows'" in line for line in lines)
