"""Webhook POST faults injected by a wrapper, not by swapping the sender's pool.

The sender takes its HTTP pool at construction (``WebhookSender(pool=...)``,
``create_app(webhook_pool=...)``, ``serve_hub(webhook_pool=...)``). Hand it a
pool from ``PostFaults.wrap`` and every POST passes through to the real pool,
except those ``PostFaults`` marks to fail, which raise inside the hub before
anything connects::

    faults = PostFaults()
    faults.fail_next(3)  # the next three POSTs raise as h11 did on a raw URL
    async with serve_hub(config, webhook_pool=faults.wrap(Pool(USER_AGENT))) as hub:
        ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from hub.webhooks.http import Answer, Pool


def unencodable_url(url: str) -> BaseException:
    """What h11 raised on a URL with a character HTTP cannot carry: a failure
    inside the hub's own client, before it connects, not a ``RequestFailed``."""
    return UnicodeEncodeError("ascii", url, 0, 1, "ordinal not in range(128)")


class PostFaults:
    """How many of the next POSTs fail, and with what; shared by the pools it wraps."""

    def __init__(self) -> None:
        self._due = 0
        self._error: Callable[[str], BaseException] = unencodable_url
        self.posts = 0  # POSTs asked of a wrapped pool so far, failed or not
        self.failed = 0  # POSTs made to fail so far

    def fail_next(
        self, count: int = 1, error: Callable[[str], BaseException] = unencodable_url
    ) -> None:
        """Make the next ``count`` POSTs raise ``error(url)`` (nothing is sent)."""
        self._due, self._error = count, error

    def wrap(self, pool: Pool) -> Pool:
        """A pool like ``pool`` whose POSTs fail when told."""
        return cast(Pool, FaultyPool(pool, self))

    def take(self, url: str) -> BaseException | None:
        """The error the POST starting now must raise, if it is one that fails."""
        self.posts += 1
        if self._due == 0:
            return None
        self._due -= 1
        self.failed += 1
        return self._error(url)


class FaultyPool:
    """A real pool, except that a POST its ``PostFaults`` marks raises instead."""

    def __init__(self, pool: Pool, faults: PostFaults) -> None:
        self._pool = pool
        self._faults = faults

    async def post(self, url: str, **options: Any) -> Answer:
        if (error := self._faults.take(url)) is not None:
            raise error
        return await self._pool.post(url, **options)

    async def close(self) -> None:
        await self._pool.close()
