"""Named lists of an account's recipients, and their members."""

from __future__ import annotations

from typing import Any

from hub.clock import Clock, rfc3339
from hub.errors import UnknownRecipients
from hub.ids import new_id
from hub.recipients.directory import Recipient, recipient_of
from hub.store.interface import Row, Store, Tx


def _list_body(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "members": row["members"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


_SELECT = (
    "SELECT l.*, (SELECT COUNT(*) FROM list_members m WHERE m.list_id = l.id) AS members"
    " FROM recipient_lists l"
)


def _check_recipients(conn: Tx, account_id: str, ids: list[str]) -> None:
    unknown = [
        rid
        for rid in dict.fromkeys(ids)
        if conn.execute(
            "SELECT 1 FROM recipients WHERE id = ? AND account_id = ?", (rid, account_id)
        ).fetchone()
        is None
    ]
    if unknown:
        raise UnknownRecipients(unknown)


class RecipientLists:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def create(self, account_id: str, name: str, recipient_ids: list[str]) -> dict[str, Any]:
        now = self._clock.now()
        list_id, stamp = new_id("lst", now), rfc3339(now)

        def op(conn: Tx) -> None:
            _check_recipients(conn, account_id, recipient_ids)
            conn.execute(
                "INSERT INTO recipient_lists (id, account_id, name, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (list_id, account_id, name, stamp, stamp),
            )
            conn.executemany(
                "INSERT INTO list_members (list_id, recipient_id, added_at)"
                " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [(list_id, rid, stamp) for rid in recipient_ids],
            )

        await self._store.write(op)
        found = await self.get(account_id, list_id)
        assert found is not None
        return found

    async def get(self, account_id: str, list_id: str) -> dict[str, Any] | None:
        row = await self._store.fetchone(
            f"{_SELECT} WHERE l.id = ? AND l.account_id = ?", (list_id, account_id)
        )
        return _list_body(row) if row else None

    async def page(
        self, account_id: str, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        rows = await self._store.fetchall(
            f"{_SELECT} WHERE l.account_id = ? AND l.id < ? ORDER BY l.id DESC LIMIT ?",
            (account_id, cursor or "\uffff", limit + 1),
        )
        items = [_list_body(r) for r in rows[:limit]]
        return items, (items[-1]["id"] if len(rows) > limit else None)

    async def rename(self, account_id: str, list_id: str, name: str) -> dict[str, Any] | None:
        await self._store.execute(
            "UPDATE recipient_lists SET name = ?, updated_at = ? WHERE id = ? AND account_id = ?",
            (name, rfc3339(self._clock.now()), list_id, account_id),
        )
        return await self.get(account_id, list_id)

    async def delete(self, account_id: str, list_id: str) -> bool:
        changed = await self._store.execute(
            "DELETE FROM recipient_lists WHERE id = ? AND account_id = ?", (list_id, account_id)
        )
        return changed == 1

    async def change_members(
        self, account_id: str, list_id: str, add: list[str], remove: list[str]
    ) -> int | None:
        """Add and remove members; how many changed, or None without such a list."""
        stamp = rfc3339(self._clock.now())

        def op(conn: Tx) -> int | None:
            if (
                conn.execute(
                    "SELECT 1 FROM recipient_lists WHERE id = ? AND account_id = ?",
                    (list_id, account_id),
                ).fetchone()
                is None
            ):
                return None
            _check_recipients(conn, account_id, add)
            changed = 0
            for rid in dict.fromkeys(add):
                changed += conn.execute(
                    "INSERT INTO list_members (list_id, recipient_id, added_at)"
                    " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (list_id, rid, stamp),
                ).rowcount
            for rid in dict.fromkeys(remove):
                changed += conn.execute(
                    "DELETE FROM list_members WHERE list_id = ? AND recipient_id = ?",
                    (list_id, rid),
                ).rowcount
            conn.execute("UPDATE recipient_lists SET updated_at = ? WHERE id = ?", (stamp, list_id))
            return changed

        return await self._store.write(op)

    async def members(
        self, account_id: str, list_id: str, cursor: str | None = None, limit: int | None = None
    ) -> list[Recipient]:
        """The list's recipients by id (all of them without ``limit``)."""
        sql = (
            "SELECT r.* FROM list_members m JOIN recipients r ON r.id = m.recipient_id"
            " JOIN recipient_lists l ON l.id = m.list_id"
            " WHERE m.list_id = ? AND l.account_id = ? AND r.id > ? ORDER BY r.id"
        )
        args: list[Any] = [list_id, account_id, cursor or ""]
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [recipient_of(r) for r in await self._store.fetchall(sql, args)]
