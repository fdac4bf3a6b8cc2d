"""Tests for ``hub/config.py`` and the repository's ``hub.toml``."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import msgspec
import pytest

from hub.config import Config, ConfigError, load_config

HUB_TOML = Path(__file__).resolve().parents[2] / "hub.toml"
_SECTION = re.compile(r"^\[([A-Za-z_][\w-]*)\]\s*$")
_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*=")


def keys_with_line_above(text: str) -> list[tuple[str, str]]:
    """Every ``section.key`` of a TOML text with the line just above it."""
    found = []
    section = ""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if match := _SECTION.match(line):
            section = match.group(1)
        elif match := _KEY.match(line):
            above = lines[number - 1] if number else ""
            found.append((f"{section}.{match.group(1)}", above))
    return found


HUB_TOML_KEYS = keys_with_line_above(HUB_TOML.read_text())


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def config_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "bad.toml", text))
    return str(caught.value)


def test_config_from_the_repository_hub_toml_equals_the_documented_defaults() -> None:
    assert load_config(HUB_TOML) == Config()


def test_hub_toml_lists_every_config_key_when_read() -> None:
    def keys(struct: type[msgspec.Struct]) -> set[str]:
        return {
            f"{section.name}.{field.name}"
            for section in msgspec.structs.fields(struct)
            for field in msgspec.structs.fields(section.type)
        }

    assert {key for key, _ in HUB_TOML_KEYS} == keys(Config)


@pytest.mark.parametrize(
    ("key", "above"), [pytest.param(key, above, id=key) for key, above in HUB_TOML_KEYS]
)
def test_hub_toml_key_has_a_comment_line_directly_above_it(key: str, above: str) -> None:
    assert above.lstrip().startswith("#"), f"{key}: line above is {above!r}"


def test_config_loads_defaults_when_given_no_file() -> None:
    assert load_config() == Config()


def test_config_takes_each_key_from_the_last_file_that_sets_it_when_given_several(
    tmp_path: Path,
) -> None:
    first = write(
        tmp_path,
        "first.toml",
        '[server]\nhost = "0.0.0.0"\nport = 9000\n[relay]\nmax_inflight = 4\n',
    )
    second = write(tmp_path, "second.toml", "[server]\nport = 9100\n")

    config = load_config(first, second)

    assert (config.server.host, config.server.port) == ("0.0.0.0", 9100)
    assert config.relay.max_inflight == 4
    assert config.relay.heartbeat_s == Config().relay.heartbeat_s
    assert config.sms == Config().sms


def test_config_lets_overrides_win_over_files_when_both_set_a_key(tmp_path: Path) -> None:
    path = write(tmp_path, "hub.toml", '[server]\nport = 9000\ndata_dir = "/srv"\n')

    config = load_config(path, overrides={"server": {"port": 9999}})

    assert (config.server.port, config.server.data_dir) == (9999, "/srv")


def test_config_raises_config_error_naming_an_unknown_key_when_a_section_has_one(
    tmp_path: Path,
) -> None:
    message = config_error(tmp_path, "[server]\nprot = 8080\n")

    assert "prot" in message
    assert "server" in message


def test_config_raises_config_error_naming_an_unknown_section_when_a_file_has_one(
    tmp_path: Path,
) -> None:
    assert "srever" in config_error(tmp_path, "[srever]\nport = 8080\n")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[server]\nport = "8080"\n', "server.port"),
        ("[relay]\nmax_inflight = 2.5\n", "relay.max_inflight"),
        ('[storage]\nsynchronous = "OFF"\n', "storage.synchronous"),
        ("[server]\nport = 70000\n", "server.port"),
        ("[sms]\nmax_parts = 0\n", "sms.max_parts"),
        ('[sms]\ndefault_region = "uz"\n', "sms.default_region"),
        ("server = 1\n", "server"),
    ],
)
def test_config_raises_config_error_naming_the_key_when_a_value_has_the_wrong_type(
    tmp_path: Path, text: str, key: str
) -> None:
    assert key in config_error(tmp_path, text)


def test_config_raises_config_error_naming_the_file_when_it_is_not_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.toml", "[server\nport = \n")

    with pytest.raises(ConfigError, match=r"broken\.toml"):
        load_config(path)


def test_config_raises_config_error_naming_the_file_when_it_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        load_config(tmp_path / "missing.toml")


def test_hub_toml_parses_as_toml_when_read_with_the_stdlib() -> None:
    with HUB_TOML.open("rb") as fh:
        assert set(tomllib.load(fh)) == {
            "server",
            "storage",
            "cluster",
            "sms",
            "relay",
            "pairing",
            "limits",
            "auth",
            "webhooks",
            "events",
            "otp",
        }


def test_config_refuses_a_cluster_without_postgresql_naming_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"\[cluster\] enabled needs PostgreSQL.*--database"):
        load_config(overrides={"cluster": {"enabled": True}})


def test_config_refuses_a_lease_renewed_less_often_than_it_lasts() -> None:
    with pytest.raises(ConfigError, match=r"renew_every_s must be shorter than lease_s"):
        load_config(overrides={"cluster": {"lease_s": 2, "renew_every_s": 2}})


def test_config_takes_a_cluster_on_postgresql() -> None:
    config = load_config(
        overrides={"storage": {"url": "postgresql://h@127.0.0.1/db"}, "cluster": {"enabled": True}}
    )
    assert config.cluster.enabled and config.cluster.lease_s == 10.0
