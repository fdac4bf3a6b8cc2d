"""What an API example is made of: the operation it calls, the language it is
written in, and the values it reads from the environment."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Env:
    """A value the example reads from an environment variable (``sample`` is for run lines)."""

    name: str
    sample: str


Value = str | Env


@dataclass(frozen=True)
class Operation:
    """One API call (or, with no method, the webhook check) as every example makes it.

    Headers are the same for every call: ``Authorization: Bearer $RELAYHUB_TOKEN``,
    plus ``Content-Type: application/json`` when there is a body.
    """

    id: str
    title: str
    purpose: str  # one line, shown in each example's first comment
    method: Literal["GET", "POST"] | None = None
    path: str = ""
    body: tuple[tuple[str, Value], ...] = ()
    query: tuple[str, Env] | None = None  # the one query parameter of a GET
    # The answer's ``valid`` decides (verify): the example prints "valid" or "not valid"
    # after the answer, so nobody copies a check of ``ok`` or of the HTTP status.
    verdict: bool = False

    @property
    def call(self) -> str:
        return f"{self.method} {self.path}" if self.method else "Standard Webhooks"

    @property
    def env(self) -> tuple[Env, ...]:
        """The operation's own variables, beyond RELAYHUB_URL and RELAYHUB_TOKEN."""
        values = [v for _, v in self.body] + ([self.query[1]] if self.query else [])
        return tuple(v for v in values if isinstance(v, Env))


def double_quoted(text: str) -> str:
    """A double-quoted literal; the same in every language here for these plain texts."""
    if not re.fullmatch(r"[\w +.-]*", text):
        raise ValueError(f"{text!r}: keep literals to letters, digits, space and + . -")
    return json.dumps(text)


def single_quoted(text: str) -> str:
    return "'" + double_quoted(text)[1:-1] + "'"


BodyRenderer = Callable[["Language", Operation], str]


@dataclass(frozen=True)
class Language:
    """A language of the examples; its templates are files under
    ``example_templates/<id>/`` (see ``hub.devdocs.examples``)."""

    id: str
    name: str  # shown on the docs page's tab
    ext: str
    highlight: str  # highlight.js / Prism language name
    env: str  # how the language reads an environment variable; {name} is its name
    body: BodyRenderer  # the operation's body as a literal of this language
    indent: str = "    "
    comment: str = "//"  # a line comment's marker
    webhook_from: str = ""  # another language whose webhook template this one shares
    helper: str = ""  # a part a POST adds (its {{helper}}) when the body reads a variable

    def value(self, value: Value, quote: Callable[[str], str] = double_quoted) -> str:
        return self.env.format(name=value.name) if isinstance(value, Env) else quote(value)
