"""The domain's refusals (hub/errors.py) as the API answers them.

One function per refusal words it: the error code, the detail with its fix
hint, the headers (Retry-After, RateLimit) and extra fields. ``hub/app.py``
registers ``handle_domain_error``, so a handler that lets a refusal through
answers the same problem as one that catches it. Handlers still catch a
refusal to name the field of their own request (a phone number is ``to`` in
one body and ``phone`` in another) or to gather it with other problems.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from hub.api.errors import ApiError, problem, request_id_of, validation_error
from hub.clock import rfc3339
from hub.errors import (
    BadCsv,
    BadTemplate,
    DomainError,
    DuplicatePhone,
    IdempotencyKeyBusy,
    IdempotencyKeyReused,
    InvalidDevice,
    InvalidNumber,
    NotCancellable,
    PartlyQueued,
    QueueFull,
    QueuePaused,
    QuotaExceeded,
    RateLimited,
    SubscriptionExpired,
    TargetRefused,
    TooSoon,
    UnknownRecipients,
    UnsendableUrl,
)

LISTED_IDS: Final = 20  # unknown recipient ids named in the message; a list may have 10,000


def _field(field: str, exc: Exception) -> ApiError:
    """A refusal whose message is its reason, for one field of the body."""
    return validation_error([{"field": field, "message": str(exc)}])


def _subscription_expired(exc: SubscriptionExpired) -> ApiError:
    return ApiError(
        "subscription_expired",
        f"the subscription ended at {rfc3339(exc.ended_at)}; renew it to send again"
        " (reads still work)",
    )


def _queue_paused(exc: QueuePaused) -> ApiError:
    return ApiError("queue_blocked", "this account's queue is paused by the operator")


def _queue_full(exc: QueueFull) -> ApiError:
    return ApiError(
        "queue_blocked",
        f"{exc.queued} messages are waiting (or being queued) and {exc.adding} more would"
        f" pass the limit of {exc.limit}; retry once relays drain it",
    )


def _quota_exceeded(exc: QuotaExceeded) -> ApiError:
    return ApiError(
        "quota_exceeded",
        f"this account keeps {exc.stored} messages and {exc.adding} more would pass its"
        f" storage quota of {exc.quota}; the hub keeps every message, so ask the operator"
        " to raise [limits] max_stored_messages in hub.toml",
        extra={"stored": exc.stored, "quota": exc.quota},
    )


def _rate_limited(exc: RateLimited) -> ApiError:
    retry = exc.retry_after_s
    return ApiError(
        "rate_limited",
        f"{exc.per_minute} sends per minute allowed; retry in {retry} s",
        headers={
            "Retry-After": str(retry),
            "RateLimit-Policy": f'"send";q={exc.per_minute};w=60',
            "RateLimit": f'"send";r=0;t={retry}',
        },
    )


def _key_reused(exc: IdempotencyKeyReused) -> ApiError:
    return ApiError(
        "idempotency_conflict",
        "this Idempotency-Key was used with another body; use a new key for a new send",
        status=422,
    )


def _key_busy(exc: IdempotencyKeyBusy) -> ApiError:
    return ApiError(
        "idempotency_conflict",
        "a request with this Idempotency-Key is still being handled; retry shortly",
        status=409,
        headers={"Retry-After": "1"},
    )


def _invalid_device(exc: InvalidDevice) -> ApiError:
    return ApiError("invalid_device", str(exc), extra={"field": exc.field})


def _too_soon(exc: TooSoon) -> ApiError:
    if exc.per_hour is not None:
        detail = (
            f"{exc.per_hour} codes an hour may go to one number for one purpose;"
            f" retry in {exc.retry_after} s"
        )
    else:
        detail = (
            f"a code was sent to this number for '{exc.purpose}' just now;"
            f" wait {exc.retry_after} s before sending another"
        )
    return ApiError("rate_limited", detail, headers={"Retry-After": str(exc.retry_after)})


def _duplicate_phone(exc: DuplicatePhone) -> ApiError:
    message = f"this account has the number already ({exc.recipient_id})"
    return validation_error([{"field": "phone", "message": message}])


def _unknown_recipients(exc: UnknownRecipients) -> ApiError:
    message = f"not recipients of this account: {', '.join(exc.ids[:LISTED_IDS])}"
    return validation_error([{"field": "recipient_ids", "message": message}])


def _partly_queued(exc: PartlyQueued) -> ApiError:
    return ApiError(
        "storage_unavailable",
        f"storage failed part way: some messages of batch {exc.batch_id} are queued and"
        f" will go out; see GET /api/v1/batches/{exc.batch_id} before sending the list again",
        extra={"batch_id": exc.batch_id},
    )


# Why each ended state cannot be cancelled, and what the client may do instead.
_NOT_CANCELLABLE: Final = {
    "sent": "it reached the carrier, which cannot call it back",
    "delivered": "it reached the recipient's phone",
    "failed": "it failed and will not be sent; nothing is left to cancel",
    "expired": "it expired in the queue and will not be sent; nothing is left to cancel",
    "cancelled": "it was cancelled already and will not be sent",
}


def _not_cancellable(exc: NotCancellable) -> ApiError:
    why = _NOT_CANCELLABLE.get(exc.state, "it cannot be cancelled in this state")
    return ApiError(
        "not_cancellable",
        f"message {exc.message_id} is {exc.state}: {why}. Only a message that is queued,"
        " dispatched or accepted by a relay (not yet sent) can be cancelled;"
        " GET /api/v1/messages/status shows its state",
        extra={"message_id": exc.message_id, "message_status": exc.state},
    )


# Each refusal → its answer. Those that only name a field say which field a
# body most often has them in; handlers that read it elsewhere catch and name theirs.
PROBLEMS: Final[dict[type[DomainError], Callable[[Any], ApiError]]] = {
    SubscriptionExpired: _subscription_expired,
    QueuePaused: _queue_paused,
    QueueFull: _queue_full,
    QuotaExceeded: _quota_exceeded,
    RateLimited: _rate_limited,
    IdempotencyKeyReused: _key_reused,
    IdempotencyKeyBusy: _key_busy,
    InvalidDevice: _invalid_device,
    TooSoon: _too_soon,
    DuplicatePhone: _duplicate_phone,
    UnknownRecipients: _unknown_recipients,
    PartlyQueued: _partly_queued,
    NotCancellable: _not_cancellable,
    InvalidNumber: lambda exc: _field("to", exc),
    BadTemplate: lambda exc: _field("text", exc),
    BadCsv: lambda exc: _field("body", exc),
    UnsendableUrl: lambda exc: _field("url", exc),
    TargetRefused: lambda exc: _field("url", exc),
}


def problem_of(exc: DomainError) -> ApiError:
    """The API's answer to a refusal of the domain."""
    return PROBLEMS[type(exc)](exc)


async def handle_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return problem(request_id_of(request), problem_of(exc))
