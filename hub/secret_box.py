"""Secrets at rest: encrypted with Fernet (``cryptography``).

Each use has its own key: webhook signing secrets (``webhook.key``, or
``RELAYHUB_WEBHOOK_KEY``) and OTP texts and code hashes (``otp.key``, or
``RELAYHUB_OTP_KEY``). A key comes from the environment or from its file in
the data folder, created on first use with owner-only permissions, so a copy
of the database alone reveals no secret.

Nodes of a cluster never read a node-local file (each has its own data folder,
and they must open each other's secrets): a key comes from the environment or,
once the store is open, from the database (``hub.cluster.shared_secrets``).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub.serving import private_files

KEY_FILE = "webhook.key"
ENV_KEY = "RELAYHUB_WEBHOOK_KEY"


class SecretBox:
    def __init__(self, key: bytes | None) -> None:
        """``key`` None: a box whose key ``load`` gives it later (a cluster node's)."""
        self._key = b""
        self._fernet: Fernet | None = None
        if key is not None:
            self.load(key)

    def load(self, key: bytes) -> None:
        self._key = key
        self._fernet = Fernet(key)

    @property
    def loaded(self) -> bool:
        return self._fernet is not None

    @classmethod
    def from_env(cls, env_key: str) -> SecretBox:
        """The key from ``env_key`` if set, else a box waiting for ``load``."""
        from_env = os.environ.get(env_key)
        return cls(from_env.encode() if from_env else None)

    def _opened(self) -> Fernet:
        if self._fernet is None:
            raise RuntimeError("this secret box has no key yet: the hub has not started")
        return self._fernet

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for another use (an HMAC), derived from this one with HKDF."""
        self._opened()
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
        return hkdf.derive(self._key)

    @classmethod
    def for_data_dir(
        cls, data_dir: Path, key_file: str = KEY_FILE, env_key: str = ENV_KEY
    ) -> SecretBox:
        from_env = os.environ.get(env_key)
        if from_env:
            return cls(from_env.encode())
        path = data_dir / key_file
        if not path.exists():
            private_files.make_folder(data_dir)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, private_files.FILE_MODE)
            with os.fdopen(fd, "wb") as fh:
                fh.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def seal(self, secret: str) -> bytes:
        return self._opened().encrypt(secret.encode())

    def open(self, sealed: bytes) -> str:
        return self._opened().decrypt(sealed).decode()
