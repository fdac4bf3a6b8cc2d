"""The words of the /docs page (``web/docs/text.toml``) as safe HTML.

The strings know three marks: `code` becomes ``<code>``, ``[label](/path)`` a link
and ``{base_url}`` / ``{origin}`` this hub's address. Everything else is text:
each piece goes through ``markupsafe.escape`` and comes back as ``Markup``, so the
Jinja templates (autoescaped) print it as it is and escape everything else.
"""

from __future__ import annotations

import re
from typing import Any, Final

from markupsafe import Markup, escape

from hub.devdocs.fields import Limit

API_PATH: Final = "/api/v1"
_INLINE: Final = re.compile(r"`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)")
_PLACEHOLDER: Final = re.compile(r"\{(base_url|origin)\}")
_SLOT: Final = re.compile(r"\{(\w+)\}")


class PageText:
    """One language's words for a page served at ``origin`` under ``root``."""

    def __init__(self, words: dict[str, Any], lang: str, origin: str, root: str) -> None:
        self.lang = lang
        self.t = words
        self.root = root
        self.origin = origin
        self.base = origin + API_PATH
        self.values = {"origin": escape(origin), "base_url": escape(self.base)}

    def __call__(self, dotted: str) -> Markup:
        """The string at ``dotted`` (``"quick.step1_title"``) as HTML."""
        node: Any = self.t
        for part in dotted.split("."):
            node = node[part]
        return self.inline(str(node))

    def inline(self, raw: str) -> Markup:
        out, last = Markup(), 0
        for match in _INLINE.finditer(raw):
            out += self._plain(raw[last : match.start()])
            code, label, href = match.groups()
            if code is not None:
                out += Markup("<code>{}</code>").format(self._plain(code))
            else:
                out += Markup('<a href="{}">{}</a>').format(self.href(href), self._plain(label))
            last = match.end()
        return out + self._plain(raw[last:])

    def code_only(self, raw: str) -> Markup:
        """Text from the OpenAPI document: `code` spans, never links."""
        parts = raw.split("`")
        if len(parts) % 2 == 0:  # an unpaired backtick: show it as it is
            return escape(raw)
        return Markup().join(
            Markup("<code>{}</code>").format(part) if i % 2 else escape(part)
            for i, part in enumerate(parts)
        )

    def phrase(self, english: str) -> Markup:
        """A description of the OpenAPI document in this page's language, as HTML."""
        return self.code_only(self.t["phrases"].get(english, english))

    def href(self, href: str) -> str:
        return self.root + href if href.startswith("/") else href

    def limit(self, limit: Limit) -> Markup:
        """A limit in words (``reference.limits``); patterns and types as code."""
        words = self.t["reference"]["limits"]

        def value(match: re.Match[str]) -> str:
            raw = escape(limit.values[match[1]])
            return f"<code>{raw}</code>" if match[1] in ("pattern", "type") else str(raw)

        # One pass over the escaped words: a pattern's own {0,39} stays as it is.
        said = _SLOT.sub(value, str(escape(words[limit.key])))
        if limit.each:
            said = _SLOT.sub(lambda _: said, str(escape(words["each"])))
        return Markup(said)  # every piece went through escape()

    def _plain(self, raw: str) -> Markup:
        escaped = str(escape(raw))
        return Markup(_PLACEHOLDER.sub(lambda m: str(self.values[m[1]]), escaped))
