"""This instance's own secrets for the embedded default (`make run`, development, tests).

The repository holds no key: on its first start an instance generates a secret key and a field
encryption key (32 random bytes) into var/instance-secrets.json (mode 0600, never committed:
/var/ is ignored), so a copy of the database cannot be decrypted with the repository's contents.
Production reads both from the environment and refuses weak values (settings.py). Back the file
up with the database: without it the encrypted fields cannot be read (docs/security.md).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from pathlib import Path

FILE_NAME = "instance-secrets.json"


def load_or_create(var_dir: Path) -> dict[str, str]:
    """The instance's secrets, generated once. Several processes starting together (test
    workers, gunicorn) agree: the file appears whole through a hard link or not at all."""
    path = var_dir / FILE_NAME
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        fresh = {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        temporary = var_dir / f".{FILE_NAME}.{os.getpid()}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(fresh, handle)
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process was first: use its secrets
        finally:
            temporary.unlink()
    loaded: dict[str, str] = json.loads(path.read_text())
    return loaded


def weak_secret_key(value: str) -> bool:
    return len(value) < 50 or len(set(value)) < 5


def weak_field_key(value: str) -> bool:
    """Not 32 bytes in base64, or bytes that are plainly not random (a phrase, repeats)."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        return True
    return len(raw) != 32 or len(set(raw)) < 16
