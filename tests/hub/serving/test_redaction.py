"""The log filter that masks secrets, on records shaped like the ones uvicorn writes."""

from __future__ import annotations

import logging

import pytest
from uvicorn.logging import AccessFormatter, DefaultFormatter

from hub.serving.redaction import MASK, RedactSecrets, install, redact

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


WEBHOOK_SECRET = "whsec_q+8/Zt3W1vXy0Gk+7/mN2sLpR4aB6cDeFgHiJkLmNoP="
ACCESS_TOKEN = "rh_AbCdEfGh12345678_-ijklmnop"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # base64 with + / = : the whole secret, not just the part before the first +
        (f"?secret={WEBHOOK_SECRET}", f"?secret=whsec_{MASK}"),
        # percent-encoded, as a client's URL library writes a query value
        ("?secret=whsec_q%2B8%2FZt3W1vXy0Gk%2B7%2FmN2sLpR4aB6cDeFgHiJkLmNoP%3D&x=1",
         f"?secret=whsec_{MASK}&x=1"),
        # the prefix itself encoded, in part or whole, and in lower-case hex
        ("?t=%72h_AbCdEfGh12345678_-ijklmnop", f"?t=%72h_{MASK}"),
        ("?t=rh%5fAbCdEfGh12345678", f"?t=rh%5f{MASK}"),
        ("?t=%72%68%64%5F%41bCdEfGh12345678", f"?t=%72%68%64%5F{MASK}"),
        # encoded twice (a proxy or a client that encodes an encoded value)
        ("?t=%2572h_AbCdEfGh12345678", f"?t=%2572h_{MASK}"),
        # a secret right after an encoded separator or a stray %
        ("?q=a%20rh_AbCdEfGh12345678", f"?q=a%20rh_{MASK}"),
        ("?q=100%rh_AbCdEfGh12345678", f"?q=100%rh_{MASK}"),
        # the secret of a QR pairing payload put in a URL
        ("?p=relayhub%3A%2F%2Fpair%3Fhub%3Dhttp%253A%252F%252Fh%26code%3DkQ3v9Xa1_bZ-8mN2pL4r",
         f"?p=relayhub%3A%2F%2Fpair%3Fhub%3Dhttp%253A%252F%252Fh%26code%3D{MASK}"),
        ("relayhub://pair?hub=http%3A%2F%2Fh&code=kQ3v9Xa1_bZ-8mN2pL4r",
         f"relayhub://pair?hub=http%3A%2F%2Fh&code={MASK}"),
    ],
)  # fmt: skip
def test_redact_masks_secrets_however_they_are_percent_encoded(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redact_never_writes_decoded_text_into_the_log() -> None:
    # Masking works on decoded text but edits the original: an encoded line break
    # stays encoded, so a masked line cannot be split into a forged one.
    text = "/x?a=%0D%0A127.0.0.1%20-%20%22GET%20/admin%22&t=%72h_AbCdEfGh12345678"

    assert redact(text) == f"/x?a=%0D%0A127.0.0.1%20-%20%22GET%20/admin%22&t=%72h_{MASK}"
    assert redact("/x?a=%0D%0A%zz%") == "/x?a=%0D%0A%zz%"  # nothing to mask: unchanged


def test_filter_masks_an_encoded_secret_in_the_access_log() -> None:
    logged = record(
        "uvicorn.access", '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5000", "GET", "/api/v1/messages?s=whsec_q%2B8%2FZt3W1vXy0Gk%2B7", "1.1", 401,
    )  # fmt: skip

    RedactSecrets().filter(logged)
    line = AccessFormatter("%(request_line)s %(status_code)s").format(logged)

    assert line == f"GET /api/v1/messages?s=whsec_{MASK} HTTP/1.1 401 Unauthorized"
