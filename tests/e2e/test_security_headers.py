"""Security headers: pages under a strict Content-Security-Policy, API answers never stored.

The pages are found from the route table (every GET route outside ``/api/``
that answers HTML), so a new page is checked without being listed here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from hub.app import routes
from tests.e2e.conftest import RunningHub
from tests.e2e.test_api_errors import assert_problem

KNOWN_PAGES = {"/dashboard/", "/docs", "/docs/uz"}


def page_paths() -> list[str]:
    return sorted(
        r.path for r in routes()
        if isinstance(r, Route) and "GET" in (r.methods or ()) and not r.path.startswith("/api/")
        and not r.param_convertors
    )  # fmt: skip


async def html_pages(hub: RunningHub) -> dict[str, httpx.Response]:
    """Every page route's answer (after redirects) that is HTML, by its final path."""
    pages = {}
    for path in page_paths():
        response = await hub.client.get(hub.base_url + path, follow_redirects=True)
        assert response.status_code == 200, path
        if response.headers["content-type"].startswith("text/html"):
            pages[response.url.path] = response
    return pages


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


class PageParts(HTMLParser):
    """What a page loads or runs: scripts, styles, handlers and links."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []  # their src
        self.inline: list[str] = []  # what the policy would block
        self.styles: list[str] = []  # stylesheet hrefs
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.inline.append(f"<{tag} {name}>")
            if name == "style":
                self.inline.append(f"<{tag} style>")
            if name in ("href", "src", "action") and (value or "").startswith("javascript:"):
                self.inline.append(f"<{tag} {name}=javascript:>")
        if tag == "script":
            if named.get("src"):
                self.scripts.append(named["src"] or "")
            elif named.get("type") not in ("application/json", "application/ld+json"):
                self._in = "script"
        elif tag == "style":
            self._in = "style"
        elif tag == "link" and "stylesheet" in (named.get("rel") or "").split():
            self.styles.append(named.get("href") or "")

    def handle_data(self, data: str) -> None:
        if self._in and data.strip():
            self.inline.append(f"<{self._in}> {data.strip()[:40]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None


def parts_of(page: httpx.Response) -> PageParts:
    parts = PageParts()
    parts.feed(page.text)
    return parts


async def test_every_page_has_a_csp_without_inline_script_and_cannot_be_framed(
    hub_server: RunningHub,
) -> None:
    pages = await html_pages(hub_server)

    assert set(pages) >= KNOWN_PAGES
    for path, page in pages.items():
        policy = directives(page.headers["content-security-policy"])
        scripts = policy.get("script-src", policy["default-src"])
        assert scripts == ["'self'"], path  # no 'unsafe-inline', 'unsafe-eval', hosts or data:
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"], path
        assert policy["frame-ancestors"] == ["'none'"], path
        assert page.headers["x-frame-options"] == "DENY", path
        assert page.headers["x-content-type-options"] == "nosniff", path
        assert page.headers["referrer-policy"] == "no-referrer", path


async def test_no_page_holds_inline_script_or_style_its_policy_would_block(
    hub_server: RunningHub,
) -> None:
    pages = await html_pages(hub_server)

    blocked = {path: parts_of(page).inline for path, page in pages.items()}

    assert blocked == {path: [] for path in pages}


async def test_every_script_and_stylesheet_of_a_page_is_served_same_origin_with_nosniff(
    hub_server: RunningHub,
) -> None:
    loaded: dict[str, str] = {}  # url → the type it must have
    for page in (await html_pages(hub_server)).values():
        parts = parts_of(page)
        loaded |= dict.fromkeys(parts.scripts, "javascript")
        loaded |= dict.fromkeys(parts.styles, "text/css")

    assert loaded
    for url, kind in loaded.items():
        assert url.startswith("/") and not url.startswith("//"), url  # same origin
        response = await hub_server.client.get(hub_server.base_url + url)
        assert response.status_code == 200, url
        assert kind in response.headers["content-type"], url
        assert response.headers["x-content-type-options"] == "nosniff", url


async def _token(hub: RunningHub) -> httpx.Response:
    return await hub.post("/api/v1/tokens", {"name": "ci", "scopes": ["sms.send"]})


async def _pairing_code(hub: RunningHub) -> httpx.Response:
    return await hub.post("/api/v1/relay/pairing-codes", {})


async def _device_token(hub: RunningHub) -> httpx.Response:
    code = (await _pairing_code(hub)).json()["pairing_code"]
    return await hub.post("/api/v1/relay/app/pair", {"pairing_code": code}, token=None)


async def _webhook_secret(hub: RunningHub) -> httpx.Response:
    return await hub.post("/api/v1/webhooks", {"url": "https://93.184.216.34/hook"})


async def _rotated_secret(hub: RunningHub) -> httpx.Response:
    endpoint = (await _webhook_secret(hub)).json()["id"]
    return await hub.post(f"/api/v1/webhooks/{endpoint}/rotate-secret", {})


async def _account_token(hub: RunningHub) -> httpx.Response:
    return await hub.post("/api/v1/admin/accounts", {"name": "Clinic"})


SECRET_ANSWERS: dict[str, tuple[Callable[[RunningHub], Awaitable[httpx.Response]], str]] = {
    "new access token": (_token, "token"),
    "pairing code": (_pairing_code, "pairing_code"),
    "device token": (_device_token, "device_token"),
    "webhook secret": (_webhook_secret, "secret"),
    "rotated webhook secret": (_rotated_secret, "secret"),
    "new account's token": (_account_token, "token"),
}


@pytest.mark.parametrize("what", SECRET_ANSWERS)
async def test_answer_carrying_a_secret_is_never_stored_or_sniffed(
    hub_server: RunningHub, what: str
) -> None:
    make, field = SECRET_ANSWERS[what]

    response = await make(hub_server)

    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    assert body[field]
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-type"] == "application/json"


async def test_every_api_answer_success_or_problem_is_never_stored(
    hub_server: RunningHub,
) -> None:
    answers = [
        await hub_server.get("/api/v1/health", token=None),
        await hub_server.get("/api/v1/account"),
        await hub_server.get("/api/v1/messages", token=None),
        await hub_server.post("/api/v1/sms/send", {"to": "nope"}),
        await hub_server.get("/api/v1/no-such-thing"),
    ]

    assert [a.status_code for a in answers] == [200, 200, 401, 422, 404]
    assert_problem(answers[2], 401, "unauthorized")
    assert {a.headers["cache-control"] for a in answers} == {"no-store"}
    assert {a.headers["x-content-type-options"] for a in answers} == {"nosniff"}
