"""Saved recipients of each account: name, number, tags, metadata, and search.

A number is saved once per account (E.164). Search goes through the trigram
index on ``search`` (``hub.recipients.search_text``): a query of three characters or more
is matched as a fragment anywhere in the name (either script) or the number;
a shorter one is matched by a scan of the account's recipients.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.clock import Clock, rfc3339
from hub.errors import DuplicatePhone
from hub.ids import new_id
from hub.recipients.search_text import query_forms, search_terms
from hub.store.interface import Row, Store, Tx

Metadata = dict[str, str | int | float]


@dataclass(frozen=True, slots=True)
class Recipient:
    id: str
    name: str
    phone: str
    tags: list[str]
    metadata: Metadata
    created_at: str
    updated_at: str

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "phone": self.phone, "tags": self.tags,
            "metadata": self.metadata, "created_at": self.created_at,
            "updated_at": self.updated_at,
        }  # fmt: skip


def recipient_of(row: Row) -> Recipient:
    return Recipient(
        row["id"],
        row["name"],
        row["phone"],
        json.loads(row["tags"]),
        json.loads(row["metadata"]),
        row["created_at"],
        row["updated_at"],
    )


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    name: str
    phone: str
    tags: list[str]
    metadata: Metadata


class Recipients:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def create(
        self, account_id: str, name: str, phone: str, tags: list[str], metadata: Metadata
    ) -> Recipient:
        """A new recipient; ``DuplicatePhone`` if the account has the number already."""
        now = self._clock.now()
        recipient_id = new_id("rcp", now)
        stamp = rfc3339(now)

        def op(conn: Tx) -> str | None:
            found = conn.execute(
                "SELECT id FROM recipients WHERE account_id = ? AND phone = ?", (account_id, phone)
            ).fetchone()
            if found is not None:
                return str(found["id"])
            conn.execute(
                "INSERT INTO recipients (id, account_id, name, phone, tags, metadata, search,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (recipient_id, account_id, name, phone, json.dumps(tags),
                 json.dumps(metadata, ensure_ascii=False), search_terms(name, phone), stamp,
                 stamp),
            )  # fmt: skip
            return None

        existing = await self._store.write(op)
        if existing is not None:
            raise DuplicatePhone(existing)
        return Recipient(recipient_id, name, phone, tags, metadata, stamp, stamp)

    async def get(self, account_id: str, recipient_id: str) -> Recipient | None:
        row = await self._store.fetchone(
            "SELECT * FROM recipients WHERE id = ? AND account_id = ?", (recipient_id, account_id)
        )
        return recipient_of(row) if row else None

    async def update(
        self, account_id: str, recipient_id: str, changes: dict[str, Any]
    ) -> Recipient | None:
        """Change the given fields; ``DuplicatePhone`` if the new number is taken."""
        stamp = rfc3339(self._clock.now())

        def op(conn: Tx) -> Recipient | None:
            row = conn.execute(
                "SELECT * FROM recipients WHERE id = ? AND account_id = ?",
                (recipient_id, account_id),
            ).fetchone()
            if row is None:
                return None
            current = recipient_of(row)
            name = changes.get("name", current.name)
            phone = changes.get("phone", current.phone)
            if phone != current.phone:
                taken = conn.execute(
                    "SELECT id FROM recipients WHERE account_id = ? AND phone = ?",
                    (account_id, phone),
                ).fetchone()
                if taken is not None:
                    raise DuplicatePhone(str(taken["id"]))
            tags = changes.get("tags", current.tags)
            metadata = changes.get("metadata", current.metadata)
            conn.execute(
                "UPDATE recipients SET name = ?, phone = ?, tags = ?, metadata = ?, search = ?,"
                " updated_at = ? WHERE id = ?",
                (name, phone, json.dumps(tags), json.dumps(metadata, ensure_ascii=False),
                 search_terms(name, phone), stamp, recipient_id),
            )  # fmt: skip
            return Recipient(recipient_id, name, phone, tags, metadata, current.created_at, stamp)

        return await self._store.write(op)

    async def delete(self, account_id: str, recipient_id: str) -> bool:
        changed = await self._store.execute(
            "DELETE FROM recipients WHERE id = ? AND account_id = ?", (recipient_id, account_id)
        )
        return changed == 1

    async def page(
        self,
        account_id: str,
        query: str | None,
        tag: str | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Recipient], str | None]:
        """Newest first; ``query`` a fragment of the name or number, ``tag`` exact."""
        where: list[str] = ["r.account_id = ?"]
        args: list[object] = [account_id]
        forms = query_forms(query) if query else []
        if query and not forms:
            return [], None
        dialect = self._store.dialect
        if forms:
            matching, matching_args = dialect.recipients_matching(forms)
            where.append(matching)
            args += matching_args
        if tag:
            where.append(dialect.json_array_holds("r.tags"))
            args.append(tag)
        if cursor:
            where.append("r.id < ?")
            args.append(cursor)
        rows = await self._store.fetchall(
            f"SELECT r.* FROM recipients r WHERE {' AND '.join(where)} ORDER BY r.id DESC LIMIT ?",
            (*args, limit + 1),
        )
        found = [recipient_of(r) for r in rows[:limit]]
        return found, (found[-1].id if len(rows) > limit else None)

    async def upsert_many(
        self, account_id: str, rows: list[ImportRow], columns: set[str], chunk: int = 1000
    ) -> tuple[int, int]:
        """Save imported rows, ``chunk`` to a transaction so other writes go between;
        a known number gets only the CSV's columns (metadata keys are merged).
        Returns (created, updated)."""
        created = updated = 0
        for start in range(0, len(rows), chunk):
            made, changed = await self._store.write(
                self._upsert_op(account_id, rows[start : start + chunk], columns)
            )
            created, updated = created + made, updated + changed
        return created, updated

    def _upsert_op(
        self, account_id: str, rows: list[ImportRow], columns: set[str]
    ) -> Callable[[Tx], tuple[int, int]]:
        now = self._clock.now()
        stamp = rfc3339(now)

        def op(conn: Tx) -> tuple[int, int]:
            created = updated = 0
            for row in rows:
                found = conn.execute(
                    "SELECT * FROM recipients WHERE account_id = ? AND phone = ?",
                    (account_id, row.phone),
                ).fetchone()
                if found is not None:
                    current = recipient_of(found)
                    name = row.name if "name" in columns else current.name
                    tags = row.tags if "tags" in columns else current.tags
                    metadata = {**current.metadata, **row.metadata}
                    conn.execute(
                        "UPDATE recipients SET name = ?, tags = ?, metadata = ?, search = ?,"
                        " updated_at = ? WHERE id = ?",
                        (name, json.dumps(tags), json.dumps(metadata, ensure_ascii=False),
                         search_terms(name, row.phone), stamp, current.id),
                    )  # fmt: skip
                    updated += 1
                    continue
                conn.execute(
                    "INSERT INTO recipients (id, account_id, name, phone, tags, metadata, search,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (new_id("rcp", now), account_id, row.name, row.phone, json.dumps(row.tags),
                     json.dumps(row.metadata, ensure_ascii=False),
                     search_terms(row.name, row.phone), stamp, stamp),
                )  # fmt: skip
                created += 1
            return created, updated

        return op
