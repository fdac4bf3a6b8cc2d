"""The log filter that masks secrets, on records shaped like the ones uvicorn writes."""

from __future__ import annotations

import logging

import pytest
from uvicorn.logging import AccessFormatter, DefaultFormatter

from hub.redaction import MASK, RedactSecrets, install, redact

DEVICE_TOKEN = "rhd_uKT0pnY8FA5vcBRPjRdMk9ZNl7wo3ie7uBqH5HA9_Mc"


def record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.DEBUG, __file__, 1, msg, args, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Bearer {DEVICE_TOKEN}", f"Bearer {MASK}"),
        ("authorization: bearer my-own-admin-secret", f"authorization: bearer {MASK}"),
        ("key rh_AbCdEfGh12345678 and whsec_c2VjcmV0c2VjcmV0", f"key rh_{MASK} and whsec_{MASK}"),
        ("req_01M8ER1BN7RC178WCZAF6CZYKE search_text rh_", "req_01M8ER1BN7RC178WCZAF6CZYKE"
         " search_text rh_"),
    ],
)  # fmt: skip
def test_redact_masks_bearer_credentials_and_hub_secrets_only(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_filter_masks_a_handshake_header_logged_by_websockets() -> None:
    logged = record("uvicorn.error", "< %s: %s", "authorization", f"Bearer {DEVICE_TOKEN}")

    assert RedactSecrets().filter(logged) is True
    assert DefaultFormatter("%(message)s").format(logged) == f"< authorization: Bearer {MASK}"


def test_filter_keeps_the_access_log_arguments_its_formatter_unpacks() -> None:
    logged = record(
        "uvicorn.access", '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000", "GET", f"/api/v1/messages?token={DEVICE_TOKEN}", "1.1", 200,
    )  # fmt: skip

    RedactSecrets().filter(logged)
    line = AccessFormatter("%(request_line)s %(status_code)s").format(logged)

    assert line == f"GET /api/v1/messages?token=rhd_{MASK} HTTP/1.1 200 OK"


def test_filter_leaves_a_record_without_secrets_as_it_was() -> None:
    logged = record("hub.delivery", "resuming %d unfinished message(s)", 3)

    RedactSecrets().filter(logged)

    assert (logged.msg, logged.args) == ("resuming %d unfinished message(s)", (3,))


def test_install_puts_the_filter_on_each_handler_once() -> None:
    handler = logging.NullHandler()
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    try:
        install(("tests.redaction",))
        install(("tests.redaction",))
        assert sum(isinstance(f, RedactSecrets) for f in handler.filters) == 1
    finally:
        logger.removeHandler(handler)
