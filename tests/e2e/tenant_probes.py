"""The table of the tenant sweep (``test_security_tenants``): one probe per operation
of the API, what B must get back when it names A's ids, and the checks that need
more than a status. ``World`` is what the probes may name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

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
from relay_sim.relay import SimRelay
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub
from tests.e2e.receiver import Receiver

A_PHONE, A_PHONE_2 = "+998901110001", "+998901110002"
MARK = "Alpha"  # in the name of each of A's things


@dataclass
class World:
    hub: RunningHub
    b_token: str
    ids: dict[str, str]  # a_device, a_message, …, b_list: what probes may name
    otp_code: str  # the right code of A's OTP
    relay: SimRelay  # A's
    receiver_b: Receiver
    snapshot: dict[str, Any] | None = None  # A's things as A saw them before the sweep

    def secrets_of_a(self) -> list[str]:
        """What must never show in an answer to B: A's ids and names."""
        return [v for k, v in self.ids.items() if k.startswith("a_")] + [MARK]


Check = Callable[[World, httpx.Response], Awaitable[None]]


@dataclass(frozen=True)
class Probe:
    endpoint: Callable[..., Any]
    method: str
    path: str  # "/api/v1/…"; may name {a_device}, {b_list}, …
    body: Any = None  # JSON whose strings may name ids; a str is sent as text/csv
    status: int = 404
    code: str | None = "not_found"  # None: a success, which must hold none of A's data
    field: str | None = None  # the field a 422 names
    check: Check | None = None  # more to assert, after the answer

    @property
    def name(self) -> str:
        return f"{self.endpoint.__name__}: {self.method} {self.path}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def ids_listed(world: World, path: str, token: str) -> list[str]:
    response = await world.hub.get(path, token)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


# --- checks for the probes that need more than a status --------------------------


async def b_account_is_empty(world: World, response: httpx.Response) -> None:
    body = response.json()
    assert body["name"] == "Bravo"
    assert body["usage"] == {"sent_today": 0, "queued_now": 0, "devices": 0, "devices_online": 0}


async def b_is_not_ready(world: World, response: httpx.Response) -> None:
    checks = {c["name"]: c["ok"] for c in response.json()["checks"]}
    assert not checks["device_paired"] and not checks["message_delivered"]
    assert not checks["webhook_answers"]


async def b_stats_are_empty(world: World, response: httpx.Response) -> None:
    body = response.json()
    assert body["devices"] == [] and body["latency"]["count"] == 0
    assert not any(m["sent"] or m["failed"] for m in body["throughput"])


async def code_pairs_into_b(world: World, response: httpx.Response) -> None:
    paired = await world.hub.post(
        "/api/v1/relay/app/pair", {"pairing_code": response.json()["pairing_code"]}, token=None
    )
    device_id = paired.json()["device_id"]
    assert device_id in await ids_listed(world, "/api/v1/devices", world.b_token)
    assert device_id not in await ids_listed(world, "/api/v1/devices", ADMIN_TOKEN)
    await world.hub.client.delete(  # B's world stays empty of devices for later probes
        f"{world.hub.base_url}/api/v1/devices/{device_id}", headers=bearer(world.b_token)
    )


async def otp_still_verifies_for_a(world: World, response: httpx.Response) -> None:
    body = {"otp_id": world.ids["a_otp"], "code": world.otp_code}
    assert (await world.hub.post("/api/v1/otp/verify", body)).json()["status"] == "verified"


async def import_creates_in_b(world: World, response: httpx.Response) -> None:
    assert response.json()["created"] == 1 and response.json()["updated"] == 0


async def nothing_changed(world: World, response: httpx.Response) -> None:
    assert response.json()["changed"] == 0


async def token_is_b_s(world: World, response: httpx.Response) -> None:
    assert response.json()["id"] not in await ids_listed(world, "/api/v1/tokens", ADMIN_TOKEN)


async def webhook_is_b_s(world: World, response: httpx.Response) -> None:
    assert response.json()["id"] not in await ids_listed(world, "/api/v1/webhooks", ADMIN_TOKEN)


V = "/api/v1"

PROBES = [
    Probe(account.get_account, "GET", f"{V}/account", status=200, code=None,
          check=b_account_is_empty),
    Probe(account.readiness, "GET", f"{V}/launch/readiness", status=200, code=None,
          check=b_is_not_ready),
    Probe(pairing.create_pairing_code, "POST", f"{V}/relay/pairing-codes", {}, 201, None,
          check=code_pairs_into_b),
    Probe(sms.send_sms, "POST", f"{V}/sms/send",
          {"to": A_PHONE, "text": "x", "device_id": "{a_device}"}, 422, "invalid_device"),
    Probe(otp.send_otp, "POST", f"{V}/otp/send",
          {"to": A_PHONE, "purpose": "login", "device_id": "{a_device}"}, 422, "invalid_device"),
    Probe(otp.verify_otp, "POST", f"{V}/otp/verify", {"otp_id": "{a_otp}", "code": "{otp_code}"},
          check=otp_still_verifies_for_a),
    Probe(messages.message_status, "GET", f"{V}/messages/status?request_id={{a_message}}"),
    Probe(message_cancel.cancel_message, "POST", f"{V}/messages/{{a_message}}/cancel", {}),
    Probe(messages.list_messages, "GET", f"{V}/messages", status=200, code=None),
    Probe(messages.list_messages, "GET", f"{V}/messages?device_id={{a_device}}", status=200,
          code=None),
    Probe(messages.list_messages, "GET", f"{V}/messages?to={A_PHONE}", status=200, code=None),
    Probe(stats.stats, "GET", f"{V}/stats", status=200, code=None, check=b_stats_are_empty),
    Probe(recipients.import_recipients, "POST", f"{V}/recipients/import",
          f"name,phone\nBravo import,{A_PHONE_2}\n", 200, None, check=import_creates_in_b),
    Probe(recipients.create_recipient, "POST", f"{V}/recipients",
          {"name": "Bravo copy", "phone": A_PHONE}, 201, None),  # A's number is no duplicate
    Probe(recipients.list_recipients, "GET", f"{V}/recipients", status=200, code=None),
    Probe(recipients.list_recipients, "GET", f"{V}/recipients?q={MARK}", status=200, code=None),
    Probe(recipients.get_recipient, "GET", f"{V}/recipients/{{a_recipient}}"),
    Probe(recipients.update_recipient, "PATCH", f"{V}/recipients/{{a_recipient}}",
          {"name": "Bravo's now"}),
    Probe(recipients.delete_recipient, "DELETE", f"{V}/recipients/{{a_recipient}}"),
    Probe(lists.queue_list, "POST", f"{V}/recipient-lists/queue",
          {"list_id": "{a_list}", "text": "x"}, 422, "validation_error", "list_id"),
    Probe(lists.create_list, "POST", f"{V}/recipient-lists",
          {"name": "Bravo steal", "recipient_ids": ["{a_recipient}"]}, 422, "validation_error",
          "recipient_ids"),
    Probe(lists.list_lists, "GET", f"{V}/recipient-lists", status=200, code=None),
    Probe(lists.get_list, "GET", f"{V}/recipient-lists/{{a_list}}"),
    Probe(lists.rename_list, "PATCH", f"{V}/recipient-lists/{{a_list}}", {"name": "Bravo's"}),
    Probe(lists.delete_list, "DELETE", f"{V}/recipient-lists/{{a_list}}"),
    Probe(lists.list_members, "GET", f"{V}/recipient-lists/{{a_list}}/members"),
    Probe(lists.add_members, "POST", f"{V}/recipient-lists/{{a_list}}/members",
          {"recipient_ids": ["{b_recipient}"]}),
    Probe(lists.add_members, "POST", f"{V}/recipient-lists/{{b_list}}/members",
          {"recipient_ids": ["{a_recipient}"]}, 422, "validation_error", "recipient_ids"),
    Probe(lists.remove_members, "POST", f"{V}/recipient-lists/{{a_list}}/members/remove",
          {"recipient_ids": ["{a_recipient}"]}),
    Probe(lists.remove_members, "POST", f"{V}/recipient-lists/{{b_list}}/members/remove",
          {"recipient_ids": ["{a_recipient}"]}, 200, None, check=nothing_changed),
    Probe(lists.get_batch, "GET", f"{V}/batches/{{a_batch}}"),
    Probe(lists.cancel_batch, "POST", f"{V}/batches/{{a_batch}}/cancel", {}),
    Probe(devices.list_devices, "GET", f"{V}/devices", status=200, code=None),
    Probe(devices.get_device, "GET", f"{V}/devices/{{a_device}}"),
    Probe(devices.update_device, "PATCH", f"{V}/devices/{{a_device}}", {"disabled": True}),
    Probe(devices.revoke_device, "DELETE", f"{V}/devices/{{a_device}}"),
    Probe(tokens.create_token, "POST", f"{V}/tokens", {"name": "Bravo", "scopes": ["sms.send"]},
          201, None, check=token_is_b_s),
    Probe(tokens.list_tokens, "GET", f"{V}/tokens", status=200, code=None),
    Probe(tokens.revoke_token, "DELETE", f"{V}/tokens/{{a_token}}"),
    Probe(webhooks.list_deliveries, "GET", f"{V}/webhooks/deliveries", status=200, code=None),
    Probe(webhooks.list_deliveries, "GET", f"{V}/webhooks/deliveries?endpoint_id={{a_webhook}}",
          status=200, code=None),
    Probe(webhooks.get_delivery, "GET", f"{V}/webhooks/deliveries/{{a_delivery}}"),
    Probe(webhooks.redeliver, "POST", f"{V}/webhooks/deliveries/{{a_delivery}}/redeliver", {}),
    Probe(webhooks.create_webhook, "POST", f"{V}/webhooks",
          {"url": "https://93.184.216.34/bravo", "enabled": False}, 201, None,
          check=webhook_is_b_s),
    Probe(webhooks.list_webhooks, "GET", f"{V}/webhooks", status=200, code=None),
    Probe(webhooks.get_webhook, "GET", f"{V}/webhooks/{{a_webhook}}"),
    Probe(webhooks.update_webhook, "PATCH", f"{V}/webhooks/{{a_webhook}}", {"enabled": False}),
    Probe(webhooks.delete_webhook, "DELETE", f"{V}/webhooks/{{a_webhook}}"),
    Probe(webhooks.rotate_secret, "POST", f"{V}/webhooks/{{a_webhook}}/rotate-secret", {}),
    # The operator's routes: B's token lacks the admin scope, whatever the id.
    Probe(admin_accounts.create_account, "POST", f"{V}/admin/accounts", {"name": "x"}, 403,
          "forbidden"),
    Probe(admin_accounts.list_accounts, "GET", f"{V}/admin/accounts", status=403, code="forbidden"),
    Probe(admin_accounts.update_account, "PATCH", f"{V}/admin/accounts/{{a_account}}",
          {"paused": True}, 403, "forbidden"),
]  # fmt: skip

# Operations that name no account's data, each with the reason.
EXEMPT: dict[Callable[..., Any], str] = {
    health.health: "no account data: liveness and storage only, no token",
    pairing.pair: "no token: the pairing code alone names the account, and a code pairs into"
    " the account that made it (see the probe of create_pairing_code)",
}
# Operations swept by a test of their own in this module (a stream is no single answer).
OWN_TEST: dict[Callable[..., Any], str] = {
    events.events: "test_event_stream_and_webhooks_carry_only_the_accounts_own_events",
}
