"""Which store a configuration asks for: SQLite in the data folder, or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hub.config import Config
from hub.store.interface import Store
from hub.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from hub.store.postgres_notify import NotifyListener

DB_FILE = "relayhub.db"


def store_for(config: Config) -> Store:
    """The store ``[storage]`` names; not yet open."""
    storage = config.storage
    if storage.is_postgres:
        # Imported only when asked for: a SQLite hub never loads the PostgreSQL driver.
        from hub.store.postgres import PostgresStore

        return PostgresStore(
            storage.url, batch_max=storage.batch_max, wait_ms=storage.busy_timeout_ms
        )
    return SqliteStore(
        config.data_path / DB_FILE,
        synchronous=storage.synchronous,
        batch_max=storage.batch_max,
        busy_timeout_ms=storage.busy_timeout_ms,
    )


def migrate_ahead(url: str) -> int:
    """Create or migrate the PostgreSQL database at ``url`` now; the version it was at (0: new)."""
    from hub.store.postgres import migrate_database

    return migrate_database(url)


def notify_listener(
    url: str, channel: str, on_payload: Callable[[str], None], on_listening: Callable[[], None]
) -> NotifyListener:
    """A listener to one PostgreSQL NOTIFY channel (a cluster node's), not yet started."""
    from hub.store.postgres_notify import NotifyListener

    return NotifyListener(url, channel, on_payload, on_listening)
