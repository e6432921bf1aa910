"""Uploaded plan documents: checked by their first bytes (not the name a browser sends), sealed
with the field key (core/crypto.py, bound to their path) and written under MEDIA_ROOT/emergency/
with a random name. A plan is not a child's record, but it names staff and their phones, so it is
kept like every other upload; reading one goes through the download view, which checks the scope.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from xinqiao.core.crypto import decrypt_bytes, encrypt_bytes, file_aad
from xinqiao.core.errors import DomainError

MAX_BYTES = 20 * 1024 * 1024
_SIGNATURES: dict[bytes, str] = {
    b"%PDF-": "application/pdf",
    # Word: .docx is a zip, .doc an OLE compound file; WPS writes both.
    b"PK\x03\x04": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "application/msword",
}


def _root() -> Path:
    return Path(settings.MEDIA_ROOT) / "emergency"


def _aad(storage_name: str) -> bytes:
    return file_aad(f"emergency/{storage_name}")


def store(upload: Any) -> dict[str, Any]:
    """Seal one uploaded file; the fields of the row that keeps it."""
    if upload is None:
        raise DomainError(_("Choose a file to upload."), field="document")
    if upload.size > MAX_BYTES:
        raise DomainError(_("The file is larger than 20 MB."), field="document")
    data = upload.read()
    content_type = next((t for m, t in _SIGNATURES.items() if data.startswith(m)), None)
    if content_type is None:
        raise DomainError(_("Upload a PDF or Word document."), field="document")
    storage_name = f"{uuid.uuid4().hex}.bin"
    root = _root()
    root.mkdir(parents=True, exist_ok=True)
    (root / storage_name).write_bytes(encrypt_bytes(data, aad=_aad(storage_name)))
    return {
        "original_name": Path(getattr(upload, "name", "") or "plan").name[:200],
        "content_type": content_type,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "storage_name": storage_name,
    }


def read(storage_name: str) -> bytes:
    return decrypt_bytes((_root() / storage_name).read_bytes(), aad=_aad(storage_name))
