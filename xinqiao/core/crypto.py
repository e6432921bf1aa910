"""Field encryption (AES-256-GCM) and keyed hashes for exact lookup of encrypted values.

Both keys derive from FIELD_ENCRYPTION_KEY with HKDF, so one secret rotates both and the hash key
never equals the encryption key.
"""

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_PREFIX = "v1:"


@lru_cache(maxsize=4)
def _derive(master: str, purpose: bytes) -> bytes:
    try:
        raw = base64.b64decode(master, validate=True)
    except ValueError:
        raw = master.encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(raw)


def _aead() -> AESGCM:
    return AESGCM(_derive(settings.FIELD_ENCRYPTION_KEY, b"xinqiao field encryption"))


def encrypt(plaintext: str) -> str:
    nonce = os.urandom(12)
    sealed = _aead().encrypt(nonce, plaintext.encode(), None)
    return _PREFIX + base64.b64encode(nonce + sealed).decode()


def decrypt(token: str) -> str:
    if not token.startswith(_PREFIX):
        raise ValueError("not an encrypted value")
    blob = base64.b64decode(token[len(_PREFIX) :])
    return _aead().decrypt(blob[:12], blob[12:], None).decode()


def keyed_hash(value: str) -> str:
    """Deterministic HMAC-SHA256 of a normalised value, for exact-match lookups."""
    key = _derive(settings.FIELD_ENCRYPTION_KEY, b"xinqiao keyed hash")
    return hmac.new(key, value.strip().upper().encode(), hashlib.sha256).hexdigest()


def encrypt_bytes(data: bytes) -> bytes:
    """AES-GCM for uploaded files: 12-byte nonce followed by the sealed data."""
    nonce = os.urandom(12)
    return nonce + _aead().encrypt(nonce, data, None)


def decrypt_bytes(blob: bytes) -> bytes:
    return _aead().decrypt(blob[:12], blob[12:], None)
