"""Tenants are walls, swept over every operation of the API.

Account A has one of everything (device, messages, recipients, a list and its
batch, a webhook endpoint and its deliveries, an OTP, a token); account B has
a token with every customer scope. For each operation in the OpenAPI table
(``hub.devdocs.openapi_operations.OPERATIONS``) B calls it on A's ids (in the path, the query
or the body) and gets what an id that exists nowhere gets (404 ``not_found``,
or the 422 a body with an unknown id gets), never 403 and never A's data
(only the operator's routes answer 403, whatever the id: B lacks ``admin``);
every listing B reads holds none of A's ids or names; and A's things are as
they were. ``test_every_operation_is_swept_or_exempt_with_a_reason`` fails for
an operation that is neither, so a new endpoint cannot be forgotten here.

One hub and one world serve the whole module (building A's world takes a
while); each probe leaves A's world as it found it, or fails.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.routing import Route

from hub.app import routes
from hub.devdocs.openapi import documented
from hub.devdocs.openapi_operations import OPERATIONS
from tests.e2e import raw_relay
from tests.e2e.conftest import ADMIN_TOKEN, RunningHub, delivered_ids, hub_config, serve_hub
from tests.e2e.receiver import Receiver, serve_receiver
from tests.e2e.sse import open_stream
from tests.e2e.tenant_probes import (
    A_PHONE,
    A_PHONE_2,
    EXEMPT,
    MARK,
    OWN_TEST,
    PROBES,
    Probe,
    V,
    World,
    bearer,
)
from tests.e2e.test_api_errors import assert_problem
from tests.e2e.webhook_log import settled

pytestmark = pytest.mark.both_backends  # a route or a state change (conftest.py)

in_module_loop = pytest.mark.asyncio(loop_scope="module")  # the loop the world lives in


# --- the world -----------------------------------------------------------------


async def created(hub: RunningHub, path: str, body: Any, token: str | None = ADMIN_TOKEN) -> Any:
    response = await hub.post(path, body, token)
    assert response.status_code in (200, 201, 202), response.text
    return response.json()


async def snapshot_of_a(world: World) -> dict[str, Any]:
    """What B's calls must not change: each of A's things as A reads it."""
    hub, ids = world.hub, world.ids

    async def read(path: str) -> Any:
        response = await hub.get(path)
        assert response.status_code == 200, (path, response.text)
        return response.json()

    recipient = await read(f"{V}/recipients/{ids['a_recipient']}")
    the_list = await read(f"{V}/recipient-lists/{ids['a_list']}")
    members = await read(f"{V}/recipient-lists/{ids['a_list']}/members")
    device = await read(f"{V}/devices/{ids['a_device']}")
    endpoint = await read(f"{V}/webhooks/{ids['a_webhook']}")
    batch = await read(f"{V}/batches/{ids['a_batch']}")
    deliveries = await read(f"{V}/webhooks/deliveries?endpoint_id={ids['a_webhook']}&limit=500")
    every_account = (await read(f"{V}/admin/accounts"))["items"]
    (account_a,) = [a for a in every_account if a["account_id"] == ids["a_account"]]
    return {
        "recipient": (recipient["name"], recipient["phone"]),
        "list": (the_list["name"], [m["id"] for m in members["items"]]),
        "device": (device["name"], device["disabled"]),
        "webhook": (endpoint["url"], endpoint["events"], endpoint["enabled"],
                    endpoint["previous_secret_valid_until"]),
        "batch": batch["cancelled_at"],
        "redelivered": [d["id"] for d in deliveries["items"] if d["redelivery_of"]],
        "token": ids["a_token"] in [t["id"] for t in (await read(f"{V}/tokens"))["items"]],
        "account": account_a["paused"],
        "accounts": [a["name"] for a in every_account],
    }  # fmt: skip


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory, storage_backend: str
) -> AsyncIterator[World]:
    """Two tenants on one hub, made once per backend (``storage_backend``)."""
    data = tmp_path_factory.mktemp("tenants")
    config = hub_config(data, webhooks={"allow_private_targets": True})
    async with (
        serve_receiver() as receiver_a,
        serve_receiver() as receiver_b,
        serve_hub(config) as hub,
    ):
        yield await build_world(hub, receiver_a, receiver_b)


async def build_world(hub: RunningHub, receiver_a: Receiver, receiver_b: Receiver) -> World:
    relay = await hub.relay(f"{MARK} phone")
    endpoint = await created(hub, f"{V}/webhooks", {"url": receiver_a.url})
    message = await hub.send(to=A_PHONE, text=f"{MARK} text")
    recipient = await created(hub, f"{V}/recipients", {"name": f"{MARK} one", "phone": A_PHONE})
    await created(hub, f"{V}/recipients", {"name": f"{MARK} two", "phone": A_PHONE_2})
    the_list = await created(
        hub, f"{V}/recipient-lists", {"name": f"{MARK} list", "recipient_ids": [recipient["id"]]}
    )
    batch = await created(
        hub, f"{V}/recipient-lists/queue", {"list_id": the_list["id"], "text": f"{MARK} batch"}
    )
    otp_sent = await created(hub, f"{V}/otp/send", {"to": A_PHONE_2, "purpose": "login"})
    token = await created(hub, f"{V}/tokens", {"name": f"{MARK} token", "scopes": ["sms.send"]})
    account_id = (await hub.get(f"{V}/account")).json()["account_id"]
    # Everything A sent is delivered, and its events are delivered to its endpoint.
    await relay.wait_until(
        lambda: {message, otp_sent["request_id"]} <= delivered_ids(relay) and relay.outbox_size == 0
    )
    await settled(hub, lambda d: d["status"] == "succeeded")
    text = next(j.text for j in relay.jobs_received if j.id == otp_sent["request_id"])
    (code,) = set(re.findall(r"\b\d{6}\b", text))
    delivery = (await hub.get(f"{V}/webhooks/deliveries")).json()["items"][0]

    b_token = (await created(hub, f"{V}/admin/accounts", {"name": "Bravo"}))["token"]
    b_recipient = await created(
        hub, f"{V}/recipients", {"name": "Bravo one", "phone": "+998901119999"}, b_token
    )
    b_list = await created(hub, f"{V}/recipient-lists", {"name": "Bravo list"}, b_token)
    ids = {
        "a_device": relay.device_id, "a_message": message, "a_recipient": recipient["id"],
        "a_list": the_list["id"], "a_batch": batch["batch_id"], "a_otp": otp_sent["otp_id"],
        "a_token": token["id"], "a_webhook": endpoint["id"], "a_delivery": delivery["id"],
        "a_event": delivery["event_id"], "a_account": account_id,
        "b_recipient": b_recipient["id"], "b_list": b_list["id"],
    }  # fmt: skip
    world = World(hub, b_token, ids, code, relay, receiver_b)
    world.snapshot = await snapshot_of_a(world)
    return world


def ghosts(ids: dict[str, str]) -> dict[str, str]:
    """Each of A's ids swapped for one of the same kind that exists nowhere."""
    return {k: v.split("_")[0] + "_" + "0" * 26 if k.startswith("a_") else v
            for k, v in ids.items()}  # fmt: skip


def filled(value: Any, ids: dict[str, str], otp_code: str) -> Any:
    """``value`` with every {name} in its strings replaced by that id."""
    if isinstance(value, str):
        return value.format(**ids, otp_code=otp_code)
    if isinstance(value, list):
        return [filled(v, ids, otp_code) for v in value]
    if isinstance(value, dict):
        return {k: filled(v, ids, otp_code) for k, v in value.items()}
    return value


async def call_as_b(world: World, probe: Probe, ids: dict[str, str]) -> httpx.Response:
    hub = world.hub
    url = hub.base_url + filled(probe.path, ids, world.otp_code)
    headers = bearer(world.b_token)
    if isinstance(probe.body, str):
        headers["Content-Type"] = "text/csv"
        content = filled(probe.body, ids, world.otp_code).encode()
        return await hub.client.request(probe.method, url, content=content, headers=headers)
    body = filled(probe.body, ids, world.otp_code)
    return await hub.client.request(probe.method, url, json=body, headers=headers)


def unmasked(problem: dict[str, Any], ids: dict[str, str], ghost_ids: dict[str, str]) -> str:
    """A problem body without its request id, each ghost id written as the real one."""
    text = json.dumps({k: v for k, v in problem.items() if k != "request_id"}, sort_keys=True)
    for name, ghost in ghost_ids.items():
        text = text.replace(ghost, ids[name])
    return text


# --- the sweep -------------------------------------------------------------------


@in_module_loop
@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.name)
async def test_operation_answers_another_tenant_as_if_a_s_ids_did_not_exist(
    world: World, probe: Probe
) -> None:
    response = await call_as_b(world, probe, world.ids)

    if probe.code is None:
        assert response.status_code == probe.status, response.text
        leaked = [s for s in world.secrets_of_a() if s in response.text]
        assert leaked == [], f"{probe.name} shows B some of A's data"
    else:
        problem = assert_problem(response, probe.status, probe.code)
        if probe.field is not None:
            assert [e["field"] for e in problem["errors"]] == [probe.field]
        # Word for word what ids that exist nowhere get: the answer is no oracle.
        ghost_ids = ghosts(world.ids)
        ghost = (await call_as_b(world, probe, ghost_ids)).json()
        assert unmasked(ghost, world.ids, ghost_ids) == unmasked(problem, world.ids, ghost_ids)
    if probe.check is not None:
        await probe.check(world, response)
    assert await snapshot_of_a(world) == world.snapshot


def test_every_operation_is_swept_or_exempt_with_a_reason() -> None:
    swept = {p.endpoint for p in PROBES}
    others = set(EXEMPT) | set(OWN_TEST)

    assert not swept & others
    unswept = {op.__name__ for op in set(OPERATIONS) - swept - others}
    assert unswept == set(), "add a Probe (or an EXEMPT entry with the reason) for each"
    assert all(reason for reason in EXEMPT.values())
    assert all(name in globals() for name in OWN_TEST.values())


def test_every_route_with_a_path_id_is_probed_with_one_of_a_s_ids() -> None:
    for route in routes():
        if not documented(route) or not isinstance(route, Route) or not route.param_convertors:
            continue
        probes = [p for p in PROBES if p.endpoint is route.endpoint]
        own = [p for p in probes if route.path_regex.match(p.path.split("?")[0])]
        assert own, f"{route.path}: no probe's path matches it"
        assert any("{a_" in p.path for p in own), f"{route.path}: no probe names A's id in it"


@in_module_loop
async def test_event_stream_and_webhooks_carry_only_the_accounts_own_events(
    world: World,
) -> None:
    hub, b, relay = world.hub, world.b_token, world.relay
    endpoint = await created(
        hub, f"{V}/webhooks",
        {"url": world.receiver_b.url, "events": ["device.online", "message.sent"]}, b,
    )  # fmt: skip
    # B names an event of A's to resume from: unknown to B, as if it never was.
    async with open_stream(hub, last_event_id=world.ids["a_event"], token=b) as stream:
        assert (await stream.next()).event == "reset"
        a_message = await hub.send(to=A_PHONE, text=f"{MARK} again")
        await relay.wait_until(lambda: a_message in delivered_ids(relay))  # A's events stored…
        code = (await created(hub, f"{V}/relay/pairing-codes", {}, b))["pairing_code"]
        device = await created(hub, f"{V}/relay/app/pair", {"pairing_code": code}, None)
        ws = await hub.open_socket(device["device_token"])
        await raw_relay.hello(ws)  # … before B's first one

        async with asyncio.timeout(10):
            first = await stream.next()
        assert (first.event, first.body["data"]["device_id"]) == (
            "device.online", device["device_id"])  # fmt: skip

    async with asyncio.timeout(10):  # B's attempts log, once its delivery is made
        while not (items := await b_deliveries(world)) or items[0]["status"] != "succeeded":
            await hub.hub.store.write(lambda conn: None)  # one more commit has landed
    assert [d["event_type"] for d in items] == ["device.online"]
    assert [(c.event["type"], c.event["data"]["device_id"]) for c in world.receiver_b.calls] == [
        ("device.online", device["device_id"])]  # fmt: skip
    await hub.client.delete(f"{hub.base_url}{V}/webhooks/{endpoint['id']}", headers=bearer(b))
    await hub.client.delete(f"{hub.base_url}{V}/devices/{device['device_id']}", headers=bearer(b))


async def b_deliveries(world: World) -> list[dict[str, Any]]:
    response = await world.hub.get(f"{V}/webhooks/deliveries", world.b_token)
    items: list[dict[str, Any]] = response.json()["items"]
    return items
