"""Webhook delivery end to end: a real hub, real relays, a real local HTTP receiver.

Every delivery is verified with the ``standardwebhooks`` package from PyPI.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from hub.clock import ManualClock
from tests.e2e.conftest import delivered_ids, hub_config, serve_hub
from tests.e2e.receiver import Call, Receiver, serve_receiver
from tests.e2e.webhook_log import add_endpoint, deliveries, settled

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)


def webhooks(**values: Any) -> dict[str, Any]:
    return {"allow_private_targets": True, **values}


def verify(secret: str, call: Call) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(secret).verify(call.body, call.headers)
    return payload


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serve_receiver() as r:
        yield r


async def test_a_delivered_message_reaches_the_receiver_as_signed_sent_and_delivered_events(
    tmp_path: Path, receiver: Receiver
) -> None:
    # One attempt at a time, so the two events arrive in the order they were
    # made; with several at once (the default 4) the order is not promised
    # (docs/webhooks.md, "No ordering"), and on PostgreSQL it showed.
    config = hub_config(tmp_path / "data", webhooks=webhooks(concurrency_per_endpoint=1))
    async with serve_hub(config) as hub:
        endpoint = await add_endpoint(hub, receiver.url)
        await hub.relay("A")
        request_id = await hub.send(text="Salom")

        await receiver.wait_until(lambda: len(receiver.events("message.delivered")) == 1)

    types = [c.event["type"] for c in receiver.calls]
    assert types.index("message.sent") < types.index("message.delivered")
    for call in receiver.calls:
        payload = verify(endpoint["secret"], call)
        assert call.headers["content-type"] == "application/json"
        assert call.webhook_id.startswith("evt_")
        assert set(payload) == {"type", "timestamp", "data"}
    sent, delivered = receiver.events("message.sent")[0], receiver.events("message.delivered")[0]
    assert sent["data"]["request_id"] == delivered["data"]["request_id"] == request_id
    assert delivered["data"]["status"] == "delivered"
    assert delivered["data"]["to"] == "+998901234567"
    assert delivered["data"]["error"] is None
    assert delivered["data"]["device_id"].startswith("dev_")


async def test_a_receiver_failing_the_first_three_tries_acknowledges_each_event_exactly_once(
    tmp_path: Path,
) -> None:
    tries: Counter[str] = Counter()

    async def fail_three_times(call: Call) -> tuple[int, dict[str, str]]:
        tries[call.webhook_id] += 1
        return (500, {}) if tries[call.webhook_id] <= 3 else (200, {})

    config = hub_config(tmp_path / "data", webhooks=webhooks(retry_schedule_s=[0, 0, 0, 0, 0]))
    async with (
        serve_receiver(answer=fail_three_times) as receiver,
        serve_hub(config) as hub,
    ):
        endpoint = await add_endpoint(hub, receiver.url, events=["message.delivered"])
        await hub.relay("A")
        for n in range(5):
            await hub.send(text=f"message {n}")

        await receiver.wait_until(lambda: len(receiver.succeeded()) == 5)
        log = await settled(hub, lambda d: d["status"] == "succeeded")

    assert list(receiver.succeeded().values()) == [1] * 5
    assert all(n == 4 for n in tries.values())
    assert {verify(endpoint["secret"], c)["type"] for c in receiver.calls} == {"message.delivered"}
    assert len(log) == 5
    for delivery in log:
        assert delivery["status"] == "succeeded"
        assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 500, 200]
        assert [a["n"] for a in delivery["attempts"]] == [1, 2, 3, 4]
        assert delivery["attempts"][-1]["response_excerpt"] == "ok"


async def test_a_slow_receiver_is_timed_out_and_the_event_retried(tmp_path: Path) -> None:
    release = asyncio.Event()
    first: set[str] = set()

    async def hang_first_time(call: Call) -> tuple[int, dict[str, str]]:
        if call.webhook_id not in first:
            first.add(call.webhook_id)
            await release.wait()  # never set while the hub waits: it must give up
        return 200, {}

    config = hub_config(
        tmp_path / "data", webhooks=webhooks(timeout_s=0.3, retry_schedule_s=[0, 0])
    )
    async with (
        serve_receiver(answer=hang_first_time) as receiver,
        serve_hub(config) as hub,
    ):
        await add_endpoint(hub, receiver.url, events=["message.sent"])
        await hub.relay("A")
        await hub.send()

        await receiver.wait_until(lambda: len(receiver.succeeded()) == 1)
        (delivery,) = await settled(hub, lambda d: d["status"] == "succeeded")
        release.set()

    first_try, second_try = delivery["attempts"]
    assert first_try["status_code"] is None
    assert first_try["error"] == "no answer within 0.3 s"
    assert 300 <= first_try["latency_ms"] < 3000
    assert second_try["status_code"] == 200
    assert delivery["status"] == "succeeded"


async def test_a_failed_attempt_is_retried_on_the_schedule_with_jitter(tmp_path: Path) -> None:
    answers = iter([500, 200])

    async def fail_once(call: Call) -> tuple[int, dict[str, str]]:
        return next(answers), {}

    clock = ManualClock()
    config = hub_config(tmp_path / "data", webhooks=webhooks(retry_schedule_s=[0, 300]))
    async with serve_receiver(answer=fail_once) as receiver, serve_hub(config, clock) as hub:
        await add_endpoint(hub, receiver.url, events=["message.sent"])
        await hub.relay("A")
        await hub.send()
        await receiver.wait_until(lambda: [c.status for c in receiver.calls] == [500])
        (delivery,) = await settled(hub, lambda d: d["attempt_count"] == 1)

        due = datetime.fromisoformat(delivery["next_attempt_at"])
        tried = datetime.fromisoformat(delivery["attempts"][0]["at"])
        assert 240 <= (due - tried).total_seconds() <= 360  # 300 s ± 20 %
        assert delivery["status"] == "pending"

        clock.advance(361)
        await receiver.wait_until(lambda: [c.status for c in receiver.calls] == [500, 200])


async def test_retry_after_from_a_503_pushes_the_next_attempt_back(tmp_path: Path) -> None:
    async def busy(call: Call) -> tuple[int, dict[str, str]]:
        return 503, {"Retry-After": "3600"}

    clock = ManualClock()
    config = hub_config(tmp_path / "data", webhooks=webhooks(retry_schedule_s=[0, 5]))
    async with serve_receiver(answer=busy) as receiver, serve_hub(config, clock) as hub:
        await add_endpoint(hub, receiver.url, events=["message.sent"])
        await hub.relay("A")
        await hub.send()
        (delivery,) = await settled(hub, lambda d: d["attempt_count"] == 1)

    due = datetime.fromisoformat(delivery["next_attempt_at"])
    tried = datetime.fromisoformat(delivery["attempts"][0]["at"])
    assert (due - tried).total_seconds() >= 3600
    assert len(receiver.calls) == 1


async def test_a_410_disables_the_endpoint_and_its_owner_can_enable_it_again(
    tmp_path: Path,
) -> None:
    answers = iter([410])

    async def gone_once(call: Call) -> tuple[int, dict[str, str]]:
        return next(answers, 204), {}

    config = hub_config(tmp_path / "data", webhooks=webhooks(retry_schedule_s=[0, 0, 0]))
    async with serve_receiver(answer=gone_once) as receiver, serve_hub(config) as hub:
        endpoint = await add_endpoint(hub, receiver.url, events=["message.sent"])
        await hub.relay("A")
        await hub.send()
        (failed,) = await settled(hub, lambda d: d["status"] == "failed")
        disabled = (await hub.get(f"/api/v1/webhooks/{endpoint['id']}")).json()
        assert disabled["enabled"] is False
        assert disabled["disabled_reason"].startswith("the receiver answered 410 Gone")
        assert [a["status_code"] for a in failed["attempts"]] == [410]

        enable = await hub.client.patch(
            f"{hub.base_url}/api/v1/webhooks/{endpoint['id']}",
            json={"enabled": True},
            headers={"Authorization": "Bearer rh_e2e_admin_token_0123456789abcdef"},
        )
        assert enable.status_code == 200
        assert enable.json()["disabled_reason"] is None
        await hub.send(text="after")
        await receiver.wait_until(lambda: len(receiver.succeeded()) == 1)


async def test_a_delivery_is_given_up_when_the_schedule_ends(tmp_path: Path) -> None:
    async def always_fail(call: Call) -> tuple[int, dict[str, str]]:
        return 500, {}

    config = hub_config(tmp_path / "data", webhooks=webhooks(retry_schedule_s=[0, 0, 0]))
    async with serve_receiver(answer=always_fail) as receiver, serve_hub(config) as hub:
        await add_endpoint(hub, receiver.url, events=["message.sent"])
        await hub.relay("A")
        await hub.send()
        (delivery,) = await settled(hub, lambda d: d["status"] == "failed")

    assert delivery["attempt_count"] == 3
    assert delivery["next_attempt_at"] is None
    assert len(receiver.calls) == 3


async def test_the_attempts_log_filters_by_endpoint_event_type_and_status(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with serve_hub(hub_config(tmp_path / "data", webhooks=webhooks())) as hub:
        first = await add_endpoint(hub, receiver.url, events=["message.sent"])
        second = await add_endpoint(hub, receiver.url, events=["message.sent", "device.online"])
        await hub.relay("A")
        await hub.send()
        # device.online may be acknowledged before the message is sent: wait for all three.
        everything = await settled(hub, lambda d: d["status"] == "succeeded", count=3)

        by_endpoint = await deliveries(hub, f"?endpoint_id={first['id']}")
        by_type = await deliveries(hub, "?event_type=device.online")
        pending = await deliveries(hub, "?status=pending")
        page_one = (await hub.get("/api/v1/webhooks/deliveries?limit=2")).json()
        page_two = await deliveries(hub, f"?limit=2&cursor={page_one['next_cursor']}")
        bad = await hub.get("/api/v1/webhooks/deliveries?status=lost&event_type=x")

    assert len(everything) == 3  # message.sent to both endpoints, device.online to one
    assert [d["endpoint_id"] for d in by_endpoint] == [first["id"]]
    assert [(d["endpoint_id"], d["event_type"]) for d in by_type] == [
        (second["id"], "device.online")
    ]
    assert pending == []
    assert [d["id"] for d in page_one["items"] + page_two] == [d["id"] for d in everything]
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"status", "event_type"}


async def test_redeliver_sends_the_same_event_again_with_the_same_webhook_id(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with serve_hub(hub_config(tmp_path / "data", webhooks=webhooks())) as hub:
        endpoint = await add_endpoint(hub, receiver.url, events=["message.sent"])
        await hub.relay("A")
        await hub.send()
        (original,) = await settled(hub, lambda d: d["status"] == "succeeded")

        response = await hub.post(f"/api/v1/webhooks/deliveries/{original['id']}/redeliver", {})
        assert response.status_code == 202, response.text
        again = response.json()
        await receiver.wait_until(
            lambda: len(receiver.succeeded()) == 1 and len(receiver.calls) == 2
        )
        detail = (await hub.get(f"/api/v1/webhooks/deliveries/{original['id']}")).json()
        missing = await hub.post("/api/v1/webhooks/deliveries/dlv_NOPE/redeliver", {})

    assert again["redelivery_of"] == original["id"]
    assert again["id"] != original["id"]
    assert again["status"] == "pending"
    assert receiver.calls[0].webhook_id == receiver.calls[1].webhook_id == original["event_id"]
    for call in receiver.calls:
        verify(endpoint["secret"], call)
    assert detail["event"]["type"] == "message.sent"
    assert detail["event"] == receiver.calls[0].event
    assert missing.status_code == 404


async def test_another_account_sees_none_of_the_deliveries(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with serve_hub(hub_config(tmp_path / "data", webhooks=webhooks())) as hub:
        await add_endpoint(hub, receiver.url, events=["message.sent"])
        await hub.relay("A")
        await hub.send()
        (delivery,) = await settled(hub, lambda d: d["status"] == "succeeded")
        other = (await hub.post("/api/v1/admin/accounts", {"name": "Other"})).json()["token"]

        listed = await hub.get("/api/v1/webhooks/deliveries", token=other)
        one = await hub.get(f"/api/v1/webhooks/deliveries/{delivery['id']}", token=other)
        again = await hub.post(
            f"/api/v1/webhooks/deliveries/{delivery['id']}/redeliver", {}, token=other
        )

    assert listed.json()["items"] == []
    assert one.status_code == 404
    assert again.status_code == 404
    assert len(receiver.calls) == 1


async def test_an_endpoint_hears_only_events_after_it_was_created(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with serve_hub(hub_config(tmp_path / "data", webhooks=webhooks())) as hub:
        relay = await hub.relay("A")
        await hub.send(text="before")
        await relay.wait_until(lambda: len(delivered_ids(relay)) == 1)
        await hub.hub.store.write(lambda conn: None)  # its events are stored
        await add_endpoint(hub, receiver.url, events=["message.delivered"])
        later = await hub.send(text="after")
        await receiver.wait_until(lambda: len(receiver.calls) >= 1)
        await settled(hub, lambda d: d["status"] == "succeeded")

    assert [e["data"]["request_id"] for e in receiver.events()] == [later]


async def test_every_delivery_of_an_event_is_sent_when_a_read_page_ends_inside_it(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hub.webhooks.sender.TAKE_BATCH", 2)  # 3 endpoints: 3 rows an event
    async with serve_hub(hub_config(tmp_path / "data", webhooks=webhooks())) as hub:
        for _ in range(3):
            await add_endpoint(hub, receiver.url, events=["message.sent", "message.delivered"])
        await hub.relay("A")
        await hub.send()
        log = await settled(hub, lambda d: d["status"] == "succeeded")

    assert len(log) == 6
    assert sorted(receiver.succeeded().values()) == [3, 3]  # each event, once per endpoint


async def test_a_finished_delivery_queued_again_is_not_sent_again(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with serve_hub(hub_config(tmp_path / "data", webhooks=webhooks())) as hub:
        await add_endpoint(hub, receiver.url, events=["message.sent"])
        await hub.relay("A")
        await hub.send()
        (done,) = await settled(hub, lambda d: d["status"] == "succeeded")
        # A stale copy, as a reload racing the attempt that finished it would read.
        stale = {**done, "status": "pending", "attempt_count": 0,
                 "next_attempt_at": done["created_at"]}  # fmt: skip
        hub.hub.webhook_sender.add(stale)  # type: ignore[arg-type]
        await hub.send(text="a later one")  # its delivery goes after the stale copy's turn
        await receiver.wait_until(lambda: len(receiver.calls) == 2)
        await settled(hub, lambda d: d["status"] == "succeeded")

    assert list(receiver.succeeded().values()) == [1, 1]


async def test_an_endpoint_disabled_and_enabled_again_gets_new_events(
    tmp_path: Path, receiver: Receiver
) -> None:
    async with serve_hub(hub_config(tmp_path / "data", webhooks=webhooks())) as hub:
        endpoint = await add_endpoint(hub, receiver.url, events=["message.sent"])
        await hub.relay("A")
        for enabled in (False, True):
            response = await hub.client.patch(
                f"{hub.base_url}/api/v1/webhooks/{endpoint['id']}",
                json={"enabled": enabled},
                headers={"Authorization": "Bearer rh_e2e_admin_token_0123456789abcdef"},
            )
            assert response.status_code == 200
        request_id = await hub.send()
        await receiver.wait_until(lambda: len(receiver.succeeded()) == 1)

    assert receiver.events()[0]["data"]["request_id"] == request_id
