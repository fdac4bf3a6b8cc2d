"""``/v1/webhooks``: a customer's webhook endpoints and their attempts log
(scope ``webhooks.manage``)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType
from starlette.requests import Request
from starlette.responses import Response

from hub.api.errors import ApiError, validation_error
from hub.api.request import hub_of, query_int, read_body, require
from hub.api.responses import ok, page
from hub.errors import TargetRefused
from hub.events.outbox import EVENT_TYPES
from hub.webhooks.deliveries import STATUSES
from hub.webhooks.endpoints import Endpoint
from hub.webhooks.targets import check_target

SCOPE = "webhooks.manage"
Url = Annotated[str, Meta(min_length=8, max_length=2000)]
Events = Annotated[list[str], Meta(min_length=1, max_length=len(EVENT_TYPES))]
Description = Annotated[str, Meta(max_length=500)]


class CreateWebhook(msgspec.Struct, forbid_unknown_fields=True):
    url: Url
    events: Events = msgspec.field(default_factory=lambda: list(EVENT_TYPES))
    description: Description = ""
    enabled: bool = True


class UpdateWebhook(msgspec.Struct, forbid_unknown_fields=True):
    url: Url | UnsetType = UNSET
    events: Events | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET


def endpoint_body(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
        "previous_secret_valid_until": endpoint.rotating_until,
        "disabled_reason": endpoint.disabled_reason,
    }


async def _validate(request: Request, url: str | None, events: list[str] | None) -> str | None:
    """The URL as it will be stored (normalised), once the request is found valid."""
    errors = []
    if events is not None:
        unknown = sorted(set(events) - set(EVENT_TYPES))
        if unknown:
            errors.append({"field": "events", "message": f"unknown: {', '.join(unknown)};"
                           f" choose from {', '.join(EVENT_TYPES)}"})  # fmt: skip
    if url is not None:
        try:
            target = await check_target(url, hub_of(request).config.webhooks.allow_private_targets)
            url = target.url
        except TargetRefused as exc:
            errors.append({"field": "url", "message": str(exc)})
    if errors:
        raise validation_error(errors)
    return url


def _not_found(endpoint_id: str) -> ApiError:
    return ApiError("not_found", f"no webhook endpoint {endpoint_id} in this account")


async def create_webhook(request: Request) -> Response:
    principal = await require(request, SCOPE)
    body = await read_body(request, CreateWebhook)
    url = await _validate(request, body.url, body.events)
    assert url is not None
    hub = hub_of(request)
    limit = hub.config.webhooks.max_endpoints_per_account
    made = await hub.webhook_endpoints.create(
        principal.account_id, url, sorted(set(body.events)), body.description, body.enabled,
        limit=limit,
    )  # fmt: skip
    if made is None:
        raise validation_error([{"field": "body", "message":
            f"this account already has {limit} webhook endpoints, the most [webhooks]"
            " max_endpoints_per_account allows; delete one it no longer needs"
            " (DELETE /api/v1/webhooks/{id}) or point one elsewhere (PATCH /api/v1/webhooks/{id}"
            ' {"url": …}), or ask the hub\'s operator to raise the limit'}])  # fmt: skip
    endpoint, secret = made
    hub.webhook_sender.endpoint_changed(endpoint.id)
    return ok({**endpoint_body(endpoint), "secret": secret}, status=201)


async def list_webhooks(request: Request) -> Response:
    principal = await require(request, SCOPE)
    limit = query_int(request, "limit", 100, 1, 500)
    endpoints = await hub_of(request).webhook_endpoints.of_account(
        principal.account_id, request.query_params.get("cursor"), limit + 1
    )
    next_cursor = endpoints[limit - 1].id if len(endpoints) > limit else None
    return page([endpoint_body(e) for e in endpoints[:limit]], next_cursor)


async def get_webhook(request: Request) -> Response:
    principal = await require(request, SCOPE)
    endpoint_id = request.path_params["webhook_id"]
    endpoint = await hub_of(request).webhook_endpoints.get(principal.account_id, endpoint_id)
    if endpoint is None:
        raise _not_found(endpoint_id)
    return ok(endpoint_body(endpoint))


async def update_webhook(request: Request) -> Response:
    principal = await require(request, SCOPE)
    endpoint_id = request.path_params["webhook_id"]
    body = await read_body(request, UpdateWebhook)
    changes = {k: v for k, v in msgspec.structs.asdict(body).items() if v is not UNSET}
    url = await _validate(request, changes.get("url"), changes.get("events"))
    if url is not None:
        changes["url"] = url
    if "events" in changes:
        changes["events"] = sorted(set(changes["events"]))
    hub = hub_of(request)
    endpoint = await hub.webhook_endpoints.update(principal.account_id, endpoint_id, **changes)
    if endpoint is None:
        raise _not_found(endpoint_id)
    hub.webhook_sender.endpoint_changed(endpoint_id)
    return ok(endpoint_body(endpoint))


async def delete_webhook(request: Request) -> Response:
    principal = await require(request, SCOPE)
    endpoint_id = request.path_params["webhook_id"]
    hub = hub_of(request)
    if not await hub.webhook_endpoints.delete(principal.account_id, endpoint_id):
        raise _not_found(endpoint_id)
    hub.webhook_sender.endpoint_changed(endpoint_id)
    return ok({"id": endpoint_id, "deleted": True})


async def rotate_secret(request: Request) -> Response:
    principal = await require(request, SCOPE)
    endpoint_id = request.path_params["webhook_id"]
    hub = hub_of(request)
    secret = await hub.webhook_endpoints.rotate(principal.account_id, endpoint_id)
    if secret is None:
        raise _not_found(endpoint_id)
    endpoint = await hub.webhook_endpoints.get(principal.account_id, endpoint_id)
    assert endpoint is not None
    return ok({**endpoint_body(endpoint), "secret": secret})


# --- the attempts log ------------------------------------------------------


async def list_deliveries(request: Request) -> Response:
    principal = await require(request, SCOPE)
    params = request.query_params
    errors = []
    event_type, status = params.get("event_type"), params.get("status")
    if event_type is not None and event_type not in EVENT_TYPES:
        errors.append({"field": "event_type", "message": f"one of {', '.join(EVENT_TYPES)}"})
    if status is not None and status not in STATUSES:
        errors.append({"field": "status", "message": f"one of {', '.join(STATUSES)}"})
    if errors:
        raise validation_error(errors)
    items, next_cursor = await hub_of(request).webhook_attempts.page(
        principal.account_id,
        endpoint_id=params.get("endpoint_id"),
        event_type=event_type,
        status=status,
        cursor=params.get("cursor"),
        limit=query_int(request, "limit", 50, 1, 500),
    )
    return page(items, next_cursor)


async def get_delivery(request: Request) -> Response:
    principal = await require(request, SCOPE)
    delivery_id = request.path_params["delivery_id"]
    delivery = await hub_of(request).webhook_attempts.get(principal.account_id, delivery_id)
    if delivery is None:
        raise ApiError("not_found", f"no webhook delivery {delivery_id} in this account")
    return ok(delivery)


async def redeliver(request: Request) -> Response:
    """Send a delivery's event again, as a new delivery (same ``webhook-id``)."""
    principal = await require(request, SCOPE)
    delivery_id = request.path_params["delivery_id"]
    hub = hub_of(request)
    original = await hub.webhook_attempts.get(principal.account_id, delivery_id)
    if original is None:
        raise ApiError("not_found", f"no webhook delivery {delivery_id} in this account")
    if original["event"] is None:
        raise ApiError(
            "not_found",
            f"the event of {delivery_id} is no longer kept ([events] retention_days)",
        )
    endpoint = await hub.webhook_endpoints.get(principal.account_id, original["endpoint_id"])
    if endpoint is None or not endpoint.enabled:
        raise validation_error([{"field": "endpoint_id", "message":
            f"the endpoint {original['endpoint_id']} is disabled; enable it first with"
            ' PATCH /api/v1/webhooks/{id} {"enabled": true}'}])  # fmt: skip
    row = await hub.webhook_attempts.redeliver(principal.account_id, delivery_id)
    if row is None:
        raise ApiError("not_found", f"no webhook delivery {delivery_id} in this account")
    hub.webhook_sender.add(row)
    new = await hub.webhook_attempts.get(principal.account_id, row["id"])
    assert new is not None
    new.pop("event")
    return ok(new, status=202)
