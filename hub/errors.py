"""The domain's refusals, in one place: plain exceptions that carry the facts.

The rules that say no (accounts, idempotency, devices, OTP, recipients, list
sends, webhook targets, phone numbers) raise these and know nothing of HTTP.
``hub/api/domain_problems.py`` alone turns each into a problem body (code,
status, detail, headers); a handler catches one only to name the field at
fault or to gather several problems into one answer.

Two kinds of fact: a refusal with one shape carries its numbers (the API
words them, e.g. ``RateLimited``); one with many possible reasons carries the
reason as its message (e.g. ``InvalidNumber``, ``TargetRefused``); those that
refuse a value are ``ValueError`` too, as they always were.

Left where they are, because they concern the process or its machinery, not a
request the domain refuses: ``ConfigError`` (hub/config.py), ``DataFolderBusy``
(hub/serving/data_lock.py), ``StartRefused`` (hub/cli.py),
``StorageUnavailable`` and ``Conflict`` (hub/store/interface.py), ``ReportGap``
(hub/messaging/writes.py: a write's own consistency check),
``RequestFailed`` (hub/webhooks/http.py), and the protocol's ``FrameError``,
``InvalidTransition``, ``InvalidState``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hub.store.interface import StorageUnavailable


class DomainError(Exception):
    """A refusal of the domain; the API layer answers it (hub/api/domain_problems.py)."""


# --- May this account send now? (AccountDirectory.check_open and admit)


class SubscriptionExpired(DomainError):
    def __init__(self, ended_at: datetime) -> None:
        super().__init__(f"the subscription ended at {ended_at}")
        self.ended_at = ended_at


class QueuePaused(DomainError):
    """The operator paused this account's queue."""


class QueueFull(DomainError):
    """``queued`` wait (or are being queued); ``adding`` more would pass ``limit``."""

    def __init__(self, queued: int, adding: int, limit: int) -> None:
        super().__init__(f"{queued} + {adding} queued would pass {limit}")
        self.queued, self.adding, self.limit = queued, adding, limit


class QuotaExceeded(DomainError):
    """The account keeps ``stored`` messages; ``adding`` more would pass ``quota``."""

    def __init__(self, stored: int, adding: int, quota: int) -> None:
        super().__init__(f"{stored} + {adding} stored would pass {quota}")
        self.stored, self.adding, self.quota = stored, adding, quota


class RateLimited(DomainError):
    """Past ``per_minute`` sends; the next may go in ``retry_after_s`` seconds."""

    def __init__(self, per_minute: int, retry_after_s: int) -> None:
        super().__init__(f"{per_minute} per minute; retry in {retry_after_s} s")
        self.per_minute, self.retry_after_s = per_minute, retry_after_s


# --- Idempotency-Key (hub/messaging/idempotency.py)


class IdempotencyKeyReused(DomainError):
    """The key was used with another body."""


class IdempotencyKeyBusy(DomainError):
    """A request with this key is still being handled."""


# --- Which device may take a message (DeviceDirectory.check_can_send)


class InvalidDevice(DomainError):
    """No device of the account can take the message; ``field`` is the one at fault."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


# --- One-time codes (Otps.check_limits)


class TooSoon(DomainError):
    """A resend limit: ``retry_after`` seconds until the next code of ``purpose``
    may go; ``per_hour`` is set when the hourly cap (not the cooldown) is the cause."""

    def __init__(self, retry_after: int, purpose: str, per_hour: int | None = None) -> None:
        super().__init__(f"retry in {retry_after} s")
        self.retry_after, self.purpose, self.per_hour = retry_after, purpose, per_hour


# --- Text, numbers, recipients and list sends


class InvalidNumber(DomainError, ValueError):
    """Not a phone number the hub can send to; the message says why, for a client."""


class BadTemplate(DomainError, ValueError):
    """A list send's text template does not parse or asks for a field it cannot fill."""


class BadCsv(DomainError, ValueError):
    """A recipients CSV file that cannot be read as a whole (bad rows are only reported)."""


class DuplicatePhone(DomainError):
    """The account has a recipient with this number already: ``recipient_id``."""

    def __init__(self, recipient_id: str) -> None:
        super().__init__(recipient_id)
        self.recipient_id = recipient_id


class UnknownRecipients(DomainError):
    """Some ids are not recipients of this account (nothing was changed)."""

    def __init__(self, ids: Sequence[str]) -> None:
        super().__init__(", ".join(ids))
        self.ids = list(ids)


class PartlyQueued(DomainError):
    """Storage failed in the middle of a list send; the chunks before it are queued."""

    def __init__(self, batch_id: str) -> None:
        super().__init__(batch_id)
        self.batch_id = batch_id


class PartlyStored(StorageUnavailable):
    """A multi-chunk submit failed after ``stored`` messages were committed.

    A storage failure first (answered as one if nothing more specific catches it);
    ``Batches.queue`` turns it into ``PartlyQueued`` with the batch it belongs to."""

    def __init__(self, stored: int) -> None:
        super().__init__(f"storage failed after {stored} messages were stored")
        self.stored = stored


# --- Cancelling a message (hub/messaging/cancels.py)


class NotCancellable(DomainError):
    """The message already ended, or reached the network: nothing to cancel."""

    def __init__(self, message_id: str, state: str) -> None:
        super().__init__(f"message {message_id} is {state}")
        self.message_id = message_id
        self.state = state


# --- Webhook targets


class UnsendableUrl(DomainError, ValueError):
    """A URL no HTTP request can be made to; the message says why."""


class TargetRefused(DomainError, ValueError):
    """A webhook target the hub will not call (bad URL, internal address, no DNS)."""
