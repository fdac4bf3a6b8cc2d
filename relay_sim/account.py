"""Which devices an access token's account holds on a hub, to know which saved devices to run.

Saved devices belong to the hub and the account that paired them. With an
access token, ``GET /api/v1/devices`` says which of them that account still
has: a saved device it does not list was paired by another account, or the
hub no longer knows it (its data was wiped, or the device was revoked).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import msgspec

from relay_sim.pairing import PairingError, problem_of


class _Device(msgspec.Struct):
    id: str
    disabled: bool = False


class _Page(msgspec.Struct):
    items: list[_Device]
    next_cursor: str | None = None


@dataclass(frozen=True)
class AccountDevices:
    """The account's devices on the hub: ids of the enabled ones and of the disabled ones."""

    enabled: frozenset[str]
    disabled: frozenset[str]


async def account_devices(
    client: httpx.AsyncClient, hub_url: str, token: str
) -> AccountDevices | None:
    """The token's account's devices; None if the token may not list them (no devices.read).

    Raises ``PairingError`` if the hub refuses the token itself (401), since
    pairing with it would fail too.
    """
    enabled: set[str] = set()
    disabled: set[str] = set()
    cursor: str | None = None
    while True:
        response = await client.get(
            f"{hub_url.rstrip('/')}/api/v1/devices",
            params={"cursor": cursor} if cursor else None,
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code == httpx.codes.FORBIDDEN:
            return (
                None  # a token that may pair but not read devices: run the saved ones as they are
            )
        if not response.is_success:
            raise problem_of(response)
        try:
            page = msgspec.json.decode(response.content, type=_Page)
        except msgspec.DecodeError as exc:
            raise PairingError(response.status_code, "bad_response", str(exc)) from None
        for device in page.items:
            (disabled if device.disabled else enabled).add(device.id)
        if not page.next_cursor:
            return AccountDevices(frozenset(enabled), frozenset(disabled))
        cursor = page.next_cursor
