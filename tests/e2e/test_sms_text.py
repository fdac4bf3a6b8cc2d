"""SMS text end to end: ``GET /v1/messages/status`` shows the parts and encoding a
text takes, and a text over ``[sms] max_parts`` is refused with nothing queued."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import RunningHub

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

SEND = "/api/v1/sms/send"
CYRILLIC = "\u0436"  # ж
EMOJI = "\U0001f600"  # a surrogate pair in UTF-16
TURNED_COMMA = "\u02bb"  # the Uzbek Latin letter mark: o + U+02BB

# name → (text, encoding, parts)
TEXTS = {
    "gsm7_160": ("a" * 160, "gsm7", 1),
    "gsm7_161": ("a" * 161, "gsm7", 2),
    "gsm7_306": ("a" * 306, "gsm7", 2),
    "gsm7_307": ("a" * 307, "gsm7", 3),
    # All nine escape characters, each two septets: 80 fill one part, 81 take two.
    "escapes_80": ("\u20ac[]{}\\^~|" * 8 + "\u20ac" * 8, "gsm7", 1),
    "escapes_81": ("\u20ac[]{}\\^~|" * 9, "gsm7", 2),
    "escape_on_boundary": ("a" * 152 + "\u20ac" + "a" * 152, "gsm7", 3),
    "cyrillic_70": (CYRILLIC * 70, "ucs2", 1),
    "cyrillic_71": (CYRILLIC * 71, "ucs2", 2),
    "cyrillic_134": (CYRILLIC * 134, "ucs2", 2),
    "cyrillic_135": (CYRILLIC * 135, "ucs2", 3),
    "emoji_35": (EMOJI * 35, "ucs2", 1),
    "emoji_36": (EMOJI * 36, "ucs2", 2),
    "emoji_on_boundary": (CYRILLIC * 66 + EMOJI + CYRILLIC * 66, "ucs2", 3),
    "uzbek_turned_comma": (f"O{TURNED_COMMA}zbekiston, g{TURNED_COMMA}alaba", "ucs2", 1),
    "uzbek_apostrophe": ("O'zbekiston, g'alaba", "gsm7", 1),
}


async def queued_count(hub: RunningHub) -> int:
    response = await hub.get("/api/v1/messages?limit=100")
    assert response.status_code == 200, response.text
    return len(response.json()["items"])


async def test_status_shows_parts_and_encoding_measured_from_the_text(
    hub_server: RunningHub,
) -> None:
    assert (len(TEXTS["escapes_80"][0]), len(TEXTS["escapes_81"][0])) == (80, 81)
    await hub_server.pair("Phone")  # paired, never connected: every message stays queued

    ids = {name: await hub_server.send(text=text) for name, (text, _, _) in TEXTS.items()}

    for name, request_id in ids.items():
        _, encoding, parts = TEXTS[name]
        status = await hub_server.status(request_id)
        assert (status["encoding"], status["parts"]) == (encoding, parts), name
        assert status["status"] == "queued", name


@pytest.mark.parametrize(
    ("unit", "encoding", "per_part"),
    [("a", "gsm7", 153), ("\u20ac", "gsm7", 76), (CYRILLIC, "ucs2", 67), (EMOJI, "ucs2", 33)],
    ids=["plain", "escaped", "cyrillic", "emoji"],
)
async def test_send_refuses_text_one_part_over_max_parts_and_queues_nothing(
    hub_server: RunningHub, unit: str, encoding: str, per_part: int
) -> None:
    max_parts = hub_server.config.sms.max_parts
    await hub_server.pair("Phone")
    at_limit = unit * (per_part * max_parts)
    over = at_limit + unit

    response = await hub_server.post(SEND, {"to": "+998901234567", "text": over})

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert [e["field"] for e in problem["errors"]] == ["text"]
    message = problem["errors"][0]["message"]
    name = {"gsm7": "GSM-7", "ucs2": "UCS-2"}[encoding]
    assert f"take {max_parts + 1} SMS parts in {name}" in message
    assert f"at most {max_parts} parts ([sms] max_parts)" in message
    assert await queued_count(hub_server) == 0
    # One unit less is exactly max_parts, and is queued.
    request_id = await hub_server.send(text=at_limit)
    status = await hub_server.status(request_id)
    assert (status["encoding"], status["parts"]) == (encoding, max_parts)
    assert await queued_count(hub_server) == 1
