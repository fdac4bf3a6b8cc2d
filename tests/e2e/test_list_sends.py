"""Lists and list sends through real relays: personalised texts, batch counts,
cancel, and an OTP that does not wait behind a 10,000-number list."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, delivered_ids, wait_any

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

LISTS = "/api/v1/recipient-lists"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def add_recipient(hub: RunningHub, phone: str, name: str, **metadata: Any) -> str:
    response = await hub.post(
        "/api/v1/recipients", {"phone": phone, "name": name, "metadata": metadata}
    )
    assert response.status_code == 201, response.text
    recipient_id: str = response.json()["id"]
    return recipient_id


async def make_list(hub: RunningHub, name: str, ids: list[str]) -> dict[str, Any]:
    response = await hub.post(LISTS, {"name": name, "recipient_ids": ids})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def queue(hub: RunningHub, list_id: str, text: str, **fields: Any) -> dict[str, Any]:
    response = await hub.post(f"{LISTS}/queue", {"list_id": list_id, "text": text, **fields})
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def batch(hub: RunningHub, batch_id: str) -> dict[str, Any]:
    response = await hub.get(f"/api/v1/batches/{batch_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_list_is_made_changed_and_deleted(hub_server: RunningHub) -> None:
    a = await add_recipient(hub_server, "+998901000001", "A")
    b = await add_recipient(hub_server, "+998901000002", "B")
    made = await make_list(hub_server, "Clients", [a])
    added = await hub_server.post(f"{LISTS}/{made['id']}/members", {"recipient_ids": [b, a]})
    members = (await hub_server.get(f"{LISTS}/{made['id']}/members")).json()["items"]
    removed = await hub_server.post(f"{LISTS}/{made['id']}/members/remove", {"recipient_ids": [a]})
    unknown = await hub_server.post(f"{LISTS}/{made['id']}/members", {"recipient_ids": ["rcp_X"]})
    renamed = await hub_server.client.patch(
        f"{hub_server.base_url}{LISTS}/{made['id']}", json={"name": "VIP"}, headers=AUTH
    )
    deleted = await hub_server.client.delete(f"{hub_server.base_url}{LISTS}/{made['id']}",
                                             headers=AUTH)  # fmt: skip

    assert made["id"].startswith("lst_")
    assert made["members"] == 1
    assert (added.json()["members"], added.json()["changed"]) == (2, 1)
    assert sorted(m["name"] for m in members) == ["A", "B"]
    assert removed.json()["members"] == 1
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "recipient_ids"
    assert renamed.json()["name"] == "VIP"
    assert deleted.status_code == 200
    assert (await hub_server.get(f"{LISTS}/{made['id']}")).status_code == 404


async def test_a_personalised_list_send_ends_delivered_with_the_batch_counts(
    hub_server: RunningHub,
) -> None:
    relays = [await hub_server.relay("A"), await hub_server.relay("B")]
    ids = [
        await add_recipient(hub_server, "+998901000001", "Aziza", city="Samarqand"),
        await add_recipient(hub_server, "+998901000002", "Bekzod", city="Buxoro"),
        await add_recipient(hub_server, "+998901000003", "Dilnoza", city="Xiva"),
        await add_recipient(hub_server, "+998901000004", "Eldor"),  # no city: skipped
    ]
    made = await make_list(hub_server, "Clients", ids)

    sent = await queue(hub_server, made["id"], "Salom {name}! {city} filialimiz ochildi.")
    await wait_any(relays, lambda: sum(len(delivered_ids(r)) for r in relays) == 3)
    counts = await _settled_batch(
        hub_server, sent["batch_id"], lambda b: b["counts"]["delivered"] == 3
    )

    texts = sorted(j.text for r in relays for j in r.jobs_received)
    assert sent["queued"] == 3
    assert sent["batch_id"].startswith("bat_")
    assert [(s["recipient_id"], s["reason"]) for s in sent["skipped"]] == [
        (ids[3], "no value for city")
    ]
    assert texts == [
        "Salom Aziza! Samarqand filialimiz ochildi.",
        "Salom Bekzod! Buxoro filialimiz ochildi.",
        "Salom Dilnoza! Xiva filialimiz ochildi.",
    ]
    assert counts["total"] == 3
    assert counts["skipped"] == 1
    assert {k: v for k, v in counts["counts"].items() if v} == {"delivered": 3}


async def test_a_bad_template_or_unknown_list_changes_nothing(hub_server: RunningHub) -> None:
    await hub_server.pair("A")
    made = await make_list(hub_server, "Empty", [])

    bad = await hub_server.post(f"{LISTS}/queue", {"list_id": made["id"], "text": "Hi {name"})
    missing = await hub_server.post(f"{LISTS}/queue", {"list_id": "lst_NOPE", "text": "Hi"})

    assert bad.status_code == missing.status_code == 422
    assert bad.json()["errors"][0]["field"] == "text"
    assert missing.json()["errors"][0]["field"] == "list_id"
    assert (await hub_server.get("/api/v1/messages")).json()["items"] == []


async def test_cancel_stops_what_no_relay_has_been_handed(hub_server: RunningHub) -> None:
    device = await hub_server.pair("A")
    ids = [await add_recipient(hub_server, f"+99890100000{n}", f"R{n}") for n in range(5)]
    made = await make_list(hub_server, "Clients", ids)
    sent = await queue(hub_server, made["id"], "Hi {name}")

    cancelled = await hub_server.post(f"/api/v1/batches/{sent['batch_id']}/cancel", {})
    relay = await hub_server.relay("A", device=device)
    await hub_server.send(text="after the cancel")  # a job that does reach the relay
    await relay.wait_until(lambda: len(relay.jobs_received) == 1)
    after = await batch(hub_server, sent["batch_id"])

    assert cancelled.status_code == 200
    assert cancelled.json()["cancelled"] == 5
    assert after["counts"]["cancelled"] == 5
    assert after["cancelled_at"] is not None
    assert [j.text for j in relay.jobs_received] == ["after the cancel"]


async def test_an_otp_sent_during_a_10000_number_list_send_goes_before_the_list_drains(
    hub_server: RunningHub,
) -> None:
    rows = "\n".join(f"+99890{n:07d},Client {n}" for n in range(10_000))
    imported = await hub_server.client.post(
        hub_server.base_url + "/api/v1/recipients/import", content=f"phone,name\n{rows}\n",
        headers={**AUTH, "Content-Type": "text/csv"},
    )  # fmt: skip
    assert imported.json()["created"] == 10_000
    ids = await _all_recipient_ids(hub_server.client, hub_server.base_url)
    made = await make_list(hub_server, "Everyone", ids[:1000])
    for start in range(1000, len(ids), 1000):
        await hub_server.post(
            f"{LISTS}/{made['id']}/members", {"recipient_ids": ids[start : start + 1000]}
        )
    relay = await hub_server.relay("A")

    sent = await queue(hub_server, made["id"], "Aksiya, {name}!")
    otp = await hub_server.post("/api/v1/otp/send", {"to": "+998935550101", "purpose": "login"})
    otp_id = otp.json()["request_id"]
    await relay.wait_until(lambda: any(j.id == otp_id for j in relay.jobs_received), timeout=60)
    before_otp = next(i for i, j in enumerate(relay.jobs_received) if j.id == otp_id)

    # The list goes on after the OTP: it had not drained when the OTP jumped it.
    await relay.wait_until(lambda: len(relay.jobs_received) > before_otp + 100, timeout=60)
    list_jobs = [j for j in relay.jobs_received if j.id != otp_id]
    assert sent["queued"] == 10_000
    assert before_otp < 10_000 - 100
    assert len(list_jobs) > before_otp
    assert all(j.text.startswith("Aksiya, Client ") for j in list_jobs)


async def _all_recipient_ids(client: httpx.AsyncClient, base_url: str) -> list[str]:
    ids: list[str] = []
    cursor = ""
    while True:
        page = (
            await client.get(
                f"{base_url}/api/v1/recipients", params={"limit": 500, "cursor": cursor},
                headers=AUTH,
            )
        ).json()  # fmt: skip
        ids += [r["id"] for r in page["items"]]
        if page["next_cursor"] is None:
            return ids
        cursor = page["next_cursor"]


async def _settled_batch(hub: RunningHub, batch_id: str, done: Any) -> dict[str, Any]:
    """The batch once ``done`` holds; reports are stored after the relay sent them."""
    async with asyncio.timeout(10):
        while not done(found := await batch(hub, batch_id)):
            await hub.hub.store.write(lambda conn: None)  # one more commit has landed
    return found


async def test_a_template_with_a_format_spec_is_refused_before_anything_is_queued(
    hub_server: RunningHub,
) -> None:
    await hub_server.pair("A")
    rid = await add_recipient(hub_server, "+998901000001", "Aziza", city="Xiva")
    made = await make_list(hub_server, "Clients", [rid])

    answers = [
        await hub_server.post(f"{LISTS}/queue", {"list_id": made["id"], "text": text})
        for text in ("{name:>10000000}", "{name:d}", "{name:{city}}", "{name!r}")
    ]

    assert [a.status_code for a in answers] == [422] * 4
    assert all(a.json()["errors"][0]["field"] == "text" for a in answers)
    assert (await hub_server.get("/api/v1/messages")).json()["items"] == []
