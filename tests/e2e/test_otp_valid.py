"""OTP answers a client cannot misread: verify says ``valid`` (true only for the
right code, once, in time), and a code no phone can take yet is ``queued``, not
``sent``, with the reason it waits."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from hub.api.schemas import OtpSent, OtpVerification
from hub.clock import ManualClock
from tests.e2e.conftest import RunningHub, hub_config, serve_hub
from tests.e2e.test_otp import code_of, sent_otp, sweep_after, verify, wrong

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)


async def test_verify_is_valid_only_for_the_right_code_and_only_once(
    hub_server: RunningHub,
) -> None:
    relay = await hub_server.relay("A")
    otp = await sent_otp(hub_server)
    code = await code_of(relay, otp)

    bad = await verify(hub_server, otp["otp_id"], wrong(code))
    right = await verify(hub_server, otp["otp_id"], code)
    used = await verify(hub_server, otp["otp_id"], code)

    for answer in (bad, right, used):
        msgspec.convert(answer, OtpVerification)  # the documented type, strictly
        assert answer["ok"] is True  # each was a valid request: `ok` says nothing of the code
    assert (bad["valid"], bad["status"], bad["attempts_left"]) == (False, "failed", 4)
    assert (right["valid"], right["status"]) == (True, "verified")
    assert (used["valid"], used["status"], used["reason"]) == (False, "expired", "used")


async def test_verify_of_an_expired_code_is_not_valid_even_when_the_code_is_right(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    async with serve_hub(hub_config(tmp_path / "data"), clock) as hub:
        relay = await hub.relay("A")
        otp = await sent_otp(hub, ttl_seconds=60)
        code = await code_of(relay, otp)
        await sweep_after(hub, clock, 61)
        answer = await verify(hub, otp["otp_id"], code)

    assert (answer["valid"], answer["status"], answer["reason"]) == (False, "expired", "timed_out")


async def test_verify_after_max_attempts_is_not_valid_for_the_right_code(
    hub_server: RunningHub,
) -> None:
    relay = await hub_server.relay("A")
    otp = await sent_otp(hub_server)
    code = await code_of(relay, otp)
    for _ in range(5):
        await verify(hub_server, otp["otp_id"], wrong(code))

    answer = await verify(hub_server, otp["otp_id"], code)

    assert (answer["valid"], answer["status"]) == (False, "max_attempts")


async def test_a_code_with_no_phone_online_is_queued_with_why_then_sent_and_verified(
    hub_server: RunningHub,
) -> None:
    device = await hub_server.pair("A")  # paired, app closed
    otp = await sent_otp(hub_server)
    msgspec.convert(otp, OtpSent)
    status = await hub_server.status(otp["request_id"])

    relay = await hub_server.relay("A", device=device)
    code = await code_of(relay, otp)
    answer = await verify(hub_server, otp["otp_id"], code)

    assert otp["status"] == "queued"
    assert otp["waiting"]["reason"] == "no_relay_online"
    assert "no phone of this account is online" in otp["waiting"]["detail"]
    assert status["waiting"] == otp["waiting"]
    assert answer["valid"] is True


async def test_a_code_a_phone_takes_at_once_is_sent_and_not_waiting(
    hub_server: RunningHub,
) -> None:
    await hub_server.relay("A")

    otp = await sent_otp(hub_server)

    assert (otp["status"], otp["waiting"]) == ("sent", None)
