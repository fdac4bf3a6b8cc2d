"""The floor: a bare Starlette endpoint that parses the same body and answers 202.

Served by uvicorn with the hub's own settings, it is what HTTP + parsing
costs on this machine with no storage and no routing; hub figures are
reported as ratios to it.
"""

from __future__ import annotations

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class Body(msgspec.Struct):
    to: str
    text: str


_decoder = msgspec.json.Decoder(Body)


async def send(request: Request) -> Response:
    _decoder.decode(await request.body())
    return Response(b'{"ok":true,"status":"queued"}', 202, media_type="application/json")


app = Starlette(routes=[Route("/api/v1/sms/send", send, methods=["POST"])])
