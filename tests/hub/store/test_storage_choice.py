"""Which store a hub opens: SQLite in the data folder unless a PostgreSQL URL is given."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from hub.cli import DATABASE_ENV, load_serve_config
from hub.config import ConfigError, load_config
from hub.store.open_store import DB_FILE, store_for
from hub.store.postgres import PostgresStore
from hub.store.sqlite import SqliteStore

URL = "postgresql://relayhub@127.0.0.1:5432/relayhub"


def serve_args(**given: object) -> argparse.Namespace:
    fields = {"host": None, "port": None, "data": None, "config": None, "database": None}
    return argparse.Namespace(**{**fields, **given})


def test_the_default_store_is_the_sqlite_file_in_the_data_folder(tmp_path: Path) -> None:
    store = store_for(load_config(overrides={"server": {"data_dir": str(tmp_path)}}))
    assert isinstance(store, SqliteStore)
    assert store.path == tmp_path / DB_FILE


def test_a_postgresql_url_in_storage_gives_the_postgres_store() -> None:
    store = store_for(load_config(overrides={"storage": {"url": URL}}))
    assert isinstance(store, PostgresStore)
    assert store.url == URL


def test_a_url_of_another_database_is_refused_naming_the_key_and_the_form() -> None:
    with pytest.raises(ConfigError, match=r"\[storage\] url .* postgresql://"):
        load_config(overrides={"storage": {"url": "mysql://x@127.0.0.1/db"}})


def test_the_database_flag_wins_over_the_environment_which_wins_over_hub_toml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "local.toml"
    toml.write_text(f'[storage]\nurl = "{URL}/from_toml"\n')
    assert load_serve_config(serve_args(config=toml)).storage.url == f"{URL}/from_toml"
    monkeypatch.setenv(DATABASE_ENV, f"{URL}/from_env")
    assert load_serve_config(serve_args(config=toml)).storage.url == f"{URL}/from_env"
    flag = serve_args(config=toml, database=f"{URL}/from_flag")
    assert load_serve_config(flag).storage.url == f"{URL}/from_flag"
