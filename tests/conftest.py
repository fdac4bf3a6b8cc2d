"""Session-wide fixtures: the private PostgreSQL cluster, when a test asks for it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests import pg_cluster


def _skip_without_postgres() -> None:
    """Skip the test (fail it in CI) where no cluster can start."""
    reason = pg_cluster.missing_reason()
    if reason is not None:
        if os.environ.get(pg_cluster.REQUIRE_ENV) == "1":
            pytest.fail(f"{pg_cluster.REQUIRE_ENV}=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg_cluster.PgCluster]:
    """A running private cluster; skips (fails in CI) where PostgreSQL is not installed."""
    _skip_without_postgres()
    yield pg_cluster.shared_cluster()


@pytest.fixture
def postgres_alone() -> Iterator[pg_cluster.PgCluster]:
    """A running cluster of the test's own, which it may stop and start; removed after."""
    _skip_without_postgres()
    cluster = pg_cluster.PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    pg_cluster.stop_shared_cluster()
