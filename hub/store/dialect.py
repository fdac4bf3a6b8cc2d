"""The SQL each backend writes its own way, for the embedded SQLite store.

Everything else the hub says to storage is the portable subset (``?``
placeholders, ``ON CONFLICT``, explicit order columns). What is left is here,
behind ``hub.store.interface.Dialect``, so a second backend brings its own
class beside this one and no feature module changes.
"""

from __future__ import annotations

import re
from typing import Final

TRIGRAM: Final = 3  # the shortest fragment the FTS5 trigram index can find


def _fts_phrase(text: str) -> str:
    """``text`` as one FTS5 phrase: quoted, so its own quotes and operators are plain text."""
    return '"' + text.replace('"', '""') + '"'


def _like_fragment(text: str) -> str:
    """``text`` as a LIKE pattern that finds it anywhere (its own % and _ taken literally)."""
    return "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"


class SqliteDialect:
    def recipients_matching(self, forms: list[str]) -> tuple[str, list[object]]:
        if all(len(f) >= TRIGRAM for f in forms):
            # The index finds the matches first; a join would let the planner walk
            # the account's recipients and test each against the index instead.
            condition = "r.rowid IN (SELECT rowid FROM recipients_fts WHERE recipients_fts MATCH ?)"
            return condition, [" OR ".join(_fts_phrase(f) for f in forms)]
        # Too short for the index: a scan of this account's recipients.
        condition = "(" + " OR ".join("r.search LIKE ? ESCAPE '\\'" for _ in forms) + ")"
        return condition, [_like_fragment(f) for f in forms]

    def json_array_holds(self, column: str) -> str:
        return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE value = ?)"
