"""The audit trail's keys: HKDF from settings.AUDIT_CHAIN_KEY, one purpose each.

The key is never in the database (config/settings.py: the environment in production,
var/instance-secrets.json in the embedded default), so a person who can write the audit table
cannot recompute a valid hash after changing, inserting or deleting an event.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@lru_cache(maxsize=8)
def _derive(master: str, purpose: bytes) -> bytes:
    try:
        raw = base64.b64decode(master, validate=True)
    except ValueError:
        raw = master.encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(raw)


def chain_key() -> bytes:
    return _derive(settings.AUDIT_CHAIN_KEY, b"xinqiao audit chain")


def anchor_key() -> bytes:
    return _derive(settings.AUDIT_CHAIN_KEY, b"xinqiao audit anchor")


def mac(key: bytes, blob: str) -> str:
    return hmac.new(key, blob.encode(), hashlib.sha256).hexdigest()
