"""Webhook URLs a client can write but HTTP cannot send, and how many an account keeps.

A URL with a space or a non-ASCII character in its path or query used to pass
the check at creation and then fail at every delivery inside the HTTP client,
before it connected: no attempt was recorded, so the delivery was retried
every 5 s forever, stayed ``pending`` with 0 attempts and kept its event from
being pruned. Now such a URL is stored percent-encoded (RFC 3986; a non-ASCII
host in its IDNA form), one that cannot be made sendable is refused with 422
on ``url`` (on create and on change), and any failure of an attempt, whatever
raised it, is recorded and retried on the normal schedule to its end. An
account has at most ``[webhooks] max_endpoints_per_account`` endpoints.

Documentation addresses (203.0.113.0/24) only appear in URLs of endpoints that
never get an event: nothing ever connects to them (the SSRF guard, which would
refuse them, is off here: its rules are tested in test_security_ssrf.py).
Every delivery goes to a receiver on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.webhooks.attempt import USER_AGENT
from hub.webhooks.http import Pool
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, hub_config, serve_hub
from tests.e2e.receiver import serve_receiver
from tests.e2e.test_api_errors import assert_problem
from tests.e2e.webhook_log import add_endpoint, settled
from tests.hub.webhooks.pool_faults import PostFaults

HOOKS = "/api/v1/webhooks"
PUBLIC = "203.0.113.7"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    """A hub that lets URLs name any address: here the URL's form is the subject,
    and documentation addresses pass without a resolver (they get no event)."""
    async with serve_hub(hub_config(tmp_path, webhooks={"allow_private_targets": True})) as hub:
        yield hub


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        (f"http://{PUBLIC}/a b", f"http://{PUBLIC}/a%20b"),  # the report's two URLs
        (f"http://{PUBLIC}/é", f"http://{PUBLIC}/%C3%A9"),
        (f"https://{PUBLIC}:8443/hooks/ü?shop=Café au lait&x=<1>",
         f"https://{PUBLIC}:8443/hooks/%C3%BC?shop=Caf%C3%A9%20au%20lait&x=%3C1%3E"),
        (f"http://{PUBLIC}/100%/a%2Fb", f"http://{PUBLIC}/100%25/a%2Fb"),  # a stray % only
        ("https://Bücher.Example/hook", "https://xn--bcher-kva.example/hook"),  # IDNA host
        (f"HTTP://{PUBLIC}/Path?Q=1", f"http://{PUBLIC}/Path?Q=1"),  # unchanged: all fine
    ],
)  # fmt: skip
async def test_a_url_http_cannot_send_as_written_is_stored_percent_encoded(
    hub: RunningHub, url: str, stored: str
) -> None:
    created = await add_endpoint(hub, url)
    assert created["url"] == stored
    listed = (await hub.get(f"{HOOKS}/{created['id']}")).json()
    assert listed["url"] == stored

    changed = await hub.client.patch(
        f"{hub.base_url}{HOOKS}/{created['id']}", json={"url": f"{url}/again"},
        headers=ADMIN,
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert changed.json()["url"].startswith(stored.split("?")[0])
    assert " " not in changed.json()["url"] and changed.json()["url"].isascii()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"http://{PUBLIC}/a\nb", "control character"),
        (f"http://{PUBLIC}/a\tb", "control character"),
        (f"http://{PUBLIC}/a\x00b", "control character"),
        (f"http://{PUBLIC}/a\x7fb", "control character"),
        ("http://exa mple.com/hook", "host"),
        ("http://ex<am>ple.com/hook", "host"),
        ("http://a..b.example/hook", "host"),
        (f"http://{PUBLIC}:99999/hook", "port"),
    ],
)
async def test_a_url_that_cannot_be_made_sendable_is_refused_with_422_on_url(
    hub: RunningHub, url: str, reason: str
) -> None:
    created = await hub.post(HOOKS, {"url": url})
    problem = assert_problem(created, 422, "validation_error")
    (error,) = problem["errors"]
    assert error["field"] == "url"
    assert reason in error["message"]

    kept = await add_endpoint(hub, f"http://{PUBLIC}/kept")
    changed = await hub.client.patch(
        f"{hub.base_url}{HOOKS}/{kept['id']}", json={"url": url}, headers=ADMIN
    )
    assert assert_problem(changed, 422, "validation_error")["errors"][0]["field"] == "url"
    assert (await hub.get(f"{HOOKS}/{kept['id']}")).json()["url"] == kept["url"]


async def test_a_path_with_a_space_and_an_accent_is_delivered_to_its_encoded_path(
    tmp_path: Path,
) -> None:
    config = hub_config(tmp_path, webhooks={"allow_private_targets": True})
    async with serve_receiver() as receiver, serve_hub(config) as hub:
        origin = receiver.url.removesuffix("/hook")
        await add_endpoint(hub, f"{origin}/a b/é?x=ü", events=["device.online"])

        await hub.relay("Phone")  # device.online
        (delivery,) = await settled(hub, lambda d: d["status"] != "pending")

    assert delivery["status"] == "succeeded"
    assert [c.target for c in receiver.calls] == ["/a%20b/%C3%A9?x=%C3%BC"]


async def test_a_url_an_older_version_stored_as_written_is_sent_encoded(tmp_path: Path) -> None:
    config = hub_config(tmp_path, webhooks={"allow_private_targets": True})
    async with serve_receiver() as receiver, serve_hub(config) as hub:
        origin = receiver.url.removesuffix("/hook")
        made = await add_endpoint(hub, f"{origin}/hook", events=["device.online"])
        # As the hub used to keep it: the URL exactly as the client wrote it.
        await hub.hub.store.execute(
            "UPDATE webhook_endpoints SET url = ? WHERE id = ?", (f"{origin}/a b", made["id"])
        )

        await hub.relay("Phone")
        (delivery,) = await settled(hub, lambda d: d["status"] != "pending")

    assert (delivery["status"], delivery["attempt_count"]) == ("succeeded", 1)
    assert [c.target for c in receiver.calls] == ["/a%20b"]


async def test_an_attempt_that_fails_inside_the_hub_is_recorded_and_retried_to_the_end(
    tmp_path: Path,
) -> None:
    schedule = [0, 0, 0]  # three attempts, each at once
    config = hub_config(
        tmp_path, webhooks={"allow_private_targets": True, "retry_schedule_s": schedule}
    )
    faults = PostFaults()  # every attempt fails inside the hub, as h11 did on a raw URL
    faults.fail_next(len(schedule))
    pool = faults.wrap(Pool(USER_AGENT))
    async with serve_receiver() as receiver, serve_hub(config, webhook_pool=pool) as hub:
        await add_endpoint(hub, receiver.url, events=["device.online"])

        await hub.relay("Phone")
        (delivery,) = await settled(hub, lambda d: d["status"] != "pending")

    assert (delivery["status"], delivery["attempt_count"]) == ("failed", 3)
    assert (faults.posts, faults.failed) == (3, 3)
    assert [a["status_code"] for a in delivery["attempts"]] == [None, None, None]
    for attempt in delivery["attempts"]:
        assert attempt["error"].startswith("the hub could not send it: UnicodeEncodeError")


async def test_an_account_keeps_at_most_the_configured_number_of_endpoints(
    tmp_path: Path,
) -> None:
    config = hub_config(
        tmp_path, webhooks={"max_endpoints_per_account": 3, "allow_private_targets": True}
    )
    async with serve_hub(config) as hub:
        # Ten at once: the limit holds under concurrency, not only one after another.
        answers = await asyncio.gather(
            *(hub.post(HOOKS, {"url": f"http://{PUBLIC}/{n}"}) for n in range(10))
        )
        assert sorted(a.status_code for a in answers) == [201] * 3 + [422] * 7
        problem = assert_problem(next(a for a in answers if a.status_code == 422),
                                 422, "validation_error")  # fmt: skip
        (error,) = problem["errors"]
        assert error["field"] == "body"
        assert "already has 3 webhook endpoints" in error["message"]
        assert "max_endpoints_per_account" in error["message"]
        assert "DELETE /api/v1/webhooks/{id}" in error["message"]
        listed = (await hub.get(HOOKS)).json()["items"]
        assert len(listed) == 3

        # Another account is not held back by this one's endpoints.
        other = (await hub.post("/api/v1/admin/accounts", {"name": "Other"})).json()["token"]
        assert (await hub.post(HOOKS, {"url": f"http://{PUBLIC}/o"}, other)).status_code == 201

        # One deleted makes room for one more.
        deleted = await hub.client.delete(f"{hub.base_url}{HOOKS}/{listed[0]['id']}", headers=ADMIN)
        assert deleted.status_code == 200
        assert (await hub.post(HOOKS, {"url": f"http://{PUBLIC}/again"})).status_code == 201
        assert (await hub.post(HOOKS, {"url": f"http://{PUBLIC}/over"})).status_code == 422
