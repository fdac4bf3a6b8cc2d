"""The keys every node of a cluster needs, kept in the database.

``otp.key`` and ``webhook.key`` (``hub.secret_box``) must be the same on every
node: a code sent through one is verified on another, and a webhook secret
sealed on one is opened on another. A key set in the environment
(``RELAYHUB_OTP_KEY``, ``RELAYHUB_WEBHOOK_KEY``, the same on every node) wins;
otherwise the first node to start makes it, under a transaction advisory lock,
in ``hub_secrets``, and every node reads it from there.

What guards a key in the database: with ``RELAYHUB_SECRET_KEY`` (a Fernet key
given to every node, never stored) it is stored sealed with that key, so a copy
of the database alone still reveals no secret. Without it the key is stored as
is, and the database's access rules and its backups' are all that guard it: the
hub says so in a warning at start.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Final

from cryptography.fernet import Fernet, InvalidToken

from hub.config import ConfigError
from hub.secret_box import SecretBox
from hub.store.interface import Store, Tx

log = logging.getLogger(__name__)

WRAP_ENV: Final = "RELAYHUB_SECRET_KEY"
# The first key of the advisory lock on a secret's row ("rs").
_SECRET_LOCK: Final = 0x7273


def _wrapper() -> Fernet | None:
    raw = os.environ.get(WRAP_ENV)
    if not raw:
        return None
    try:
        return Fernet(raw.encode())
    except ValueError:
        raise ConfigError(
            f"{WRAP_ENV} is not a Fernet key (32 bytes, URL-safe base64); make one with"
            ' `python -c "from cryptography.fernet import Fernet;'
            ' print(Fernet.generate_key().decode())"` and give the same to every node'
        ) from None


async def load_keys(store: Store, boxes: dict[str, SecretBox]) -> None:
    """Give each box still without a key (none came from the environment) the
    database's key of that name, made now if no node made it yet."""
    waiting = {name: box for name, box in boxes.items() if not box.loaded}
    if not waiting:
        return
    wrapper = _wrapper()
    if wrapper is None:
        log.warning(
            "cluster keys (%s) are kept in the database unsealed: set %s to the same Fernet"
            " key on every node so that a copy of the database alone reveals no secret",
            ", ".join(sorted(waiting)), WRAP_ENV,
        )  # fmt: skip
    for name, box in waiting.items():
        box.load(await store.write(_key_op(name, wrapper)))


def _key_op(name: str, wrapper: Fernet | None) -> Callable[[Tx], bytes]:
    def op(tx: Tx) -> bytes:
        tx.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", (_SECRET_LOCK, name))
        row = tx.execute("SELECT value, sealed FROM hub_secrets WHERE name = ?", (name,)).fetchone()
        if row is None:
            key = Fernet.generate_key()
            value = key if wrapper is None else wrapper.encrypt(key)
            tx.execute(
                "INSERT INTO hub_secrets (name, value, sealed) VALUES (?, ?, ?)",
                (name, value, int(wrapper is not None)),
            )
            return key
        value = bytes(row["value"])
        if not row["sealed"]:
            if wrapper is not None:  # sealed from now on, as the operator asks
                tx.execute(
                    "UPDATE hub_secrets SET value = ?, sealed = 1 WHERE name = ?",
                    (wrapper.encrypt(value), name),
                )
            return value
        if wrapper is None:
            raise ConfigError(
                f"the cluster's {name} is sealed with {WRAP_ENV}: set it on this node too"
            )
        try:
            return wrapper.decrypt(value)
        except InvalidToken:
            raise ConfigError(
                f"the cluster's {name} does not open with this node's {WRAP_ENV}:"
                " give every node the same one"
            ) from None

    return op
