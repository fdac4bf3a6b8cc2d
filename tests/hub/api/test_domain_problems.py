"""Tests for ``hub/api/domain_problems.py``: every refusal of the domain
(``hub/errors.py``) answers the problem body, status and headers API.md gives it."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.requests import Request

from hub import errors
from hub.api.domain_problems import PROBLEMS, handle_domain_error, problem_of
from hub.api.errors import ERRORS, statuses
from hub.errors import DomainError
from hub.store.interface import StorageUnavailable


def request_with_id(request_id: str) -> Request:
    scope = {"type": "http", "method": "POST", "path": "/", "headers": [],
             "state": {"request_id": request_id}}  # fmt: skip
    return Request(scope)


def field(name: str, message: str) -> dict[str, Any]:
    """What a refusal of one field adds to the body."""
    return {"errors": [{"field": name, "message": message}]}


NUMBER = "is not a phone number; write it in E.164"
# (refusal, status, code, detail, headers, extra body fields)
CASES: list[tuple[DomainError, int, str, str, dict[str, str], dict[str, Any]]] = [
    (
        errors.SubscriptionExpired(datetime(2026, 3, 1, 12, 0, tzinfo=UTC)),
        402, "subscription_expired",
        "the subscription ended at 2026-03-01T12:00:00.000Z; renew it to send again"
        " (reads still work)", {}, {},
    ),
    (
        errors.QueuePaused(), 409, "queue_blocked",
        "this account's queue is paused by the operator", {}, {},
    ),
    (
        errors.QueueFull(queued=98, adding=5, limit=100), 409, "queue_blocked",
        "98 messages are waiting (or being queued) and 5 more would pass the limit of 100;"
        " retry once relays drain it", {}, {},
    ),
    (
        errors.QuotaExceeded(stored=1000, adding=2, quota=1001), 403, "quota_exceeded",
        "this account keeps 1000 messages and 2 more would pass its storage quota of 1001;"
        " the hub keeps every message, so ask the operator to raise [limits]"
        " max_stored_messages in hub.toml", {}, {"stored": 1000, "quota": 1001},
    ),
    (
        errors.RateLimited(per_minute=60, retry_after_s=2), 429, "rate_limited",
        "60 sends per minute allowed; retry in 2 s",
        {"retry-after": "2", "ratelimit-policy": '"send";q=60;w=60',
         "ratelimit": '"send";r=0;t=2'}, {},
    ),
    (
        errors.IdempotencyKeyReused(), 422, "idempotency_conflict",
        "this Idempotency-Key was used with another body; use a new key for a new send", {}, {},
    ),
    (
        errors.IdempotencyKeyBusy(), 409, "idempotency_conflict",
        "a request with this Idempotency-Key is still being handled; retry shortly",
        {"retry-after": "1"}, {},
    ),
    (
        errors.InvalidDevice("sim_slot", "device dev_1 has no SIM in slot 3 (it has 0)"),
        422, "invalid_device", "device dev_1 has no SIM in slot 3 (it has 0)", {},
        {"field": "sim_slot"},
    ),
    (
        errors.TooSoon(25, "login"), 429, "rate_limited",
        "a code was sent to this number for 'login' just now; wait 25 s before sending another",
        {"retry-after": "25"}, {},
    ),
    (
        errors.TooSoon(3420, "login", per_hour=5), 429, "rate_limited",
        "5 codes an hour may go to one number for one purpose; retry in 3420 s",
        {"retry-after": "3420"}, {},
    ),
    (
        errors.DuplicatePhone("rcp_7"), 422, "validation_error",
        "phone: this account has the number already (rcp_7)", {},
        field("phone", "this account has the number already (rcp_7)"),
    ),
    (
        errors.UnknownRecipients([f"rcp_{i}" for i in range(25)]), 422, "validation_error",
        "recipient_ids: not recipients of this account: "
        + ", ".join(f"rcp_{i}" for i in range(20)), {},
        field("recipient_ids", "not recipients of this account: "
              + ", ".join(f"rcp_{i}" for i in range(20))),
    ),
    (
        errors.PartlyQueued("bat_9"), 503, "storage_unavailable",
        "storage failed part way: some messages of batch bat_9 are queued and will go out;"
        " see GET /api/v1/batches/bat_9 before sending the list again", {},
        {"batch_id": "bat_9"},
    ),
    (
        errors.NotCancellable("req_7", "sent"), 409, "not_cancellable",
        "message req_7 is sent: it reached the carrier, which cannot call it back. Only a"
        " message that is queued, dispatched or accepted by a relay (not yet sent) can be"
        " cancelled; GET /api/v1/messages/status shows its state", {},
        {"message_id": "req_7", "message_status": "sent"},
    ),
    (
        errors.InvalidNumber(NUMBER), 422, "validation_error", f"to: {NUMBER}", {},
        field("to", NUMBER),
    ),
    (
        errors.BadTemplate("unknown field {city}"), 422, "validation_error",
        "text: unknown field {city}", {}, field("text", "unknown field {city}"),
    ),
    (
        errors.BadCsv("more than 50 columns"), 422, "validation_error",
        "body: more than 50 columns", {}, field("body", "more than 50 columns"),
    ),
    (
        errors.UnsendableUrl("must not carry a user name or password"), 422, "validation_error",
        "url: must not carry a user name or password", {},
        field("url", "must not carry a user name or password"),
    ),
    (
        errors.TargetRefused("the host nowhere.invalid does not resolve"), 422,
        "validation_error", "url: the host nowhere.invalid does not resolve", {},
        field("url", "the host nowhere.invalid does not resolve"),
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("refusal", "status", "code", "detail", "headers", "extra"),
    CASES,
    ids=lambda value: type(value).__name__ if isinstance(value, DomainError) else "",
)
async def test_each_refusal_answers_its_problem(
    refusal: DomainError,
    status: int,
    code: str,
    detail: str,
    headers: dict[str, str],
    extra: dict[str, Any],
) -> None:
    response = await handle_domain_error(request_with_id("rq_domain_1"), refusal)

    assert response.status_code == status
    assert response.media_type == "application/problem+json"
    assert json.loads(bytes(response.body)) == {
        "ok": False,
        "code": code,
        "type": f"/docs/errors#{code}",
        "title": ERRORS[code][1],
        "status": status,
        "detail": detail,
        "request_id": "rq_domain_1",
        **extra,
    }
    given = {
        k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")
    }
    assert given == headers


def refusals_defined() -> set[type[DomainError]]:
    return {
        cls for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, DomainError) and cls is not DomainError
    }  # fmt: skip


def test_every_refusal_has_an_answer_and_a_case_here() -> None:
    assert set(PROBLEMS) == refusals_defined()
    assert {type(case[0]) for case in CASES} == refusals_defined()


@pytest.mark.parametrize("refusal", [case[0] for case in CASES], ids=lambda r: type(r).__name__)
def test_each_answer_has_a_status_the_errors_table_gives_its_code(refusal: DomainError) -> None:
    answer = problem_of(refusal)

    assert answer.status in statuses(answer.code)


def test_the_errors_table_names_both_statuses_of_idempotency_conflict_and_one_of_the_rest() -> None:
    assert statuses("idempotency_conflict") == (409, 422)
    assert statuses("queue_blocked") == (409,)
    assert all(len(statuses(code)) == 1 for code in ERRORS if code != "idempotency_conflict")


def test_a_partly_stored_submit_is_a_storage_failure_not_a_refusal() -> None:
    # Answered by the storage handler (503 with Retry-After) if nothing catches it.
    partly = errors.PartlyStored(stored=500)

    assert isinstance(partly, StorageUnavailable) and not isinstance(partly, DomainError)
    assert partly.stored == 500
