"""Uploaded case documents (signed acknowledgements, consents, medical papers), encrypted at rest.

Files are checked by their first bytes (not the name a browser sends), sealed with the field key
(core/crypto.py, bound to their path) and written under MEDIA_ROOT/cases/ with a random name.
Only the row knows which case a file belongs to; reading one goes through `read_document`, which
the download view audits.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.core.crypto import decrypt_bytes, encrypt_bytes, file_aad
from xinqiao.core.errors import DomainError
from xinqiao.core.types import User

from .models import Case, CaseDocument

MAX_BYTES = 10 * 1024 * 1024
# Magic numbers of what scanners and phones produce.
_SIGNATURES: dict[bytes, str] = {
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}


def _root() -> Path:
    return Path(settings.MEDIA_ROOT) / "cases"


def _aad(storage_name: str) -> bytes:
    return file_aad(f"cases/{storage_name}")  # bound to its path: a swapped file does not open


def sniff_content_type(head: bytes) -> str | None:
    for magic, content_type in _SIGNATURES.items():
        if head.startswith(magic):
            return content_type
    return None


def save_document(*, case: Case, kind: str, upload: Any, actor: User) -> CaseDocument:
    """Store one uploaded file (a Django UploadedFile) for `case`; call inside the service's
    transaction so the row lands with the record it belongs to."""
    if upload is None:
        raise DomainError(_("Choose a file to upload."), field="file")
    if upload.size > MAX_BYTES:
        raise DomainError(_("The file is larger than 10 MB."), field="file")
    data = upload.read()
    content_type = sniff_content_type(data[:16])
    if content_type is None:
        raise DomainError(_("Upload a PDF, JPEG or PNG file."), field="file")
    storage_name = f"{uuid.uuid4().hex}.bin"
    root = _root()
    root.mkdir(parents=True, exist_ok=True)
    (root / storage_name).write_bytes(encrypt_bytes(data, aad=_aad(storage_name)))
    return CaseDocument.objects.create(
        case=case,
        kind=kind,
        original_name=Path(getattr(upload, "name", "") or "document").name[:200],
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_name=storage_name,
        uploaded_by=actor,
        uploaded_at=timezone.now(),
    )


def read_document(document: CaseDocument) -> bytes:
    blob = (_root() / document.storage_name).read_bytes()
    return decrypt_bytes(blob, aad=_aad(document.storage_name))
