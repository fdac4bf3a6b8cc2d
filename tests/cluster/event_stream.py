"""Reading a node's event stream (``GET /api/v1/events``) in cluster tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from tests.cluster.conftest import Cluster
from tests.e2e.conftest import ADMIN_TOKEN
from tests.e2e.hub_process import HubProcess
from tests.e2e.sse import Stream


@contextlib.asynccontextmanager
async def stream_on(
    cluster: Cluster, node: HubProcess, types: str, last_event_id: str | None = None
) -> AsyncIterator[Stream]:
    """The stream of ``types`` (comma-separated) on ``node``; open once the node has
    answered, so events committed from then on are in it."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    async with cluster.client.stream(
        "GET", f"{node.base_url}/api/v1/events?types={types}", headers=headers
    ) as response:
        assert response.status_code == 200
        yield Stream(response, response.aiter_lines())
