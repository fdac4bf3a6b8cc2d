"""Pairing a simulated relay with the hub, the way the Android app does it.

An operator's access token asks for a one-time pairing code; the "app" then
exchanges that code for its own device token and the WebSocket URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import httpx
import msgspec

from relay_sim import __version__
from relay_sim.phone import MODEL

_T = TypeVar("_T")


@dataclass(frozen=True)
class PairedDevice:
    """What a relay needs to connect; a real app keeps this in its storage."""

    device_id: str
    device_token: str
    ws_url: str
    name: str


class PairingError(Exception):
    """The hub refused a pairing step; ``code`` and ``detail`` come from its problem body."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"pairing failed: HTTP {status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


class _PairingCode(msgspec.Struct):
    pairing_code: str


class _PairResult(msgspec.Struct):
    device_id: str
    device_token: str
    ws_url: str


class _Problem(msgspec.Struct):
    code: str = "unknown_error"
    detail: str = ""
    title: str = ""


async def pair_device(
    client: httpx.AsyncClient, hub_url: str, token: str, name: str
) -> PairedDevice:
    """Pair one new device named ``name``; raise ``PairingError`` if the hub says no."""
    api = f"{hub_url.rstrip('/')}/api/v1/relay"
    response = await client.post(
        f"{api}/pairing-codes",
        json={"device_name": name},
        headers={"Authorization": f"Bearer {token}"},
    )
    code = _decode(response, _PairingCode).pairing_code
    response = await client.post(
        f"{api}/app/pair",
        json={
            "pairing_code": code,
            "device_name": name,
            "model": MODEL,
            "app_version": __version__,
        },
    )
    paired = _decode(response, _PairResult)
    return PairedDevice(paired.device_id, paired.device_token, paired.ws_url, name)


def _decode(response: httpx.Response, shape: type[_T]) -> _T:
    if not response.is_success:
        raise problem_of(response)
    try:
        return msgspec.json.decode(response.content, type=shape)
    except msgspec.DecodeError as exc:
        raise PairingError(response.status_code, "bad_response", str(exc)) from None


def problem_of(response: httpx.Response) -> PairingError:
    """The hub's problem body (or whatever it answered) as a ``PairingError``."""
    try:
        problem = msgspec.json.decode(response.content, type=_Problem)
    except msgspec.DecodeError:
        # Not a problem body (a proxy's error page, say): show what there is.
        problem = _Problem(detail=response.text[:200] or response.reason_phrase)
    return PairingError(response.status_code, problem.code, problem.detail or problem.title)
