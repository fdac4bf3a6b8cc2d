"""``create_app(config)``: the Starlette application, built from explicit parts."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from hub.api import (
    account,
    admin_accounts,
    dashboard,
    devices,
    events,
    health,
    home,
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
)
from hub.api.domain_problems import handle_domain_error
from hub.api.errors import (
    ApiError,
    handle_api_error,
    handle_http_exception,
    handle_storage_unavailable,
    handle_unexpected,
)
from hub.clock import Clock, SystemClock
from hub.config import Config
from hub.devdocs import openapi, page
from hub.errors import DomainError
from hub.hub import Hub
from hub.relay.endpoint import relay_socket
from hub.serving.middleware import (
    BodyLimitMiddleware,
    RequestIdMiddleware,
    ResponseHeadersMiddleware,
)
from hub.store.interface import StorageUnavailable
from hub.webhooks.http import Pool

API = "/api/v1"


def routes() -> list[BaseRoute]:
    """The route table; the OpenAPI document is generated from it."""
    return [
        Route(f"{API}/health", health.health, methods=["GET"]),
        Route(f"{API}/openapi.json", openapi.openapi_json, methods=["GET"]),
        Route(f"{API}/launch/readiness", account.readiness, methods=["GET"]),
        Route(f"{API}/account", account.get_account, methods=["GET"]),
        Route(f"{API}/relay/pairing-codes", pairing.create_pairing_code, methods=["POST"]),
        Route(f"{API}/relay/app/pair", pairing.pair, methods=["POST"]),
        WebSocketRoute(f"{API}/relay/ws", relay_socket),
        Route(f"{API}/sms/send", sms.send_sms, methods=["POST"]),
        Route(f"{API}/otp/send", otp.send_otp, methods=["POST"]),
        Route(f"{API}/otp/verify", otp.verify_otp, methods=["POST"]),
        Route(f"{API}/messages/status", messages.message_status, methods=["GET"]),
        Route(f"{API}/messages", messages.list_messages, methods=["GET"]),
        Route(
            f"{API}/messages/{{request_id}}/cancel", message_cancel.cancel_message, methods=["POST"]
        ),
        Route(f"{API}/events", events.events, methods=["GET"]),
        Route(f"{API}/stats", stats.stats, methods=["GET"]),
        Route(f"{API}/recipients/import", recipients.import_recipients, methods=["POST"]),
        Route(f"{API}/recipients", recipients.create_recipient, methods=["POST"]),
        Route(f"{API}/recipients", recipients.list_recipients, methods=["GET"]),
        Route(f"{API}/recipients/{{recipient_id}}", recipients.get_recipient, methods=["GET"]),
        Route(f"{API}/recipients/{{recipient_id}}", recipients.update_recipient, methods=["PATCH"]),
        Route(
            f"{API}/recipients/{{recipient_id}}", recipients.delete_recipient, methods=["DELETE"]
        ),
        Route(f"{API}/recipient-lists/queue", lists.queue_list, methods=["POST"]),
        Route(f"{API}/recipient-lists", lists.create_list, methods=["POST"]),
        Route(f"{API}/recipient-lists", lists.list_lists, methods=["GET"]),
        Route(f"{API}/recipient-lists/{{list_id}}", lists.get_list, methods=["GET"]),
        Route(f"{API}/recipient-lists/{{list_id}}", lists.rename_list, methods=["PATCH"]),
        Route(f"{API}/recipient-lists/{{list_id}}", lists.delete_list, methods=["DELETE"]),
        Route(f"{API}/recipient-lists/{{list_id}}/members", lists.list_members, methods=["GET"]),
        Route(f"{API}/recipient-lists/{{list_id}}/members", lists.add_members, methods=["POST"]),
        Route(
            f"{API}/recipient-lists/{{list_id}}/members/remove",
            lists.remove_members,
            methods=["POST"],
        ),
        Route(f"{API}/batches/{{batch_id}}", lists.get_batch, methods=["GET"]),
        Route(f"{API}/batches/{{batch_id}}/cancel", lists.cancel_batch, methods=["POST"]),
        Route(f"{API}/devices", devices.list_devices, methods=["GET"]),
        Route(f"{API}/devices/{{device_id}}", devices.get_device, methods=["GET"]),
        Route(f"{API}/devices/{{device_id}}", devices.update_device, methods=["PATCH"]),
        Route(f"{API}/devices/{{device_id}}", devices.revoke_device, methods=["DELETE"]),
        Route(f"{API}/tokens", tokens.create_token, methods=["POST"]),
        Route(f"{API}/tokens", tokens.list_tokens, methods=["GET"]),
        Route(f"{API}/tokens/{{token_id}}", tokens.revoke_token, methods=["DELETE"]),
        # Before /webhooks/{webhook_id}, which would take "deliveries" for an id.
        Route(f"{API}/webhooks/deliveries", webhooks.list_deliveries, methods=["GET"]),
        Route(f"{API}/webhooks/deliveries/{{delivery_id}}", webhooks.get_delivery, methods=["GET"]),
        Route(
            f"{API}/webhooks/deliveries/{{delivery_id}}/redeliver",
            webhooks.redeliver,
            methods=["POST"],
        ),
        Route(f"{API}/webhooks", webhooks.create_webhook, methods=["POST"]),
        Route(f"{API}/webhooks", webhooks.list_webhooks, methods=["GET"]),
        Route(f"{API}/webhooks/{{webhook_id}}", webhooks.get_webhook, methods=["GET"]),
        Route(f"{API}/webhooks/{{webhook_id}}", webhooks.update_webhook, methods=["PATCH"]),
        Route(f"{API}/webhooks/{{webhook_id}}", webhooks.delete_webhook, methods=["DELETE"]),
        Route(
            f"{API}/webhooks/{{webhook_id}}/rotate-secret", webhooks.rotate_secret, methods=["POST"]
        ),
        Route("/", home.home, methods=["GET"]),
        Route("/dashboard", dashboard.page, methods=["GET"]),
        Route("/dashboard/", dashboard.page, methods=["GET"]),
        Mount("/dashboard/assets", app=dashboard.assets, name="dashboard-assets"),
        Route("/docs", page.page_en, methods=["GET"]),
        Route("/docs/uz", page.page_uz, methods=["GET"]),
        Route("/docs/errors", page.errors, methods=["GET"]),
        Mount("/docs/assets", app=page.assets, name="docs-assets"),
        Route(f"{API}/postman.json", page.postman_json, methods=["GET"]),
        Route(f"{API}/admin/accounts", admin_accounts.create_account, methods=["POST"]),
        Route(f"{API}/admin/accounts", admin_accounts.list_accounts, methods=["GET"]),
        Route(
            f"{API}/admin/accounts/{{account_id}}", admin_accounts.update_account, methods=["PATCH"]
        ),
    ]


def create_app(
    config: Config,
    *,
    clock: Clock | None = None,
    admin_token: str | None = None,
    on_started: Callable[[Hub], None] | None = None,
    dashboard_origin: str | None = None,
    webhook_pool: Pool | None = None,
) -> Starlette:
    """Build the hub's ASGI app.

    ``admin_token`` (default: ``RELAYHUB_ADMIN_TOKEN`` from the environment)
    becomes the admin token on the first start; ``on_started`` is called once
    the hub is ready (before it listens: tests wait on it);
    ``dashboard_origin`` keeps a dashboard sign-in link for that origin in the
    data folder (see ``hub.serving.dashboard_link``); ``webhook_pool`` is what
    webhooks are POSTed through (default: a new one; tests pass one that fails).
    """
    token = admin_token if admin_token is not None else os.environ.get("RELAYHUB_ADMIN_TOKEN")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        hub = Hub.build(config, clock or SystemClock(), webhook_pool=webhook_pool)
        await hub.start(token or None, dashboard_origin)
        app.state.hub = hub
        if on_started is not None:
            on_started(hub)
        try:
            yield
        finally:
            await hub.stop()

    return Starlette(
        routes=routes(),
        # Outermost first: the id is given before anything answers, and every
        # answer (the body limit's 413 too) gets the headers.
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(ResponseHeadersMiddleware),
            Middleware(
                BodyLimitMiddleware,
                max_body_bytes=config.server.max_body_bytes,
                larger={f"{API}/recipients/import": config.server.max_import_bytes},
            ),
        ],
        exception_handlers={
            ApiError: handle_api_error,
            DomainError: handle_domain_error,
            HTTPException: handle_http_exception,
            StorageUnavailable: handle_storage_unavailable,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
