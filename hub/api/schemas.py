"""Success bodies the API promises, as msgspec types.

Handlers encode these (so a field cannot be renamed without the type) and the
OpenAPI document takes its response schemas from them, so the two cannot
drift apart. A test converts live responses into them, strictly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import msgspec
from msgspec import Meta

from protocol.lifecycle import State

if TYPE_CHECKING:
    StateName = str
else:
    # Built from the lifecycle's State, in its order, so a new state reaches the
    # OpenAPI enum by itself; a Literal keeps the schema a plain string enum.
    StateName = Literal[tuple(state.value for state in State)]


# forbid_unknown_fields: decoding a live answer into its type (the drift test)
# fails on any field the type, and so the OpenAPI document, does not name.
class Ok(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    ok: Literal[True] = True


class SmsQueued(Ok, kw_only=True):
    request_id: str
    status: Literal["queued"] = "queued"
    queued_at: str


WaitReason = Literal[
    "scheduled",
    "no_relay_online",
    "outside_working_hours",
    "device_limit",
    "relays_busy",
    "carrier_backoff",
]


class MessageWaiting(msgspec.Struct, forbid_unknown_fields=True):
    """Why a scheduled or queued message has not gone to a phone yet."""

    reason: WaitReason
    detail: Annotated[str, Meta(description="Why, in plain words, and what to do about it.")]
    until: Annotated[
        str | msgspec.UnsetType,
        Meta(description="When it can go by itself (RFC 3339), if the hub knows."),
    ] = msgspec.UNSET


class OtpSent(Ok, kw_only=True):
    otp_id: str
    status: Annotated[
        Literal["sent", "queued"],
        Meta(
            description="`sent`: handed to a phone at once. `queued`: no phone could take"
            " it yet; `waiting` says why. The code stays valid, and its SMS goes out as soon"
            " as a phone can take it (unless the code expires first)."
        ),
    ]
    expires_in_seconds: int
    request_id: str
    waiting: Annotated[
        MessageWaiting | None,
        Meta(description="Why the SMS waits, while `status` is `queued`; null when sent."),
    ]


class OtpVerification(Ok, kw_only=True):
    otp_id: str
    valid: Annotated[
        bool,
        Meta(
            description="True only when `status` is `verified`. Let the user in on this,"
            " not on `ok` or the HTTP status: a wrong code is a valid request, answered 200."
        ),
    ]
    status: Literal["verified", "failed", "expired", "max_attempts"]
    attempts_left: int
    reason: Literal["timed_out", "used", "superseded"] | msgspec.UnsetType = msgspec.UNSET


class MessageError(msgspec.Struct, forbid_unknown_fields=True):
    code: str
    message: str


class HistoryEntry(msgspec.Struct, forbid_unknown_fields=True):
    state: str
    at: str
    cause: str
    device_id: str | None
    detail: str | None


class MessageStatus(Ok, kw_only=True):
    request_id: str
    kind: Literal["sms", "otp", "list"]
    status: StateName
    to: str
    text: Annotated[
        str | None, Meta(description="The SMS text; null for an OTP (its text holds the code).")
    ]
    device_id: str | None
    device_name: str | None
    attempts: int
    parts: int
    encoding: Literal["gsm7", "ucs2"]
    error: MessageError | None
    queued_at: str
    dispatched_at: str | None
    accepted_at: str | None
    sent_at: str | None
    delivered_at: str | None
    failed_at: str | None
    expires_at: str
    updated_at: str
    waiting: Annotated[
        MessageWaiting | None,
        Meta(description="Why it has not gone to a phone yet, while queued; else null."),
    ]
    history: list[HistoryEntry]


class Problem(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Every error: RFC 9457 with ``ok: false`` and a stable ``code``."""

    ok: Literal[False] = False
    code: str
    type: str
    title: str
    status: int
    detail: str
    request_id: str
    errors: list[dict[str, str]] | msgspec.UnsetType = msgspec.UNSET
    # Set by some codes: the one field at fault (invalid_device), the scope the
    # token lacks (forbidden), the batch a failed write left part-queued.
    field: str | msgspec.UnsetType = msgspec.UNSET
    missing_scope: str | msgspec.UnsetType = msgspec.UNSET
    batch_id: str | msgspec.UnsetType = msgspec.UNSET
