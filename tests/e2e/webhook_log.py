"""Helpers for tests that read the webhook attempts log over the API."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import RunningHub


async def add_endpoint(hub: RunningHub, url: str, **fields: Any) -> dict[str, Any]:
    response = await hub.post("/api/v1/webhooks", {"url": url, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def deliveries(hub: RunningHub, query: str = "") -> list[dict[str, Any]]:
    response = await hub.get(f"/api/v1/webhooks/deliveries{query}")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def settled(
    hub: RunningHub, done: Callable[[dict[str, Any]], bool], query: str = "", count: int = 1
) -> list[dict[str, Any]]:
    """The attempts log once it holds ``count`` deliveries or more and every one
    satisfies ``done``.

    Attempts are recorded after the receiver answers, so the log is read again
    after each commit of the hub's store until it shows the outcome.
    """
    async with asyncio.timeout(10):
        while True:
            items = await deliveries(hub, query)
            if len(items) >= count and all(done(d) for d in items):
                return items
            await hub.hub.store.write(lambda conn: None)  # one more commit has landed
