"""What the code cannot say about each API operation by itself: its summary, scope,
tag, query parameters and the errors it names, and what each request-body field is for.

``hub.devdocs.openapi`` builds the document from these and the app's routes; a test
fails when a route has no entry here, so a new endpoint cannot go undocumented.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from hub.api import (
    account,
    admin_accounts,
    devices,
    events,
    health,
    lists,
    message_cancel,
    messages,
    otp,
    pairing,
    recipients,
    sms,
    stats,
    tokens,
    webhooks,
)  # fmt: skip
from hub.api.schemas import MessageStatus, OtpSent, OtpVerification, SmsQueued

Endpoint = Callable[..., Any]


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    type: str = "string"
    required: bool = False


@dataclass(frozen=True)
class Operation:
    summary: str
    scope: str | None  # None: no token needed (or a pairing code)
    tag: str
    body: type | None = None
    status: int = 200
    answer: type | None = None  # the success body's type, when it has one
    query: tuple[Param, ...] = ()
    idempotent: bool = False  # honours Idempotency-Key
    body_media: str = "application/json"
    answer_media: str = "application/json"
    notes: str = ""
    errors: tuple[str, ...] = field(default=())
    also: tuple[int, ...] = ()  # other success statuses, with the same body


CURSOR: Final = (
    Param("limit", "items per page", "integer"),
    Param("cursor", "next_cursor of the previous page"),
)

OPERATIONS: Final[dict[Endpoint, Operation]] = {
    health.health: Operation(
        "Liveness and storage check", None, "health", errors=("unauthorized",),
        notes="No token needed. With any valid token the answer adds `relays_online`: how"
        " many of that account's relays are online; a wrong token is a 401.",
    ),
    account.readiness: Operation("Launch-readiness checklist", "account.read", "account"),
    account.get_account: Operation("Plan, limits and usage", "account.read", "account"),
    pairing.create_pairing_code: Operation(
        "New one-time pairing code with its QR", "devices.manage", "devices",
        body=pairing.PairingCodeRequest, status=201,
    ),
    pairing.pair: Operation(
        "The relay app exchanges a pairing code for its device token", None, "devices",
        body=pairing.PairRequest, status=201,
        notes="Authenticated by the pairing code or QR payload in the body, not a token.",
    ),
    sms.send_sms: Operation(
        "Queue one SMS", "sms.send", "sms", body=sms.SendSmsRequest, status=202,
        answer=SmsQueued, idempotent=True,
        errors=("invalid_device", "rate_limited", "queue_blocked", "quota_exceeded",
                "subscription_expired", "idempotency_conflict"),
    ),
    otp.send_otp: Operation(
        "Send a one-time code", "otp.send", "otp", body=otp.SendOtpRequest, answer=OtpSent,
        errors=("invalid_device", "rate_limited", "queue_blocked", "quota_exceeded",
                "subscription_expired"),
    ),
    otp.verify_otp: Operation(
        "Verify a one-time code", "otp.verify", "otp", body=otp.VerifyOtpRequest,
        answer=OtpVerification,
    ),
    messages.message_status: Operation(
        "What happened to a message, with its full history", "messages.read", "messages",
        answer=MessageStatus,
        query=(Param("request_id", "the id from the send", required=True),),
    ),
    messages.list_messages: Operation(
        "Messages, newest first", "messages.read", "messages",
        query=(Param("status", "one state"), Param("kind", "sms, otp or list"),
               Param("device_id", "the device that holds or held it"),
               Param("to", "the number, written any way"),
               Param("since", "queued at or after (RFC 3339)"), *CURSOR),
    ),
    message_cancel.cancel_message: Operation(
        "Cancel a message before it is sent", "sms.send", "messages",
        answer=message_cancel.MessageCancel, also=(202,), errors=("not_cancellable",),
        notes="200 `cancelled`: it was queued or dispatched, and is now cancelled for good"
        " (a relay holding it is told to drop it). 202 `cancelling`: a relay had accepted"
        " it and is asked to drop it; it ends `cancelled` (event `message.cancelled`), or"
        " `sent` if the carrier had it already. 409 `not_cancellable` once it was sent or"
        " ended. Cancelling again answers by the state it is in now.",
    ),
    events.events: Operation(
        "Live event stream (Server-Sent Events)", "messages.read", "events",
        answer_media="text/event-stream",
        query=(Param("types", "comma-separated event types"),),
        notes="Resumable with the Last-Event-ID header; keepalive comments when idle.",
    ),
    stats.stats: Operation("Queue health for the dashboard", "messages.read", "messages"),
    recipients.import_recipients: Operation(
        "Import recipients from CSV", "recipients.write", "recipients", body_media="text/csv",
        notes="Good rows are saved; every bad row is reported with its line and reason.",
    ),
    recipients.create_recipient: Operation(
        "Save a recipient", "recipients.write", "recipients",
        body=recipients.CreateRecipient, status=201,
    ),
    recipients.list_recipients: Operation(
        "Recipients, newest first; search by name or number", "recipients.read", "recipients",
        query=(Param("q", "a fragment of the name (any script) or number"),
               Param("tag", "an exact tag"), *CURSOR),
    ),
    recipients.get_recipient: Operation("One recipient", "recipients.read", "recipients"),
    recipients.update_recipient: Operation(
        "Change a recipient", "recipients.write", "recipients", body=recipients.UpdateRecipient
    ),
    recipients.delete_recipient: Operation("Delete a recipient", "recipients.write", "recipients"),
    lists.queue_list: Operation(
        "Send one text to every number of a list", "sms.send", "lists", body=lists.QueueList,
        status=202,
        errors=("invalid_device", "rate_limited", "queue_blocked", "quota_exceeded",
                "subscription_expired"),
    ),
    lists.create_list: Operation(
        "Make a recipient list", "recipients.write", "lists", body=lists.CreateList, status=201
    ),
    lists.list_lists: Operation("Recipient lists", "recipients.read", "lists", query=CURSOR),
    lists.get_list: Operation("One list", "recipients.read", "lists"),
    lists.rename_list: Operation(
        "Rename a list", "recipients.write", "lists", body=lists.RenameList
    ),
    lists.delete_list: Operation("Delete a list", "recipients.write", "lists"),
    lists.list_members: Operation("A list's members", "recipients.read", "lists", query=CURSOR),
    lists.add_members: Operation(
        "Add members", "recipients.write", "lists", body=lists.Members
    ),
    lists.remove_members: Operation(
        "Remove members", "recipients.write", "lists", body=lists.Members
    ),
    lists.get_batch: Operation("A list send's counts per state", "messages.read", "lists"),
    lists.cancel_batch: Operation(
        "Cancel what no relay has been handed yet", "sms.send", "lists"
    ),
    devices.list_devices: Operation("Devices with their live state", "devices.read", "devices"),
    devices.get_device: Operation("One device", "devices.read", "devices"),
    devices.update_device: Operation(
        "Rename, disable or enable a device", "devices.manage", "devices",
        body=devices.DevicePatch,
    ),
    devices.revoke_device: Operation("Revoke a device for good", "devices.manage", "devices"),
    tokens.create_token: Operation(
        "Create an access token (shown once)", "tokens.manage", "tokens",
        body=tokens.CreateTokenRequest, status=201,
    ),
    tokens.list_tokens: Operation("Access tokens", "tokens.manage", "tokens"),
    tokens.revoke_token: Operation("Revoke a token at once", "tokens.manage", "tokens"),
    webhooks.list_deliveries: Operation(
        "The attempts log", "webhooks.manage", "webhooks",
        query=(Param("endpoint_id", "one endpoint"), Param("event_type", "one event type"),
               Param("status", "pending, succeeded or failed"), *CURSOR),
    ),
    webhooks.get_delivery: Operation(
        "One delivery with its attempts and event", "webhooks.manage", "webhooks"
    ),
    webhooks.redeliver: Operation(
        "Send a delivery's event again (same webhook-id)", "webhooks.manage", "webhooks",
        status=202,
    ),
    webhooks.create_webhook: Operation(
        "Register an endpoint (secret shown once)", "webhooks.manage", "webhooks",
        body=webhooks.CreateWebhook, status=201,
    ),
    webhooks.list_webhooks: Operation("Endpoints", "webhooks.manage", "webhooks", query=CURSOR),
    webhooks.get_webhook: Operation("One endpoint", "webhooks.manage", "webhooks"),
    webhooks.update_webhook: Operation(
        "Change an endpoint", "webhooks.manage", "webhooks", body=webhooks.UpdateWebhook
    ),
    webhooks.delete_webhook: Operation("Delete an endpoint", "webhooks.manage", "webhooks"),
    webhooks.rotate_secret: Operation(
        "New signing secret; the old one signs during the overlap", "webhooks.manage",
        "webhooks",
    ),
    admin_accounts.create_account: Operation(
        "Operator: create an account", "admin", "admin", body=admin_accounts.CreateAccountRequest,
        status=201,
    ),
    admin_accounts.list_accounts: Operation("Operator: accounts", "admin", "admin"),
    admin_accounts.update_account: Operation(
        "Operator: subscription, pause, limits", "admin", "admin", body=admin_accounts.AccountPatch
    ),
}  # fmt: skip

# What each request-body field means, for the schemas' ``description``: the
# types say name, type, limits and default; these say what the field is for.
_TTL = (
    "how long it may wait in the queue before it expires;"
    " default and range from `[sms]` in hub.toml (a day; 30 s to 7 days)"
)
_DEVICE = (
    "manual relay mode: send from this phone only; leave it out and the hub picks an online one"
)
_LIST_MEMBERS = "ids of saved recipients (`rcp_…`)"
FIELD_NOTES: Final[dict[str, dict[str, str]]] = {
    "SendSmsRequest": {
        "to": "the recipient's number, written any way; stored as E.164",
        "text": "the message; a long one goes as several SMS parts",
        "device_id": _DEVICE,
        "sim_slot": "the SIM slot to send from (0 is the first)",
        "ttl_seconds": _TTL,
    },
    "SendOtpRequest": {
        "to": "the recipient's number, written any way; stored as E.164",
        "purpose": "what the code is for (`login`…); one live code per number and purpose",
        "locale": "the language of the SMS text",
        "ttl_seconds": "how long the code stays valid; default from `[otp]` in hub.toml (300 s)",
        "length": "digits in the code; default from `[otp]` in hub.toml (6)",
        "device_id": _DEVICE,
    },
    "VerifyOtpRequest": {
        "otp_id": "the `otp_id` the send answered",
        "code": "the digits the user typed",
    },
    "QueueList": {
        "list_id": "the list to send to (`lst_…`)",
        "text": "the message; `{name}` and metadata keys (`{city}`) are filled in per recipient",
        "device_id": _DEVICE,
        "ttl_seconds": _TTL,
    },
    "CreateList": {"name": "the list's name", "recipient_ids": _LIST_MEMBERS},
    "RenameList": {"name": "the list's new name"},
    "Members": {"recipient_ids": _LIST_MEMBERS},
    "CreateRecipient": {
        "phone": "the number, written any way; stored as E.164 and unique per account",
        "name": "the name `{name}` fills in",
        "tags": "labels to filter by",
        "metadata": "values a list send's text can use as `{key}`",
    },
    "UpdateRecipient": {
        "phone": "the number, written any way; stored as E.164 and unique per account",
        "name": "the name `{name}` fills in",
        "tags": "labels to filter by; replaces the old ones",
        "metadata": "values a list send's text can use as `{key}`; replaces the old ones",
    },
    "PairingCodeRequest": {"device_name": "the name the phone gets once paired"},
    "PairRequest": {
        "pairing_code": "the code shown on the dashboard (`483-921`); this or `qr_payload`",
        "qr_payload": "the scanned QR code's content; this or `pairing_code`",
        "device_name": "the phone's name, unless the pairing code set one",
        "model": "the phone's model, shown on the dashboard",
        "app_version": "the relay app's version",
    },
    "DevicePatch": {
        "name": "the phone's new name",
        "disabled": "true: no new messages go to it; false: it takes messages again",
    },
    "CreateTokenRequest": {
        "name": "what the token is for, shown in the token list",
        "scopes": "what the token may do (`sms.send`, `messages.read`…); at most your own",
        "expires_at": "when it stops working (RFC 3339); null: never",
    },
    "CreateWebhook": {
        "url": "where the hub POSTs events; a private address needs `allow_private_targets`",
        "events": "the event types to send; default: every one",
        "description": "a note for yourself",
        "enabled": "false: registered but sent nothing",
    },
    "UpdateWebhook": {
        "url": "where the hub POSTs events",
        "events": "the event types to send",
        "description": "a note for yourself",
        "enabled": "false: nothing is sent until it is enabled again",
    },
    "CreateAccountRequest": {"name": "the account's name"},
    "AccountPatch": {
        "subscription_expires_at": "when sends start answering `subscription_expired`; null: never",
        "paused": "true: the account's sends answer `queue_blocked`",
        "limits": "the account's sending limits; fields left out keep their value",
    },
    "LimitsPatch": {
        "send_per_minute": "sends per minute before `rate_limited`",
        "max_queued": "messages waiting at once before `queue_blocked`",
    },
}  # fmt: skip
