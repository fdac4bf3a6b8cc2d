"""OTP end to end: codes sent through real relays (read from their ``send`` frames)
and verified over the REST API."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.clock import ManualClock
from relay_sim.relay import SimRelay
from tests.e2e import raw_relay
from tests.e2e.conftest import RunningHub, delivered_ids, hub_config, serve_hub

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

TO = "+998901234567"


async def send_otp(hub: RunningHub, **fields: Any) -> httpx.Response:
    return await hub.post("/api/v1/otp/send", {"to": TO, "purpose": "login", **fields})


async def sent_otp(hub: RunningHub, **fields: Any) -> dict[str, Any]:
    response = await send_otp(hub, **fields)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def verify(hub: RunningHub, otp_id: str, code: str) -> dict[str, Any]:
    response = await hub.post("/api/v1/otp/verify", {"otp_id": otp_id, "code": code})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def text_of(relay: SimRelay, request_id: str) -> str:
    """The SMS text the relay was handed for this message."""
    await relay.wait_until(lambda: any(j.id == request_id for j in relay.jobs_received))
    return next(j.text for j in relay.jobs_received if j.id == request_id)


async def code_of(relay: SimRelay, otp: dict[str, Any], length: int = 6) -> str:
    text = await text_of(relay, otp["request_id"])
    (code,) = set(re.findall(rf"\b\d{{{length}}}\b", text))  # the autofill line repeats it
    return code


def wrong(code: str) -> str:
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


async def sweep_after(hub: RunningHub, clock: ManualClock, seconds: float) -> None:
    swept = asyncio.create_task(hub.hub.swept())
    clock.advance(seconds)
    await swept


def no_limits(tmp_path: Path, **otp: Any) -> Any:
    return hub_config(tmp_path / "data", otp={"resend_cooldown_s": 0, "max_per_hour": 100, **otp})


async def test_a_code_read_from_the_relay_verifies_once(hub_server: RunningHub) -> None:
    relay = await hub_server.relay("A")
    otp = await sent_otp(hub_server)
    code = await code_of(relay, otp)

    first = await verify(hub_server, otp["otp_id"], code)
    again = await verify(hub_server, otp["otp_id"], code)
    await relay.wait_until(lambda: otp["request_id"] in delivered_ids(relay))
    status = await hub_server.status(otp["request_id"])

    assert set(otp) == {"ok", "otp_id", "status", "expires_in_seconds", "request_id", "waiting"}
    assert (otp["status"], otp["waiting"]) == ("sent", None)
    assert otp["expires_in_seconds"] == 300
    assert otp["otp_id"].startswith("otp_")
    assert first == {"ok": True, "otp_id": otp["otp_id"], "valid": True, "status": "verified",
                     "attempts_left": 5}  # fmt: skip
    assert again["status"] == "expired"
    assert again["reason"] == "used"
    assert status["kind"] == "otp"
    assert status["to"] == TO


async def test_wrong_codes_count_down_then_max_attempts_even_for_the_right_code(
    hub_server: RunningHub,
) -> None:
    relay = await hub_server.relay("A")
    otp = await sent_otp(hub_server)
    code = await code_of(relay, otp)

    answers = [await verify(hub_server, otp["otp_id"], wrong(code)) for _ in range(5)]
    right = await verify(hub_server, otp["otp_id"], code)

    assert [(a["status"], a["attempts_left"]) for a in answers] == [
        ("failed", 4), ("failed", 3), ("failed", 2), ("failed", 1), ("max_attempts", 0),
    ]  # fmt: skip
    assert right["status"] == "max_attempts"


async def test_a_code_expires_and_its_sms_expires_with_it(tmp_path: Path) -> None:
    clock = ManualClock()
    async with serve_hub(hub_config(tmp_path / "data"), clock) as hub:
        await hub.pair("Offline phone")
        otp = await sent_otp(hub, ttl_seconds=60)
        await sweep_after(hub, clock, 61)
        answer = await verify(hub, otp["otp_id"], "123456")
        status = await hub.status(otp["request_id"])

    assert otp["expires_in_seconds"] == 60
    assert (answer["status"], answer["reason"]) == ("expired", "timed_out")
    assert status["status"] == "expired"


async def test_a_new_code_supersedes_the_last_one_for_that_number_and_purpose(
    tmp_path: Path,
) -> None:
    async with serve_hub(no_limits(tmp_path)) as hub:
        relay = await hub.relay("A")
        old = await sent_otp(hub)
        new = await sent_otp(hub)
        other_purpose = await sent_otp(hub, purpose="payment")
        old_code, new_code = await code_of(relay, old), await code_of(relay, new)
        other_code = await code_of(relay, other_purpose)

        stale = await verify(hub, old["otp_id"], old_code)
        fresh = await verify(hub, new["otp_id"], new_code)
        untouched = await verify(hub, other_purpose["otp_id"], other_code)

    assert (stale["status"], stale["reason"]) == ("expired", "superseded")
    assert fresh["status"] == "verified"
    assert untouched["status"] == "verified"


async def test_a_resend_within_the_cooldown_is_rate_limited_with_retry_after(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    config = hub_config(tmp_path / "data", otp={"resend_cooldown_s": 30, "max_per_hour": 5})
    async with serve_hub(config, clock) as hub:
        await hub.relay("A")
        await sent_otp(hub)
        clock.advance(10)
        too_soon = await send_otp(hub)
        other_number = await send_otp(hub, to="+998935550101")
        clock.advance(20)
        later = await send_otp(hub)

    assert too_soon.status_code == 429
    assert too_soon.json()["code"] == "rate_limited"
    assert too_soon.headers["Retry-After"] == "20"
    assert other_number.status_code == 200
    assert later.status_code == 200


async def test_at_most_five_codes_an_hour_go_to_one_number_for_one_purpose(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    config = hub_config(tmp_path / "data", otp={"resend_cooldown_s": 30})
    async with serve_hub(config, clock) as hub:
        await hub.relay("A")
        for _ in range(5):
            await sent_otp(hub)
            clock.advance(60)
        sixth = await send_otp(hub)
        clock.advance(3600 - 5 * 60 + 1)  # the first of the five is an hour old
        after_an_hour = await send_otp(hub)

    assert sixth.status_code == 429
    assert sixth.headers["Retry-After"] == str(3600 - 5 * 60)
    assert "5 codes an hour" in sixth.json()["detail"]
    assert after_an_hour.status_code == 200


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        (None, "login uchun tasdiqlash kodi"),
        ("uz", "login uchun tasdiqlash kodi"),
        ("ru", "код"),
        ("en", "your login code is"),
    ],
)
async def test_each_locale_has_its_own_text(
    hub_server: RunningHub, locale: str | None, words: str
) -> None:
    relay = await hub_server.relay("A")
    fields = {"locale": locale} if locale else {}
    otp = await sent_otp(hub_server, **fields)
    text = await text_of(relay, otp["request_id"])

    assert words in text
    assert text.startswith("relayhub: ")
    assert "5 " in text  # minutes left


async def test_the_autofill_line_and_length_follow_settings_and_the_request(
    tmp_path: Path,
) -> None:
    config = hub_config(tmp_path / "data", otp={"autofill_domain": "shop.uz"})
    async with serve_hub(config) as hub:
        relay = await hub.relay("A")
        otp = await sent_otp(hub, length=8, locale="en")
        code = await code_of(relay, otp, length=8)
        text = await text_of(relay, otp["request_id"])

    assert text.endswith(f"\n\n@shop.uz #{code}")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"locale": "de"}, "locale"),
        ({"ttl_seconds": 29}, "ttl_seconds"),
        ({"ttl_seconds": 901}, "ttl_seconds"),
        ({"length": 3}, "length"),
        ({"length": 9}, "length"),
        ({"purpose": ""}, "purpose"),
        ({"to": "12"}, "to"),
    ],
)
async def test_bad_send_fields_are_a_validation_error_naming_the_field(
    hub_server: RunningHub, fields: dict[str, Any], field: str
) -> None:
    await hub_server.pair("A")
    response = await send_otp(hub_server, **fields)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_verify_of_an_unknown_or_another_accounts_otp_is_not_found(
    hub_server: RunningHub,
) -> None:
    relay = await hub_server.relay("A")
    otp = await sent_otp(hub_server)
    code = await code_of(relay, otp)
    other = (await hub_server.post("/api/v1/admin/accounts", {"name": "Other"})).json()["token"]

    unknown = await hub_server.post("/api/v1/otp/verify", {"otp_id": "otp_NOPE", "code": code})
    foreign = await hub_server.post(
        "/api/v1/otp/verify", {"otp_id": otp["otp_id"], "code": code}, token=other
    )
    malformed = await hub_server.post(
        "/api/v1/otp/verify", {"otp_id": otp["otp_id"], "code": "12ab"}
    )
    still = await verify(hub_server, otp["otp_id"], code)

    assert unknown.status_code == foreign.status_code == 404
    assert malformed.status_code == 422
    assert still["status"] == "verified"


async def test_every_verify_is_recorded_whatever_it_found(hub_server: RunningHub) -> None:
    relay = await hub_server.relay("A")
    otp = await sent_otp(hub_server)
    code = await code_of(relay, otp)

    await hub_server.post("/api/v1/otp/verify", {"otp_id": "otp_NOPE", "code": code})
    await verify(hub_server, otp["otp_id"], wrong(code))
    await verify(hub_server, otp["otp_id"], code)
    await verify(hub_server, otp["otp_id"], code)
    rows = await hub_server.hub.store.fetchall("SELECT otp_id, result FROM otp_checks")

    assert [(r["otp_id"] == otp["otp_id"], r["result"]) for r in rows] == [
        (False, "unknown"), (True, "failed"), (True, "verified"), (True, "used"),
    ]  # fmt: skip


async def test_a_verified_code_is_an_otp_verified_event(hub_server: RunningHub) -> None:
    relay = await hub_server.relay("A")
    otp = await sent_otp(hub_server)
    await verify(hub_server, otp["otp_id"], await code_of(relay, otp))

    rows = await hub_server.hub.store.fetchall(
        "SELECT body FROM events WHERE type = 'otp.verified'"
    )
    (event,) = [json.loads(r["body"]) for r in rows]
    assert event["data"]["otp_id"] == otp["otp_id"]
    assert event["data"]["request_id"] == otp["request_id"]
    assert event["data"]["purpose"] == "login"
    assert event["data"]["to"] == TO


async def test_an_otp_goes_to_the_relay_before_bulk_sends_queued_earlier(
    tmp_path: Path,
) -> None:
    async with serve_hub(hub_config(tmp_path / "data")) as hub:
        device = await hub.pair("A")
        bulk = [await hub.send(text=f"bulk {n}") for n in range(30)]
        otp = await sent_otp(hub)
        relay = await hub.relay("A", device=device)
        await relay.wait_until(lambda: len(relay.jobs_received) >= 1)

    assert relay.jobs_received[0].id == otp["request_id"]
    assert {j.id for j in relay.jobs_received} <= {otp["request_id"], *bulk}


async def test_no_code_or_otp_text_is_stored_in_clear(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with serve_hub(hub_config(data)) as hub:
        device = await hub.pair("A")
        otp = await sent_otp(hub, length=8)  # waits queued: its text is stored sealed
        await hub.hub.store.write(lambda conn: None)
        queued_scan = _scan(data)
        relay = await hub.relay("A", device=device)
        code = await code_of(relay, otp, length=8)
        text = await text_of(relay, otp["request_id"])
        await relay.wait_until(lambda: otp["request_id"] in delivered_ids(relay))
        assert (await verify(hub, otp["otp_id"], code))["status"] == "verified"
        await hub.hub.store.write(lambda conn: None)
        row = await hub.hub.store.fetchone(
            "SELECT text, text_sealed FROM messages WHERE id = ?", (otp["request_id"],)
        )
    final_scan = _scan(data)

    for blob in (queued_scan, final_scan):
        assert code.encode() not in blob
        assert text.encode() not in blob
        assert text.split(code)[0].encode() not in blob  # not even the words around it
    assert row is not None
    assert (row["text"], row["text_sealed"]) == ("", None)


def _scan(folder: Path) -> bytes:
    """Every byte of every file in the data folder (database, WAL, keys)."""
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


async def test_a_queued_otp_survives_a_restart_and_still_reaches_the_relay(
    tmp_path: Path,
) -> None:
    config = hub_config(tmp_path / "data")
    async with serve_hub(config) as hub:
        device = await hub.pair("A")
        otp = await sent_otp(hub)
    async with serve_hub(config) as hub:
        moved = dataclasses.replace(device, ws_url=raw_relay.ws_url(hub.base_url))  # new port
        relay = await hub.relay("A", device=moved)
        code = await code_of(relay, otp)
        answer = await verify(hub, otp["otp_id"], code)

    assert answer["status"] == "verified"


async def test_a_superseded_codes_sms_still_queued_is_cancelled(tmp_path: Path) -> None:
    async with serve_hub(no_limits(tmp_path)) as hub:
        device = await hub.pair("A")
        old = await sent_otp(hub)
        new = await sent_otp(hub)
        relay = await hub.relay("A", device=device)
        await relay.wait_until(lambda: new["request_id"] in delivered_ids(relay))
        old_status = await hub.status(old["request_id"])

    assert old_status["status"] == "cancelled"
    assert old_status["history"][-1]["cause"] == "superseded"
    assert [j.id for j in relay.jobs_received] == [new["request_id"]]


async def test_messages_can_be_listed_by_kind(hub_server: RunningHub) -> None:
    await hub_server.relay("A")
    otp = await sent_otp(hub_server)
    sms = await hub_server.send()

    otps = (await hub_server.get("/api/v1/messages?kind=otp")).json()["items"]
    plain = (await hub_server.get("/api/v1/messages?kind=sms")).json()["items"]
    bad = await hub_server.get("/api/v1/messages?kind=fax")

    assert [m["request_id"] for m in otps] == [otp["request_id"]]
    assert [m["request_id"] for m in plain] == [sms]
    assert bad.status_code == 422


async def test_a_simulated_relay_tells_who_asks_of_every_job_it_gets(
    hub_server: RunningHub,
) -> None:
    """What `relayhub sim --show-texts` prints: a tester sees the OTP's code."""
    seen: list[tuple[str, str]] = []
    relay = await hub_server.relay("A", on_job=lambda name, send: seen.append((name, send.text)))
    otp = await sent_otp(hub_server, locale="en")
    await relay.wait_until(lambda: otp["request_id"] in delivered_ids(relay))

    ((name, text),) = seen
    assert name == "A"
    assert "your login code is" in text
    assert re.search(r"\b\d{6}\b", text)
