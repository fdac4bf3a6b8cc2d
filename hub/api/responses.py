"""Success responses: JSON encoded with msgspec, always with ``"ok": true``."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.responses import Response

_encoder = msgspec.json.Encoder()


def ok_bytes(body: dict[str, Any]) -> bytes:
    return _encoder.encode({"ok": True, **body})


def ok(body: dict[str, Any], status: int = 200) -> Response:
    return Response(ok_bytes(body), status_code=status, media_type="application/json")


def page(items: list[dict[str, Any]], next_cursor: str | None) -> Response:
    return ok({"items": items, "next_cursor": next_cursor})
