"""The example request bodies, one per operation: the only table of them.

The /docs page (its quick start and its cURL commands), the Postman collection,
the examples in 13 languages (``hub.devdocs.examples``) and the quick start that
``relayhub serve`` prints all read their bodies here, so a body shown in one
place is the body shown in every other. A test checks each against its request
schema in the OpenAPI document. Where a reader must put in a value of their own
(an ``otp_id`` from an earlier answer), each consumer swaps in its own
placeholder: an environment variable, a Postman variable, ``otp_…``.
"""

from __future__ import annotations

import json
from typing import Any, Final

# operationId → a realistic body for its request schema.
EXAMPLE_BODIES: Final[dict[str, Any]] = {
    "create_pairing_code": {"device_name": "Shop phone"},
    "pair": {"pairing_code": "483-921", "device_name": "Shop phone", "model": "Pixel 7"},
    "send_sms": {"to": "+998901234567", "text": "Salom from relayhub"},
    "send_otp": {"to": "+998901234567", "purpose": "login"},
    "verify_otp": {"otp_id": "otp_01K0EXAMPLE", "code": "482913"},
    "create_recipient": {
        "phone": "+998901234567",
        "name": "Sherzod Karimov",
        "tags": ["vip"],
        "metadata": {"city": "Toshkent"},
    },
    "update_recipient": {"tags": ["vip", "loyal"]},
    "queue_list": {
        "list_id": "lst_01K0EXAMPLE",
        "text": "Salom {name}! {city} filialimiz ochildi.",
    },
    "create_list": {"name": "Clients", "recipient_ids": ["rcp_01K0EXAMPLE"]},
    "rename_list": {"name": "VIP clients"},
    "add_members": {"recipient_ids": ["rcp_01K0EXAMPLE"]},
    "remove_members": {"recipient_ids": ["rcp_01K0EXAMPLE"]},
    "update_device": {"name": "Shop phone 2"},
    "create_token": {"name": "shop backend", "scopes": ["sms.send", "messages.read"]},
    "create_webhook": {
        "url": "https://api.example.uz/hooks/relayhub",
        "events": ["message.sent", "message.delivered", "message.failed"],
    },
    "update_webhook": {"enabled": True},
    "create_account": {"name": "Clinic"},
    "update_account": {"paused": False, "limits": {"send_per_minute": 60}},
}
EXAMPLE_CSV: Final = "phone,name,tags,city\n+998901234567,Sherzod Karimov,vip;loyal,Toshkent\n"


def example_body(operation_id: str) -> Any:
    """The example JSON body of an operation, or None when it takes none."""
    return EXAMPLE_BODIES.get(operation_id)


def example_json(operation_id: str) -> str:
    """The body as one line of JSON, the way a ``curl -d '…'`` carries it."""
    return json.dumps(EXAMPLE_BODIES[operation_id], ensure_ascii=False)
