"""Tests for the ``[otp]`` section of ``hub/config.py``: template checks and bounds."""

from __future__ import annotations

from typing import Any

import pytest

from hub.config import ConfigError, OtpConfig, load_config
from hub.otp import LOCALES, render


def otp_error(**otp: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(overrides={"otp": otp})
    return str(caught.value)


def test_otp_config_defaults_render_every_locale_when_loaded() -> None:
    config = load_config().otp

    assert config == OtpConfig()
    for locale in LOCALES:
        assert "123456" in render(config, locale, "login", "123456", config.default_ttl_s)


# --- templates


@pytest.mark.parametrize("locale", LOCALES)
def test_otp_config_rejects_a_template_without_code_in_any_locale(locale: str) -> None:
    message = otp_error(**{f"template_{locale}": "{app}: your {purpose} code expires soon"})

    assert f"template_{locale}" in message
    assert "{code}" in message


@pytest.mark.parametrize(
    "template",
    [
        "{code} {name}",  # a name not among the placeholders
        "{code} {CODE}",  # names are case-sensitive
        "{code} {0}",  # positional by index
        "{code} {app.upper}",  # attribute access
        "{code} {app[0]}",  # indexing
        "{code} {}",  # positional, automatic numbering
        "{code:{width}}",  # a field nested in a format spec
    ],
)
def test_otp_config_rejects_a_template_with_an_unknown_placeholder(template: str) -> None:
    otp_error(template_en=template)


@pytest.mark.parametrize("template", ["{code", "code}", "{code} {", "{code} }", "{code} {app"])
def test_otp_config_rejects_a_template_with_malformed_braces(template: str) -> None:
    otp_error(template_ru=template)


def test_otp_config_rejects_a_template_whose_code_is_only_an_escaped_literal() -> None:
    otp_error(template_uz="{{code}}")


def test_otp_config_accepts_escaped_braces_and_renders_them_literally() -> None:
    config = load_config(overrides={"otp": {"template_en": "{{{app}}} {code}"}}).otp

    assert render(config, "en", "login", "123456", 300) == "{relayhub} 123456"


def test_otp_config_accepts_a_template_using_every_placeholder() -> None:
    template = "{app}|{purpose}|{code}|{minutes}"
    config = load_config(overrides={"otp": {"template_uz": template}}).otp

    assert render(config, "uz", "signup", "0042", 90) == "relayhub|signup|0042|2"


# --- bounds


@pytest.mark.parametrize(
    ("key", "bad", "good"),
    [
        ("default_ttl_s", 29, 30),
        ("default_ttl_s", 901, 900),
        ("default_length", 3, 4),
        ("default_length", 9, 8),
        ("max_wrong_tries", 0, 1),
        ("max_per_hour", 0, 1),
        ("resend_cooldown_s", -1, 0),
        ("app_name", "", "a"),
        ("app_name", "x" * 41, "x" * 40),
    ],
)
def test_otp_config_enforces_bounds_when_a_value_is_just_outside(
    key: str, bad: object, good: object
) -> None:
    message = otp_error(**{key: bad})

    assert "otp" in message and key in message
    assert getattr(load_config(overrides={"otp": {key: good}}).otp, key) == good


def test_otp_config_rejects_an_unknown_key_when_misspelt() -> None:
    assert "default_ttl" in otp_error(default_ttl=300)


def test_otp_config_rejects_a_template_whose_format_spec_cannot_format_the_code() -> None:
    # The code is a string: "{code:d}" passes the placeholder check, then every
    # render raises ValueError ("Unknown format code 'd' for object of type 'str'").
    otp_error(template_en="{code:d}")
