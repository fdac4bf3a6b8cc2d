"""Every WebSocket close code the hub and the relays use, named once.

RFC 6455 codes (1xxx) plus the two this protocol adds (4xxx). The hub, the
simulator and the sessions all take their codes from here, so a code can only
mean one thing; ``tests/protocol/test_one_source.py`` fails if a bare code
comes back anywhere else.
"""

from __future__ import annotations

import enum


class CloseCode(enum.IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001  # a silent relay, or the hub shutting down
    PROTOCOL_ERROR = 1002  # the relay side: the hub did not speak the subprotocol
    UNSUPPORTED_DATA = 1003  # a binary frame
    INVALID_DATA = 1007  # bad JSON or a frame that fails validation
    POLICY = 1008  # no hello first, or a socket without a valid device token
    TOO_BIG = 1009  # a frame over the size limit
    INTERNAL = 1011  # a bug or storage fault on the hub's side
    SERVICE_RESTART = 1012  # what uvicorn sends every socket when it stops
    TRY_AGAIN = 1013  # the hub cannot serve this socket now; reconnect shortly
    REVOKED = 4403  # the device was disabled or revoked
    REPLACED = 4409  # a newer socket of the same device took over
