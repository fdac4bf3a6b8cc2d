"""Success bodies the API promises, as msgspec types.

Handlers encode these (so a field cannot be renamed without the type) and the
OpenAPI document takes its response schemas from them, so the two cannot
drift apart. A test converts live responses into them, strictly.
"""

from __future__ import annotations

from typing import Literal

import msgspec


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
    detail: str  # plain words, with what to do about it
    until: str | msgspec.UnsetType = msgspec.UNSET  # when it can go by itself, if known


class OtpSent(Ok, kw_only=True):
    otp_id: str
    # "sent": handed to a phone at once; "queued": no phone could take it yet,
    # and ``waiting`` says why (the code stays valid; the SMS goes once one can).
    status: Literal["sent", "queued"] = "sent"
    expires_in_seconds: int
    request_id: str
    waiting: MessageWaiting | None = None


class OtpVerification(Ok, kw_only=True):
    otp_id: str
    # True only for "verified": test this, not ``ok`` or the HTTP status (a wrong
    # code is a valid request, answered 200).
    valid: bool
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
    status: Literal[
        "queued", "dispatched", "accepted", "sent", "delivered", "failed", "expired", "cancelled"
    ]
    to: str
    text: str | None  # None for an OTP: its text holds the code
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
    waiting: MessageWaiting | None  # set while it is queued and cannot go yet
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
