"""The control messages between cluster nodes (``hub.cluster.control``): what a
payload holds, what it may never hold, and how a node reads one it cannot use."""

from __future__ import annotations

import json

import pytest

from hub.cluster.control import (
    MAX_PAYLOAD_BYTES,
    Adopt,
    BadPayload,
    CancelJob,
    CloseRelay,
    Offer,
    Why,
    decode,
    encode,
)

DEVICE = "dev_01JZ0000000000000000000000"
MESSAGE = "req_01JZ0000000000000000000000"


@pytest.mark.parametrize(
    "message",
    [
        Offer("acc_01JZ"),
        CloseRelay(DEVICE, 7, Why.REPLACED, "node_0123456789abcdef"),
        CloseRelay(DEVICE, 0, Why.REVOKED),
        CancelJob(MESSAGE, DEVICE),
        Adopt(DEVICE),
    ],
)
def test_every_kind_reads_back_as_it_was_sent(message: object) -> None:
    assert decode(encode(message)) == message  # type: ignore[arg-type]


def test_a_payload_names_its_kind_and_holds_ids_and_an_epoch_only() -> None:
    payload = json.loads(encode(CloseRelay(DEVICE, 3, Why.REPLACED, "node_0123456789abcdef")))
    assert payload == {
        "k": "close",
        "device": DEVICE,
        "epoch": 3,
        "why": "replaced",
        "node": "node_0123456789abcdef",
    }
    assert json.loads(encode(CancelJob(MESSAGE, DEVICE))) == {
        "k": "cancel",
        "message": MESSAGE,
        "device": DEVICE,
    }


def test_a_bare_account_id_is_still_an_offer() -> None:
    # The shared queue's wake-up and a stopping node's hand-back send it from SQL.
    assert decode("acc_01JZABC") == Offer("acc_01JZABC")


def test_a_payload_postgres_would_refuse_is_refused_before_it_is_sent() -> None:
    with pytest.raises(ValueError, match="limit is 7999"):
        encode(Adopt("d" * MAX_PAYLOAD_BYTES))


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "{not json",
        '{"k": "launch", "device": "dev_1"}',
        '{"k": "close", "device": "dev_1", "epoch": "3", "why": "replaced"}',
        '{"k": "close", "device": "dev_1", "epoch": 3, "why": "bored"}',
        '{"k": "cancel", "message": "req_1"}',
        "x" * 201,
    ],
)
def test_a_payload_no_node_sends_is_refused_as_bad(payload: str) -> None:
    with pytest.raises(BadPayload):
        decode(payload)
