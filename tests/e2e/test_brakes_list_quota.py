"""An account's queue limit holds when list sends arrive together.

A list send is checked against ``[limits] max_queued`` before it is queued,
but a long list is written in chunks of 500 with awaits between them: the
queue count the next send was checked against did not yet hold the rest of
a list admitted a moment earlier, so two lists of 1,000 sent together both
passed a limit of 1,500.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, hub_config, serve_hub

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

MEMBERS = 1_000
LIMIT = 1_500


async def list_of(hub: RunningHub, name: str, ids: list[str]) -> str:
    made = await hub.post("/api/v1/recipient-lists", {"name": name})
    list_id: str = made.json()["id"]
    added = await hub.post(f"/api/v1/recipient-lists/{list_id}/members", {"recipient_ids": ids})
    assert added.status_code < 300, added.text
    return list_id


async def recipients(hub: RunningHub, count: int) -> list[str]:
    csv = "phone,name\n" + "".join(f"+99890{n:07d},R{n}\n" for n in range(count))
    imported = await hub.client.post(
        hub.base_url + "/api/v1/recipients/import",
        content=csv.encode(),
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "text/csv"},
    )
    assert imported.json()["created"] == count, imported.text
    ids: list[str] = []
    cursor = ""
    while True:
        found = (await hub.get(f"/api/v1/recipients?limit=500&cursor={cursor}")).json()
        ids += [r["id"] for r in found["items"]]
        if not found["next_cursor"]:
            return ids
        cursor = found["next_cursor"]


async def test_two_long_lists_sent_together_never_pass_the_queue_limit(tmp_path: Path) -> None:
    async with serve_hub(hub_config(tmp_path, limits={"max_queued": LIMIT})) as hub:
        await hub.pair("offline phone")  # paired, never connected: every message waits
        ids = await recipients(hub, MEMBERS)
        first = await list_of(hub, "first", ids)
        second = await list_of(hub, "second", ids)

        answers = await asyncio.gather(
            *(
                hub.post("/api/v1/recipient-lists/queue", {"list_id": lid, "text": "Salom"})
                for lid in (first, second)
            )
        )
        usage = (await hub.get("/api/v1/account")).json()["usage"]

    assert sorted(a.status_code for a in answers) == [202, 409], [a.text for a in answers]
    assert usage["queued_now"] == MEMBERS
