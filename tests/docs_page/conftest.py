"""Helpers for the /docs page tests: a hub (tests/e2e's ``serve_hub``), the
browser fixtures of ``tests/chromium.py`` and a small HTML reader, so assertions
name elements rather than match raw text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from hub.app import routes
from tests.chromium import browser, new_tab  # fixtures, shared with tests/browser
from tests.e2e.conftest import RunningHub, hub_config, serve_hub

__all__ = ["browser", "new_tab"]

# The hub's route table in an app of its own, for rendering without serving:
# the page and the document are built from the routes of the app passed in.
ROUTED = Starlette(routes=routes())

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';"
    " frame-ancestors 'none'"
)


@dataclass(eq=False)
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    parent: Element | None = None

    def within(self, ancestor: Element) -> bool:
        node = self.parent
        while node is not None and node is not ancestor:
            node = node.parent
        return node is ancestor


class Page(HTMLParser):
    """Every element with its attributes and the text inside it (nested text included)."""

    _VOID = frozenset({"meta", "link", "img", "br", "hr", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self._open[-1] if self._open else None
        element = Element(tag, {k: v or "" for k, v in attrs}, parent=parent)
        self.elements.append(element)
        if tag not in self._VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i].tag == tag:
                del self._open[i:]
                return

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    def by_id(self, element_id: str) -> Element:
        found = [e for e in self.elements if e.attrs.get("id") == element_id]
        assert len(found) == 1, f"{len(found)} elements with id {element_id!r}"
        return found[0]

    def all(self, tag: str, inside: Element | None = None, **attrs: Any) -> list[Element]:
        """Elements named ``tag`` with these attributes (``class_="x"``, ``data_field="y"``:
        exact values), only those inside ``inside`` when it is given."""
        return [
            e
            for e in self.elements
            if e.tag == tag
            and all(e.attrs.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())
            and (inside is None or e.within(inside))
        ]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    async with serve_hub(hub_config(tmp_path / "data")) as running:
        yield running
