"""The event types a webhook endpoint can subscribe to."""

from __future__ import annotations

from typing import Final

EVENT_TYPES: Final = (
    "message.sent",
    "message.delivered",
    "message.failed",
    "message.received",
    "otp.verified",
    "device.offline",
    "device.online",
)
