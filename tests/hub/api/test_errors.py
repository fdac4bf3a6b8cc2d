"""Tests for ``hub/api/errors.py``: a bug becomes a 500 problem body, never a stack trace."""

from __future__ import annotations

import json
import logging

import pytest
from starlette.requests import Request

from hub.api.errors import handle_storage_unavailable, handle_unexpected
from hub.store.interface import StorageUnavailable


def request_with_id(request_id: str) -> Request:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [],
             "state": {"request_id": request_id}}  # fmt: skip
    return Request(scope)


async def test_unexpected_error_answers_500_with_request_id_and_no_trace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await handle_unexpected(request_with_id("rq_test_1"), KeyError("secret_field"))

    body = json.loads(bytes(response.body))
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "rq_test_1"
    assert body["code"] == "internal_error" and body["ok"] is False
    assert "rq_test_1" in body["detail"]
    assert "secret_field" not in response.body.decode() and "Traceback" not in body["detail"]
    assert "rq_test_1" in caplog.text  # the log has what the body leaves out


@pytest.mark.parametrize(
    ("cause", "says"),
    [
        ("busy", "locked by another process"),
        ("disk", "cannot write to its disk"),
        ("unavailable", "could not reach its storage"),
    ],
)
async def test_storage_unavailable_answers_503_with_a_hint_for_its_cause_and_no_sqlite_text(
    cause: str, says: str
) -> None:
    error = StorageUnavailable("database or disk is full /data/relayhub.db-wal", cause)

    response = await handle_storage_unavailable(request_with_id("rq_test_2"), error)

    body = json.loads(bytes(response.body))
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert body["code"] == "storage_unavailable" and body["request_id"] == "rq_test_2"
    assert says in body["detail"] and "nothing was changed" in body["detail"]
    assert "relayhub.db" not in response.body.decode()  # the SQLite message is for the log
