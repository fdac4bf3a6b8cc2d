"""Idempotency-Key on /v1/sms/send: a retry gets the first answer, never a second SMS."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import httpx
import pytest

from hub.clock import ManualClock
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, delivered_ids, hub_config, serve_hub
from tests.e2e.test_api_errors import assert_problem

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

SEND = "/api/v1/sms/send"
BODY = {"to": "+998901234567", "text": "order 1001 is ready"}


async def send_with_key(hub: RunningHub, key: str, body: object = BODY) -> httpx.Response:
    return await hub.client.post(
        hub.base_url + SEND,
        json=body,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Idempotency-Key": key},
    )


async def test_retry_with_the_same_key_gets_the_first_answer_and_one_sms(
    hub_server: RunningHub,
) -> None:
    relay = await hub_server.relay("Phone")

    first = await send_with_key(hub_server, "order-1001")
    again = await send_with_key(hub_server, "order-1001")
    reordered = await send_with_key(hub_server, "order-1001", dict(reversed(BODY.items())))

    assert first.status_code == again.status_code == reordered.status_code == 202
    assert first.json() == again.json() == reordered.json()
    assert again.headers["idempotent-replayed"] == "true"
    request_id = first.json()["request_id"]
    await relay.wait_until(lambda: request_id in delivered_ids(relay))
    listed = (await hub_server.get("/api/v1/messages")).json()["items"]
    assert [m["request_id"] for m in listed] == [request_id]
    assert relay.sms_sent[request_id] == 1


async def test_same_key_with_another_body_is_a_422_conflict(hub_server: RunningHub) -> None:
    await hub_server.pair("Phone")
    assert (await send_with_key(hub_server, "k-1")).status_code == 202

    other = await send_with_key(hub_server, "k-1", {**BODY, "text": "something else"})

    assert_problem(other, 422, "idempotency_conflict")


async def test_same_key_while_the_first_is_in_flight_is_a_409(hub_server: RunningHub) -> None:
    await hub_server.pair("Phone")
    # Hold the writer so the first request waits for its commit.
    entered, release = threading.Event(), threading.Event()

    def hold(conn: sqlite3.Connection) -> None:
        entered.set()
        release.wait(10)

    held = hub_server.hub.store.submit(hold)
    assert await asyncio.to_thread(entered.wait, 10)
    both = {asyncio.create_task(send_with_key(hub_server, "k-2")) for _ in range(2)}

    # Whichever claims the key first waits for the held writer; the other is
    # answered at once.
    done, waiting = await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
    release.set()
    await held
    (answered,) = done
    (queued,) = waiting

    refused = answered.result()
    assert_problem(refused, 409, "idempotency_conflict")
    assert refused.headers["retry-after"] == "1"
    assert (await queued).status_code == 202


async def test_key_is_checked_for_shape(hub_server: RunningHub) -> None:
    await hub_server.pair("Phone")
    bad = await send_with_key(hub_server, "has space")
    problem = assert_problem(bad, 422, "validation_error")
    assert problem["errors"][0]["field"] == "Idempotency-Key"


async def test_keys_older_than_a_day_are_forgotten(tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    async with serve_hub(hub_config(tmp_path), clock) as running:
        await running.pair("Phone")
        first = await send_with_key(running, "daily-report")

        swept = asyncio.create_task(running.hub.swept())
        clock.advance(25 * 3600)  # past the 24 h window and the hourly prune
        await swept
        await running.hub.store.write(lambda conn: None)  # the prune landed

        rows = await running.hub.store.fetchall("SELECT key FROM idempotency_keys")
        assert rows == []
        again = await send_with_key(running, "daily-report")
        assert again.json()["request_id"] != first.json()["request_id"]
