"""``/v1/recipient-lists``: named lists, their members, and list sends."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response

from hub.api.errors import ApiError, validation_error
from hub.api.request import hub_of, query_int, read_body, require
from hub.api.responses import ok, page
from hub.errors import BadTemplate
from hub.ids import new_id
from hub.messaging.batches import placeholders
from hub.text.sms_text import unsendable

ListName = Annotated[str, Meta(min_length=1, max_length=100)]
Ids = Annotated[list[Annotated[str, Meta(min_length=1, max_length=64)]], Meta(max_length=10_000)]


class CreateList(msgspec.Struct, forbid_unknown_fields=True):
    name: ListName
    recipient_ids: Ids = msgspec.field(default_factory=list)


class RenameList(msgspec.Struct, forbid_unknown_fields=True):
    name: ListName


class Members(msgspec.Struct, forbid_unknown_fields=True):
    recipient_ids: Ids


class QueueList(msgspec.Struct, forbid_unknown_fields=True):
    list_id: Annotated[str, Meta(min_length=1, max_length=64)]
    text: Annotated[str, Meta(min_length=1, max_length=5000)]
    device_id: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    ttl_seconds: int | None = None


def _not_found(list_id: str) -> ApiError:
    return ApiError("not_found", f"no recipient list {list_id} in this account")


async def create_list(request: Request) -> Response:
    principal = await require(request, "recipients.write")
    body = await read_body(request, CreateList)
    created = await hub_of(request).lists.create(
        principal.account_id, body.name.strip(), body.recipient_ids
    )
    return ok(created, status=201)


async def list_lists(request: Request) -> Response:
    principal = await require(request, "recipients.read")
    items, cursor = await hub_of(request).lists.page(
        principal.account_id, request.query_params.get("cursor"),
        query_int(request, "limit", 50, 1, 500),
    )  # fmt: skip
    return page(items, cursor)


async def get_list(request: Request) -> Response:
    principal = await require(request, "recipients.read")
    list_id = request.path_params["list_id"]
    found = await hub_of(request).lists.get(principal.account_id, list_id)
    if found is None:
        raise _not_found(list_id)
    return ok(found)


async def rename_list(request: Request) -> Response:
    principal = await require(request, "recipients.write")
    list_id = request.path_params["list_id"]
    body = await read_body(request, RenameList)
    found = await hub_of(request).lists.rename(principal.account_id, list_id, body.name.strip())
    if found is None:
        raise _not_found(list_id)
    return ok(found)


async def delete_list(request: Request) -> Response:
    principal = await require(request, "recipients.write")
    list_id = request.path_params["list_id"]
    if not await hub_of(request).lists.delete(principal.account_id, list_id):
        raise _not_found(list_id)
    return ok({"id": list_id, "deleted": True})


async def list_members(request: Request) -> Response:
    principal = await require(request, "recipients.read")
    list_id = request.path_params["list_id"]
    lists = hub_of(request).lists
    if await lists.get(principal.account_id, list_id) is None:
        raise _not_found(list_id)
    limit = query_int(request, "limit", 100, 1, 1000)
    found = await lists.members(
        principal.account_id, list_id, request.query_params.get("cursor"), limit + 1
    )
    cursor = found[limit - 1].id if len(found) > limit else None
    return page([r.body() for r in found[:limit]], cursor)


async def _change_members(request: Request, adding: bool) -> Response:
    principal = await require(request, "recipients.write")
    list_id = request.path_params["list_id"]
    body = await read_body(request, Members)
    add, remove = (body.recipient_ids, []) if adding else ([], body.recipient_ids)
    lists = hub_of(request).lists
    changed = await lists.change_members(principal.account_id, list_id, add, remove)
    if changed is None:
        raise _not_found(list_id)
    found = await lists.get(principal.account_id, list_id)
    assert found is not None
    return ok({**found, "changed": changed})


async def add_members(request: Request) -> Response:
    return await _change_members(request, adding=True)


async def remove_members(request: Request) -> Response:
    return await _change_members(request, adding=False)


async def queue_list(request: Request) -> Response:
    """Queue one message per number of the list; 202 once every one is durable."""
    principal = await require(request, "sms.send")
    hub = hub_of(request)
    body = await read_body(request, QueueList)
    sms = hub.config.sms
    errors: list[dict[str, str]] = []
    if unfit := unsendable(body.text):
        errors.append({"field": "text", "message": unfit})
    try:
        placeholders(body.text)
    except BadTemplate as exc:
        errors.append({"field": "text", "message": str(exc)})
    ttl = body.ttl_seconds if body.ttl_seconds is not None else sms.default_ttl_s
    if not sms.min_ttl_s <= ttl <= sms.max_ttl_s:
        errors.append({"field": "ttl_seconds",
                       "message": f"must be from {sms.min_ttl_s} to {sms.max_ttl_s}"})  # fmt: skip
    if errors:
        raise validation_error(errors)
    account_id = principal.account_id
    if await hub.lists.get(account_id, body.list_id) is None:
        message = f"no recipient list {body.list_id} in this account"
        raise validation_error([{"field": "list_id", "message": message}])
    hub.accounts.check_open(account_id)
    hub.devices.check_can_send(account_id, body.device_id, None)
    members = await hub.lists.members(account_id, body.list_id)
    batch_id = new_id("bat", hub.clock.now())
    plan = hub.batches.plan(account_id, batch_id, members, body.text, body.device_id, ttl)
    # Admitted as one: the list is written in chunks with awaits between, and
    # until it is all queued another send must count it as waiting.
    queued_now = hub.messaging.queued_count(account_id)
    async with hub.accounts.admitting_everywhere(account_id, queued_now, len(plan.messages)):
        queued = await hub.batches.queue(account_id, batch_id, body.list_id, body.text, plan)
    answer: dict[str, Any] = {"batch_id": batch_id, "queued": queued, "skipped": plan.skipped}
    return ok(answer, status=202)


async def get_batch(request: Request) -> Response:
    principal = await require(request, "messages.read")
    batch_id = request.path_params["batch_id"]
    found = await hub_of(request).batches.get(principal.account_id, batch_id)
    if found is None:
        raise ApiError("not_found", f"no batch {batch_id} in this account")
    return ok(found)


async def cancel_batch(request: Request) -> Response:
    principal = await require(request, "sms.send")
    batch_id = request.path_params["batch_id"]
    hub = hub_of(request)
    cancelled = await hub.batches.cancel(principal.account_id, batch_id)
    if cancelled is None:
        raise ApiError("not_found", f"no batch {batch_id} in this account")
    found = await hub.batches.get(principal.account_id, batch_id)
    return ok({**(found or {}), "cancelled": cancelled})
