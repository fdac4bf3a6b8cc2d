"""Webhook secrets at rest: encrypted with Fernet (``cryptography``).

The key comes from ``RELAYHUB_WEBHOOK_KEY`` or from ``webhook.key`` in the data
folder, created on first use with owner-only permissions. A copy of the
database alone does not reveal any endpoint's signing secret.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet

KEY_FILE = "webhook.key"
ENV_KEY = "RELAYHUB_WEBHOOK_KEY"


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> SecretBox:
        from_env = os.environ.get(ENV_KEY)
        if from_env:
            return cls(from_env.encode())
        path = data_dir / KEY_FILE
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def open(self, sealed: bytes) -> str:
        return self._fernet.decrypt(sealed).decode()
