"""``POST /api/v1/messages/{id}/cancel`` end to end: each state's answer, the
``cancel`` frame reaching a real relay, the relay's report ending it, too late,
another account's id, and a SIGKILL right after the 200."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from protocol import frames as f
from relay_sim.pairing import pair_device
from relay_sim.profiles import PROFILES, Profile
from relay_sim.relay import SimRelay
from tests.e2e import raw_relay
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, delivered_ids
from tests.e2e.hub_process import HubProcess, free_port
from tests.e2e.stored import stored_rows
from tests.e2e.test_lifecycle_events import events
from tests.e2e.test_security_never_twice import status_becomes

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

# Accepts at once, then holds the job (a phone still waiting for its radio).
HOLDING = Profile("holding", send_latency_s=(86_400, 86_400))


async def cancel(hub: RunningHub, request_id: str, token: str = ADMIN_TOKEN) -> httpx.Response:
    return await hub.post(f"/api/v1/messages/{request_id}/cancel", {}, token=token)


def failed_ids(relay: SimRelay) -> set[str]:
    return {r.id for r in relay.reports if isinstance(r, f.Failed)}


async def test_a_queued_message_is_cancelled_at_once_and_never_reaches_a_relay(
    hub_server: RunningHub,
) -> None:
    device = await hub_server.pair("Late")
    request_id = await hub_server.send(text="no phone is online yet")

    answer = await cancel(hub_server, request_id)
    again = await cancel(hub_server, request_id)
    relay = await hub_server.relay("Late", device=device)
    after = await hub_server.send(text="after the cancel")
    await relay.wait_until(lambda: after in delivered_ids(relay))

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"ok": True, "request_id": request_id, "status": "cancelled"}
    assert again.status_code == 409
    assert again.json()["code"] == "not_cancellable"
    assert again.json()["message_status"] == "cancelled"
    assert [job.id for job in relay.jobs_received] == [after]
    status = await hub_server.status(request_id)
    assert status["status"] == "cancelled"
    assert [h["cause"] for h in status["history"]][-1] == "api"
    (event,) = await events(hub_server, "message.cancelled")
    assert event["data"]["request_id"] == request_id
    assert await events(hub_server, "message.failed") == []


async def test_a_dispatched_job_is_cancelled_at_once_and_its_relay_gets_the_cancel_frame(
    hub_server: RunningHub,
) -> None:
    relay = await hub_server.relay("Stalled", PROFILES["stalled"])  # never answers on its own
    request_id = await hub_server.send(text="dispatched, not accepted")
    await relay.wait_until(lambda: [j.id for j in relay.jobs_received] == [request_id])

    answer = await cancel(hub_server, request_id)
    # relay_sim turns down a job it had not accepted when told to cancel it.
    await relay.wait_until(lambda: [r.id for r in relay.rejections] == [request_id])

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "cancelled"
    assert relay.rejections[0].code == "cancelled"
    assert relay.sms_sent == Counter()
    assert (await hub_server.status(request_id))["status"] == "cancelled"
    assert len(await events(hub_server, "message.cancelled")) == 1


async def test_an_accepted_job_is_cancelling_until_the_relay_reports_it_cancelled(
    hub_server: RunningHub,
) -> None:
    relay = await hub_server.relay("Holding", HOLDING)
    request_id = await hub_server.send(text="accepted, not yet sent")
    await relay.wait_until(
        lambda: (
            request_id in relay.ledger.jobs and relay.ledger.jobs[request_id].status == "accepted"
        )
    )
    await status_becomes(hub_server, request_id, "accepted")  # no receipt for an accept

    answer = await cancel(hub_server, request_id)
    await relay.wait_until(lambda: request_id in failed_ids(relay) and relay.outbox_size == 0)

    assert answer.status_code == 202, answer.text
    assert answer.json() == {"ok": True, "request_id": request_id, "status": "cancelling"}
    assert relay.sms_sent == Counter()
    status = await hub_server.status(request_id)
    assert status["status"] == "cancelled"
    causes = [(h["state"], h["cause"]) for h in status["history"]]
    assert ("accepted", "cancel_asked") in causes
    assert causes[-1] == ("cancelled", "relay_cancelled")
    (event,) = await events(hub_server, "message.cancelled")
    assert event["data"]["status"] == "cancelled"


async def test_a_cancel_that_comes_too_late_ends_sent(hub_server: RunningHub) -> None:
    device = await hub_server.pair("Raw")
    ws = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(ws)
    request_id = await hub_server.send(text="on its way to the carrier")
    job = await raw_relay.next_job(ws)
    await ws.send(f.encode(f.Accepted(id=job.id)).decode())
    await status_becomes(hub_server, request_id, "accepted")

    answer = await cancel(hub_server, request_id)
    told = await raw_relay.next_frame(ws)
    # The carrier had it already: the phone reports it sent.
    await ws.send(
        f.encode(f.Sent(seq=1, id=job.id, at=raw_relay.now(), parts=1, sim_slot=0)).decode()
    )
    receipt = await raw_relay.next_frame(ws)
    again = await cancel(hub_server, request_id)

    assert answer.status_code == 202, answer.text
    assert told == f.Cancel(id=request_id)
    assert isinstance(receipt, f.Receipt)
    assert (await hub_server.status(request_id))["status"] == "sent"
    assert again.status_code == 409
    body = again.json()
    assert (body["code"], body["message_status"]) == ("not_cancellable", "sent")
    assert "reached the carrier" in body["detail"]
    assert await events(hub_server, "message.cancelled") == []


async def test_a_relay_offline_when_asked_gets_the_cancel_when_it_says_hello_again(
    hub_server: RunningHub,
) -> None:
    device = await hub_server.pair("Raw")
    ws = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(ws)
    request_id = await hub_server.send(text="accepted, then the phone went away")
    await raw_relay.next_job(ws)
    await ws.send(f.encode(f.Accepted(id=request_id)).decode())
    await status_becomes(hub_server, request_id, "accepted")
    await ws.close()

    answer = await cancel(hub_server, request_id)
    again = await cancel(hub_server, request_id)  # the same answer; asked once
    back = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(back)
    async with asyncio.timeout(10):
        told = await raw_relay.next_frame(back)

    assert answer.status_code == again.status_code == 202, answer.text
    assert answer.json() == again.json()
    assert told == f.Cancel(id=request_id)
    status = await hub_server.status(request_id)
    assert status["status"] == "accepted"  # until the relay reports
    assert [h["cause"] for h in status["history"]].count("cancel_asked") == 1


async def test_a_late_accept_after_the_cancel_is_told_to_cancel_again(
    hub_server: RunningHub,
) -> None:
    device = await hub_server.pair("Raw")
    ws = await hub_server.open_socket(device.device_token)
    await raw_relay.hello(ws)
    request_id = await hub_server.send(text="cancel races the accept")
    await raw_relay.next_job(ws)

    answer = await cancel(hub_server, request_id)
    first = await raw_relay.next_frame(ws)
    await ws.send(f.encode(f.Accepted(id=request_id)).decode())  # sent before it read the cancel
    second = await raw_relay.next_frame(ws)

    assert answer.status_code == 200, answer.text
    assert first == second == f.Cancel(id=request_id)
    status = await hub_server.status(request_id)
    assert status["status"] == "cancelled"
    assert "accepted" not in [h["state"] for h in status["history"]]


async def test_a_delivered_message_is_not_cancellable(hub_server: RunningHub) -> None:
    relay = await hub_server.relay("Ideal")
    request_id = await hub_server.send(text="done already")
    await relay.wait_until(lambda: request_id in delivered_ids(relay) and relay.outbox_size == 0)

    answer = await cancel(hub_server, request_id)

    assert answer.status_code == 409
    body = answer.json()
    assert body["ok"] is False
    assert (body["code"], body["message_id"], body["message_status"]) == (
        "not_cancellable",
        request_id,
        "delivered",
    )
    assert "GET /api/v1/messages/status" in body["detail"]  # where to look
    assert (await hub_server.status(request_id))["status"] == "delivered"


async def test_another_accounts_message_answers_exactly_like_an_unknown_id(
    hub_server: RunningHub,
) -> None:
    other = await hub_server.post("/api/v1/admin/accounts", {"name": "Other"})
    assert other.status_code == 201, other.text
    await hub_server.pair("Offline")
    request_id = await hub_server.send(text="mine, not theirs")

    theirs = await cancel(hub_server, request_id, token=other.json()["token"])
    unknown = await cancel(hub_server, "req_does_not_exist", token=other.json()["token"])

    assert theirs.status_code == unknown.status_code == 404
    assert _without_ids(theirs.json(), request_id) == _without_ids(unknown.json())
    assert (await hub_server.status(request_id))["status"] == "queued"


async def test_a_cancel_needs_the_send_scope(hub_server: RunningHub) -> None:
    made = await hub_server.post("/api/v1/tokens", {"name": "reader", "scopes": ["messages.read"]})
    await hub_server.pair("Offline")
    request_id = await hub_server.send(text="read-only token")

    answer = await cancel(hub_server, request_id, token=made.json()["token"])

    assert answer.status_code == 403
    assert (await hub_server.status(request_id))["status"] == "queued"


async def test_a_hub_killed_right_after_the_200_never_sends_the_message(tmp_path: Path) -> None:
    data = tmp_path / "data"
    hub = HubProcess(data, free_port(), ADMIN_TOKEN)
    await hub.start()
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=hub.base_url, headers=auth, timeout=10) as client:
        try:
            raw = await pair_device(client, hub.base_url, ADMIN_TOKEN, "Raw")
            offline = await pair_device(client, hub.base_url, ADMIN_TOKEN, "Offline")
            ws = await raw_relay.open_socket(hub.base_url, raw.device_token)
            await raw_relay.hello(ws)
            dispatched = await _send(client, "dispatched", device_id=raw.device_id)
            await raw_relay.next_job(ws)
            queued = await _send(client, "queued", device_id=offline.device_id)

            answers = [await client.post(f"/api/v1/messages/{i}/cancel", json={})
                       for i in (dispatched, queued)]  # fmt: skip
            await hub.kill()
            await hub.start()

            # The raw relay accepted before it read the cancel: the restarted hub
            # turns that down; the other phone never gets the queued one.
            ws = await raw_relay.open_socket(hub.base_url, raw.device_token)
            await raw_relay.hello(ws)
            await ws.send(f.encode(f.Accepted(id=dispatched)).decode())
            told = await raw_relay.next_frame(ws)
            relay = SimRelay(offline)
            await relay.start()
            after = await _send(client, "after", device_id=offline.device_id)
            await relay.wait_until(lambda: after in delivered_ids(relay))
            await relay.stop()
            await ws.close()
        finally:
            await hub.stop()

    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert told == f.Cancel(id=dispatched)
    assert [job.id for job in relay.jobs_received] == [after]
    states = dict(stored_rows(data, "SELECT id, state FROM messages"))
    assert (states[dispatched], states[queued]) == ("cancelled", "cancelled")


async def _send(client: httpx.AsyncClient, text: str, **fields: Any) -> str:
    sent = await client.post(
        "/api/v1/sms/send", json={"to": "+998901234567", "text": text, **fields}
    )
    assert sent.status_code == 202, sent.text
    request_id: str = sent.json()["request_id"]
    return request_id


def _without_ids(body: dict[str, Any], asked: str = "req_does_not_exist") -> dict[str, Any]:
    """The body with the HTTP request's own id left out and the asked id named alike."""
    return {
        k: v.replace(asked, "<id>") if isinstance(v, str) else v
        for k, v in body.items()
        if k != "request_id"
    }
