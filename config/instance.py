"""This instance's own secrets for the embedded default (`make run`, development, tests).

The repository holds no key: on its first start an instance generates a secret key, a field
encryption key and the audit chain's key (32 random bytes each) into var/instance-secrets.json
(mode 0600, never committed: /var/ is ignored), so a copy of the database cannot be decrypted
with the repository's contents. Production reads them from the environment and refuses weak
values (settings.py). Back the file up with the database: without it the encrypted fields cannot
be read and the audit chain cannot be verified (docs/operations.md).
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

FILE_NAME = "instance-secrets.json"


def _field_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


# Each secret and how it is made; a secret added in a later version is added to an existing file.
GENERATORS: dict[str, Callable[[], str]] = {
    "SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "FIELD_ENCRYPTION_KEY": _field_key,
    "AUDIT_CHAIN_KEY": _field_key,
    "FIELD_HASH_KEY": _field_key,
}


def load_or_create(var_dir: Path) -> dict[str, str]:
    """The instance's secrets, each generated once. Processes starting together (test workers,
    gunicorn) take a lock, so they all read the same secrets; the file is replaced whole."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / FILE_NAME
    with open(var_dir / f".{FILE_NAME}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        missing = {name: make() for name, make in GENERATORS.items() if name not in current}
        if "FIELD_ENCRYPTION_KEY" in current and "FIELD_HASH_KEY" in missing:
            # Made before hashes had their own key: they were made with the field key.
            missing["FIELD_HASH_KEY"] = current["FIELD_ENCRYPTION_KEY"]
        if missing:
            current.update(missing)
            temporary = var_dir / f".{FILE_NAME}.{os.getpid()}.tmp"
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                json.dump(current, handle)
            os.replace(temporary, path)
        return current


def weak_secret_key(value: str) -> bool:
    return len(value) < 50 or len(set(value)) < 5


def weak_field_key(value: str) -> bool:
    """Not 32 bytes in base64, or bytes that are plainly not random (a phrase, repeats)."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        return True
    return len(raw) != 32 or len(set(raw)) < 16
