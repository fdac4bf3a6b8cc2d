"""The conditions PostgreSQL writes its own way (``hub.store.interface.Dialect``)."""

from __future__ import annotations

import re


def _like_fragment(text: str) -> str:
    """``text`` as a LIKE pattern that finds it anywhere (its own % and _ taken literally)."""
    return "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"


class PostgresDialect:
    def recipients_matching(self, forms: list[str]) -> tuple[str, list[object]]:
        # The pg_trgm index on recipients.search (postgres_schema.sql) serves
        # these LIKEs for fragments of three characters or more; shorter ones scan
        # the account's recipients, as on SQLite.
        condition = "(" + " OR ".join("r.search LIKE ? ESCAPE '\\'" for _ in forms) + ")"
        return condition, [_like_fragment(f) for f in forms]

    def json_array_holds(self, column: str) -> str:
        return f"EXISTS (SELECT 1 FROM jsonb_array_elements_text({column}::jsonb) v WHERE v = ?)"
