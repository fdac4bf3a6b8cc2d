"""What the cluster unit tests share: a PostgresStore on a fresh database of the
private cluster, with one account in it."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator

from hub.store.interface import Tx
from hub.store.postgres import PostgresStore
from tests.pg_cluster import PgCluster

_names = itertools.count()


@contextlib.asynccontextmanager
async def store_with_account(postgres: PgCluster, account_id: str) -> AsyncIterator[PostgresStore]:
    """An open store on a new database holding ``account_id``; closed after."""
    store = PostgresStore(postgres.create_database(f"cluster_unit_{next(_names)}"), wait_ms=1000)
    await store.open()

    def account(tx: Tx) -> None:
        tx.execute(
            "INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)",
            (account_id, account_id, "2026-01-01T00:00:00Z"),
        )

    try:
        await store.write(account)
        yield store
    finally:
        await store.close()
