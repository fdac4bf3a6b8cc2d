"""``GET /``, the address ``make run`` prints, leads a person on: to the developer
docs, the dashboard and the health check, under the pages' strict CSP."""

from __future__ import annotations

from html.parser import HTMLParser

from tests.e2e.conftest import RunningHub
from tests.e2e.test_security_headers import directives, parts_of

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';"
    " frame-ancestors 'none'"
)


class Links(HTMLParser):
    """Every link's href with its text, and every URL the page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.links: dict[str, str] = {}
        self.loads: list[str] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "a":
            self._href = named.get("href")
        elif tag in ("link", "script", "img") and (named.get("href") or named.get("src")):
            self.loads.append(named.get("href") or named.get("src") or "")

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self.links[self._href] = self.links.get(self._href, "") + data.strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._href = None


async def test_home_page_leads_to_the_docs_the_dashboard_and_the_health_check(
    hub_server: RunningHub,
) -> None:
    response = await hub_server.client.get(
        hub_server.base_url + "/", headers={"Accept": "text/html,*/*;q=0.8"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = Links()
    page.feed(response.text)
    assert page.links == {
        "/docs": "Developer docs",
        "/dashboard/": "Dashboard",
        "/api/v1/health": "Health check",
    }
    for href in page.links:  # each one is there to follow
        followed = await hub_server.client.get(hub_server.base_url + href)
        assert followed.status_code == 200, href


async def test_home_page_loads_nothing_from_elsewhere_under_the_strict_csp(
    hub_server: RunningHub,
) -> None:
    response = await hub_server.client.get(hub_server.base_url + "/")

    assert response.headers["content-security-policy"] == PAGE_POLICY
    assert directives(response.headers["content-security-policy"])["default-src"] == ["'self'"]
    assert response.headers["x-frame-options"] == "DENY"
    assert parts_of(response).inline == []
    page = Links()
    page.feed(response.text)
    assert page.loads  # its icon and stylesheet, served by the hub itself
    for url in page.loads:
        assert url.startswith("/") and not url.startswith("//"), url
        assert (await hub_server.client.get(hub_server.base_url + url)).status_code == 200, url


async def test_home_answers_json_to_a_client_that_asks_for_json(hub_server: RunningHub) -> None:
    response = await hub_server.client.get(
        hub_server.base_url + "/", headers={"Accept": "application/json"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["vary"] == "Accept"
    body = response.json()
    assert body["ok"] is True
    assert body["links"] == {
        "docs": "/docs",
        "dashboard": "/dashboard/",
        "health": "/api/v1/health",
        "openapi": "/api/v1/openapi.json",
    }
