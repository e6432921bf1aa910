"""Training certificates (PDF, JPEG, PNG), checked by their first bytes and sealed at rest like
case documents (core/crypto.py, bound to their path), under MEDIA_ROOT/workforce/."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from xinqiao.core.crypto import decrypt_bytes, encrypt_bytes, file_aad
from xinqiao.core.errors import DomainError

MAX_BYTES = 10 * 1024 * 1024
_SIGNATURES: dict[bytes, str] = {
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}


def _root() -> Path:
    return Path(settings.MEDIA_ROOT) / "workforce"


def _aad(storage_name: str) -> bytes:
    return file_aad(f"workforce/{storage_name}")


def store(upload: Any) -> dict[str, str]:
    """Seal one uploaded file; the record's certificate_* fields to set."""
    if upload.size > MAX_BYTES:
        raise DomainError(_("The file is larger than 10 MB."), field="certificate")
    data = upload.read()
    content_type = next((t for m, t in _SIGNATURES.items() if data.startswith(m)), None)
    if content_type is None:
        raise DomainError(_("Upload a PDF, JPEG or PNG file."), field="certificate")
    storage_name = f"{uuid.uuid4().hex}.bin"
    root = _root()
    root.mkdir(parents=True, exist_ok=True)
    (root / storage_name).write_bytes(encrypt_bytes(data, aad=_aad(storage_name)))
    return {
        "certificate_name": Path(getattr(upload, "name", "") or "certificate").name[:200],
        "certificate_type": content_type,
        "certificate_storage": storage_name,
        "certificate_sha256": hashlib.sha256(data).hexdigest(),
    }


def read(storage_name: str) -> bytes:
    return decrypt_bytes((_root() / storage_name).read_bytes(), aad=_aad(storage_name))
