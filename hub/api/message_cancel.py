"""``POST /v1/messages/{request_id}/cancel``: stop a message before it is sent."""

from __future__ import annotations

from typing import Literal

from starlette.requests import Request
from starlette.responses import Response

from hub.api.errors import ApiError
from hub.api.request import hub_of, require
from hub.api.responses import ok
from hub.api.schemas import Ok
from hub.messaging.cancels import Outcome


class MessageCancel(Ok, kw_only=True):
    request_id: str
    status: Literal["cancelled", "cancelling"]


async def cancel_message(request: Request) -> Response:
    """200 once the cancel is stored (no relay had accepted it), 202 once the
    relay that accepted it was asked; 409 ``not_cancellable`` when it was sent
    or ended (hub/api/domain_problems.py)."""
    principal = await require(request, "sms.send")
    request_id = request.path_params["request_id"]
    hub = hub_of(request)
    await hub.messaging.ready()  # not while memory is rebuilt from storage
    outcome = await hub.messaging.cancels.cancel(principal.account_id, request_id)
    if outcome is None:
        raise ApiError("not_found", f"no message {request_id} in this account")
    status = 200 if outcome is Outcome.CANCELLED else 202
    return ok({"request_id": request_id, "status": outcome.value}, status=status)
