"""Tests for ``hub/otp.py``: the codes drawn and the SMS texts rendered from them."""

from __future__ import annotations

import pytest

from hub.config import OtpConfig
from hub.otp import new_code, render
from tests.hub.otp.otp_rig import PURPOSE

# --- new_code


@pytest.mark.parametrize("length", [4, 6, 8])
def test_new_code_returns_exactly_length_ascii_digits_when_drawn(length: int) -> None:
    codes = [new_code(length) for _ in range(500)]

    assert all(len(c) == length and c.isascii() and c.isdigit() for c in codes)


def test_new_code_keeps_leading_zeros_when_the_number_drawn_is_small() -> None:
    codes = [new_code(4) for _ in range(2000)]  # about 200 start with 0

    assert any(c.startswith("0") for c in codes)
    assert all(len(c) == 4 for c in codes)


def test_new_code_uses_the_whole_range_when_drawn_many_times() -> None:
    codes = {new_code(4) for _ in range(10_000)}

    # Uniform over 10,000 values: about 6,321 distinct expected, sigma about 30.
    assert len(codes) > 6000
    assert {c[0] for c in codes} == set("0123456789")


# --- render

RENDER_CODE = "012345"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "uz",
            "relayhub: login uchun tasdiqlash kodi: 012345. 5 daqiqa amal qiladi."
            " Kodni hech kimga bermang.",
        ),
        ("ru", "relayhub: код 012345 для login. Действует 5 мин. Никому не сообщайте."),
        ("en", "relayhub: your login code is 012345. It expires in 5 min. Do not share it."),
    ],
)
def test_render_uses_the_locale_default_template_when_not_configured(
    locale: str, expected: str
) -> None:
    assert render(OtpConfig(), locale, "login", RENDER_CODE, 300) == expected


@pytest.mark.parametrize("locale", ["uz", "ru", "en"])
def test_render_uses_the_configured_template_of_its_locale_when_each_differs(locale: str) -> None:
    config = OtpConfig(
        app_name="Shop",
        template_uz="uz {app} {purpose} {code} {minutes}",
        template_ru="ru {app} {purpose} {code} {minutes}",
        template_en="en {app} {purpose} {code} {minutes}",
    )

    assert render(config, locale, "signup", RENDER_CODE, 120) == f"{locale} Shop signup 012345 2"


@pytest.mark.parametrize(
    ("ttl_s", "minutes"), [(30, 1), (60, 1), (61, 2), (119, 2), (120, 2), (300, 5), (900, 15)]
)
def test_render_rounds_minutes_up_when_the_ttl_is_not_whole_minutes(
    ttl_s: int, minutes: int
) -> None:
    config = OtpConfig(template_en="{code} {minutes}")

    assert render(config, "en", PURPOSE, RENDER_CODE, ttl_s) == f"012345 {minutes}"


def test_render_names_the_configured_app_when_app_name_is_set() -> None:
    text = render(OtpConfig(app_name="Bozor"), "en", PURPOSE, RENDER_CODE, 300)

    assert text.startswith("Bozor: ")


def test_render_appends_the_autofill_line_when_autofill_domain_is_set() -> None:
    config = OtpConfig(autofill_domain="shop.example.com", template_en="Code {code}")

    assert render(config, "en", PURPOSE, RENDER_CODE, 300) == (
        "Code 012345\n\n@shop.example.com #012345"
    )


@pytest.mark.parametrize("locale", ["uz", "ru", "en"])
def test_render_adds_no_autofill_line_when_autofill_domain_is_empty(locale: str) -> None:
    text = render(OtpConfig(), locale, PURPOSE, RENDER_CODE, 300)

    assert "@" not in text
    assert "\n" not in text
    assert text.count(RENDER_CODE) == 1
