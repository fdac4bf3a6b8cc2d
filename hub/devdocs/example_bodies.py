"""An operation's JSON body written as a literal of each example's language."""

from __future__ import annotations

import json
from typing import Final

from hub.devdocs.example_model import (
    BodyRenderer,
    Env,
    Language,
    Operation,
    Value,
    double_quoted,
    single_quoted,
)

ONE_LINE: Final = 60  # a body literal longer than this gets one field per line


def mapping(
    open_: str, close: str, field: str, *, single: bool = False, align: bool = False
) -> BodyRenderer:
    """Bodies written as a map literal: open, "field, field", close ({key}, {value}).

    Longer than ONE_LINE, one field per line with a trailing comma; ``align`` lines the
    values up the way gofmt does; ``single`` quotes strings with single quotes.
    """
    quote = single_quoted if single else double_quoted
    key_part = field.removesuffix("{value}")  # e.g. '"{key}": '
    assert "{value}" not in key_part, "a field ends with its value"

    def render(lang: Language, op: Operation) -> str:
        keys = [key_part.format(key=k) for k, _ in op.body]
        fields = [k + lang.value(v, quote) for k, (_, v) in zip(keys, op.body, strict=True)]
        one_line = open_ + ", ".join(fields) + close
        if len(one_line) <= ONE_LINE:
            return one_line
        if align:
            width = max(map(len, keys))
            fields = [k.ljust(width) + f[len(k) :] for k, f in zip(keys, fields, strict=True)]
        lines = "".join(f"\n{lang.indent}{f}," for f in fields)
        return open_.rstrip() + lines + "\n" + close.strip()

    return render


def shell_body(lang: Language, op: Operation) -> str:
    """A JSON body for curl -d: single-quoted, or double-quoted to expand variables."""
    if not op.env:
        return "'" + json.dumps(dict(op.body)) + "'"

    def text(value: Value) -> str:
        return lang.value(value) if isinstance(value, Env) else double_quoted(value)[1:-1]

    fields = (f'\\"{key}\\": \\"{text(value)}\\"' for key, value in op.body)
    return '"{' + ", ".join(fields) + '}"'


def java_body(lang: Language, op: Operation) -> str:
    """A Java string expression of the JSON body; variables go through quote()."""
    lines: list[str] = []
    literal = "{"
    for n, (key, value) in enumerate(op.body):
        literal += ", " * (n > 0) + json.dumps(key) + ": "
        if isinstance(value, Env):
            lines.append(f"{json.dumps(literal)} + quote({lang.value(value)})")
            literal = ""
        else:
            literal += double_quoted(value)
    if not lines:
        return json.dumps(literal + "}")
    lines[-1] += ' + "}"'
    return "\n        + ".join(lines)
