"""Relay sessions: which node holds each device's socket, and whom to wake for an account.

A hello writes the session (the epoch grows by one, whichever node held it
before); the socket's end deletes it if this node still holds it. A node that
hands queued messages of an account back to the shared queue wakes the other
nodes holding that account's relays, in the same transaction: the payload is
the account id alone (no texts, no numbers), and PostgreSQL folds the same
payload sent twice in one transaction into one notification.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.cluster.control import Adopt, CloseRelay, Control, Why, encode
from hub.cluster.node import channel_of
from hub.store.interface import Statement, Tx

# The first key of an account's advisory lock ("rh"); the second is the
# account id's hash (a collision only makes two accounts wait for each other).
_ACCOUNT_LOCK = 0x7268


def took_session(node_id: str, account_id: str, device_id: str) -> Callable[[Tx], int]:
    """A write op: this node holds the device's socket now; returns the new epoch,
    or 0 if the device was revoked or disabled meanwhile (no session is written).

    The node that held the older socket is told, at commit, to close it with
    4409 if its own epoch is older (``CloseRelay``). The account's lock orders
    this against a revoke on another node: either the revoke sees this
    session and closes it, or this sees the revoke and refuses.
    """

    def op(tx: Tx) -> int:
        tx.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", (_ACCOUNT_LOCK, account_id))
        refused = tx.execute(
            "SELECT 1 FROM devices WHERE id = ? AND (revoked_at IS NOT NULL OR disabled <> 0)",
            (device_id,),
        ).fetchone()
        if refused is not None:
            return 0
        before = tx.execute(
            "SELECT node_id FROM relay_sessions WHERE device_id = ?", (device_id,)
        ).fetchone()
        row = tx.execute(
            "INSERT INTO relay_sessions (device_id, account_id, node_id, epoch)"
            " VALUES (?, ?, ?, 1)"
            " ON CONFLICT (device_id) DO UPDATE SET node_id = excluded.node_id,"
            " account_id = excluded.account_id, epoch = relay_sessions.epoch + 1, since = now()"
            " RETURNING epoch",
            (device_id, account_id, node_id),
        ).fetchone()
        epoch = int(row[0])
        if before is not None and before[0] != node_id:
            replaced = encode(CloseRelay(device_id, epoch, Why.REPLACED, node_id))
            tx.execute("SELECT pg_notify(?, ?)", (channel_of(before[0]), replaced))
        return epoch

    return op


def left_session(node_id: str, device_id: str) -> Statement:
    """The device's socket on this node is gone (a newer one elsewhere keeps its own)."""
    return (
        "DELETE FROM relay_sessions WHERE device_id = ? AND node_id = ?",
        (device_id, node_id),
    )


def wake_holders(node_id: str, account_id: str) -> list[Statement]:
    """NOTIFY every other live node holding a relay of the account (at commit).

    The account's lock, shared here and exclusive in a hello's session write,
    closes a race: without it a send could read the sessions just before a
    hello's commit, and that hello's claim read the queue just before the
    send's commit, and neither would see the other. With it, either the send
    sees the session, or the session (and so the claim after it) waits for the
    send's commit.
    """
    prefix = channel_of("")
    return [
        ("SELECT pg_advisory_xact_lock_shared(?, hashtext(?))", (_ACCOUNT_LOCK, account_id)),
        (
            "SELECT pg_notify(? || s.node_id, ?) FROM (SELECT DISTINCT r.node_id"
            " FROM relay_sessions r JOIN hub_nodes n ON n.id = r.node_id"
            " WHERE r.account_id = ? AND r.node_id <> ? AND n.lease_until > now()) AS s",
            (prefix, account_id, account_id, node_id),
        ),
    ]


def tell_holder(node_id: str, account_id: str, device_id: str, message: Control) -> list[Statement]:
    """NOTIFY the other live node holding the device's socket, if any (at commit).

    Under the account's lock, exclusive like a hello's session write: a hello
    committing just after this statement read the sessions must see what this
    transaction changed (a revoke), and one committing before is seen here.
    """
    return [
        ("SELECT pg_advisory_xact_lock(?, hashtext(?))", (_ACCOUNT_LOCK, account_id)),
        (
            "SELECT pg_notify(? || r.node_id, ?) FROM relay_sessions r"
            " JOIN hub_nodes n ON n.id = r.node_id"
            " WHERE r.device_id = ? AND r.node_id <> ? AND n.lease_until > now()",
            (channel_of(""), encode(message), device_id, node_id),
        ),
    ]


def broadcast(node_id: str, message: Control) -> list[Statement]:
    """NOTIFY every other live node (at commit)."""
    return [
        (
            "SELECT pg_notify(? || id, ?) FROM hub_nodes WHERE id <> ? AND lease_until > now()",
            (channel_of(""), encode(message), node_id),
        )
    ]


def hand_over(
    node_id: str, to_node: str, device_id: str, message_ids: list[str]
) -> list[Statement]:
    """Give the device's held messages to the node now holding its socket, and
    tell that node to load them (at commit); only those this node still owns."""
    return [
        (
            "UPDATE messages SET owner_node = ? WHERE id = ANY(?) AND owner_node = ?",
            (to_node, message_ids, node_id),
        ),
        ("SELECT pg_notify(?, ?)", (channel_of(to_node), encode(Adopt(device_id)))),
    ]
