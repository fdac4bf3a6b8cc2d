"""``/v1/recipients``: saved recipients, search, and CSV import."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType
from starlette.requests import Request
from starlette.responses import Response

from hub.api.errors import ApiError, validation_error
from hub.api.request import (
    Check,
    declared_media,
    hub_of,
    query_int,
    read_body,
    read_raw_body,
    refuse_media,
    require,
)
from hub.api.responses import ok, page
from hub.errors import InvalidNumber
from hub.recipients.csv_import import parse
from hub.text.phone import to_e164

Name = Annotated[str, Meta(max_length=200)]
Phone = Annotated[str, Meta(min_length=1, max_length=32)]
Tags = Annotated[list[Annotated[str, Meta(min_length=1, max_length=50)]], Meta(max_length=50)]
MetadataKey = Annotated[str, Meta(
    pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,39}$", examples=["city"],
    description="a name of up to 40 letters, digits and _, not starting with a digit",
)]  # fmt: skip
Metadata = Annotated[dict[MetadataKey, str | int | float], Meta(max_length=50)]


class CreateRecipient(msgspec.Struct, forbid_unknown_fields=True):
    phone: Phone
    name: Name = ""
    tags: Tags = msgspec.field(default_factory=list)
    metadata: Metadata = msgspec.field(default_factory=dict)


class UpdateRecipient(msgspec.Struct, forbid_unknown_fields=True):
    phone: Phone | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET
    metadata: Metadata | UnsetType = UNSET


def _phone_check(region: str) -> Check:
    def check(body: dict[str, Any]) -> list[dict[str, str]]:
        if "phone" in body:
            try:
                to_e164(body["phone"], region)
            except InvalidNumber as exc:
                return [{"field": "phone", "message": str(exc)}]
        return []

    return check


def _not_found(recipient_id: str) -> ApiError:
    return ApiError("not_found", f"no recipient {recipient_id} in this account")


async def create_recipient(request: Request) -> Response:
    principal = await require(request, "recipients.write")
    hub = hub_of(request)
    region = hub.config.sms.default_region
    body = await read_body(request, CreateRecipient, _phone_check(region))
    recipient = await hub.recipients.create(
        principal.account_id, body.name.strip(), to_e164(body.phone, region), body.tags,
        body.metadata,
    )  # fmt: skip
    return ok(recipient.body(), status=201)


async def list_recipients(request: Request) -> Response:
    principal = await require(request, "recipients.read")
    params = request.query_params
    query = params.get("q")
    if query is not None and len(query) > 100:
        raise validation_error([{"field": "q", "message": "at most 100 characters"}])
    found, cursor = await hub_of(request).recipients.page(
        principal.account_id,
        query,
        params.get("tag"),
        params.get("cursor"),
        query_int(request, "limit", 50, 1, 500),
    )
    return page([r.body() for r in found], cursor)


async def get_recipient(request: Request) -> Response:
    principal = await require(request, "recipients.read")
    recipient_id = request.path_params["recipient_id"]
    recipient = await hub_of(request).recipients.get(principal.account_id, recipient_id)
    if recipient is None:
        raise _not_found(recipient_id)
    return ok(recipient.body())


async def update_recipient(request: Request) -> Response:
    principal = await require(request, "recipients.write")
    hub = hub_of(request)
    region = hub.config.sms.default_region
    recipient_id = request.path_params["recipient_id"]
    body = await read_body(request, UpdateRecipient, _phone_check(region))
    changes = {k: v for k, v in msgspec.structs.asdict(body).items() if v is not UNSET}
    if "phone" in changes:
        changes["phone"] = to_e164(changes["phone"], region)
    recipient = await hub.recipients.update(principal.account_id, recipient_id, changes)
    if recipient is None:
        raise _not_found(recipient_id)
    return ok(recipient.body())


async def delete_recipient(request: Request) -> Response:
    principal = await require(request, "recipients.write")
    recipient_id = request.path_params["recipient_id"]
    if not await hub_of(request).recipients.delete(principal.account_id, recipient_id):
        raise _not_found(recipient_id)
    return ok({"id": recipient_id, "deleted": True})


# What a CSV file is declared as: the standard type, and what spreadsheet
# programs and browsers on Windows label it.
_CSV_MEDIA = frozenset({"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"})


async def import_recipients(request: Request) -> Response:
    """CSV in the body (``text/csv``); good rows saved, bad ones reported by line."""
    principal = await require(request, "recipients.write")
    hub = hub_of(request)
    if (media := declared_media(request)) and media not in _CSV_MEDIA:
        raise refuse_media(media, "text/csv")
    raw = await read_raw_body(request, hub.config.server.max_import_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise validation_error([{"field": "body", "message": "the CSV must be UTF-8"}]) from None
    # Parsing 100,000 rows takes seconds: off the event loop, so sends go on.
    # A file that cannot be read at all is BadCsv, answered for the field "body".
    columns, rows, errors = await asyncio.to_thread(parse, text, hub.config.sms.default_region)
    created, updated = await hub.recipients.upsert_many(principal.account_id, rows, set(columns))
    return ok({"created": created, "updated": updated, "rejected": len(errors), "errors": errors})
