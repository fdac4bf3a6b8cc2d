"""``relayhub migrate --database URL`` readies a PostgreSQL database before any hub starts."""

from __future__ import annotations

import psycopg

from hub.store.postgres_migrate import CURRENT
from tests.e2e.hub_process import run_relayhub
from tests.pg_cluster import PgCluster


async def test_migrate_creates_the_schema_then_finds_it_current(postgres: PgCluster) -> None:
    url = postgres.create_database("migrate_command")
    first = await run_relayhub("migrate", "--database", url)
    again = await run_relayhub("migrate", "--database", url)
    assert first.returncode == 0, first.stderr
    assert "schema created" in first.stdout
    assert again.returncode == 0 and f"at version {CURRENT}, now current" in again.stdout
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(CURRENT,)]


async def test_migrate_without_a_postgresql_url_says_how_to_give_one() -> None:
    done = await run_relayhub("migrate", env={"RELAYHUB_DATABASE_URL": ""})
    assert done.returncode == 1
    assert "relayhub migrate --database postgresql://" in done.stderr
