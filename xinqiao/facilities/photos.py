"""Evidence photos of checklist items: checked by their first bytes, sealed with the field key
(bound to their path) under MEDIA_ROOT/facilities/ with a random name; served only through the
photo view, which checks the room's scope."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from xinqiao.core.crypto import decrypt_bytes, encrypt_bytes, file_aad
from xinqiao.core.errors import DomainError

MAX_BYTES = 10 * 1024 * 1024
_SIGNATURES: dict[bytes, str] = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}


def _root() -> Path:
    return Path(settings.MEDIA_ROOT) / "facilities"


def _aad(storage_name: str) -> bytes:
    return file_aad(f"facilities/{storage_name}")


def store(upload: Any, *, field: str = "photo") -> dict[str, Any]:
    """Seal one uploaded photo; the answer's photo fields."""
    if upload.size > MAX_BYTES:
        raise DomainError(_("The photo is larger than 10 MB."), field=field)
    data = upload.read()
    content_type = next((t for m, t in _SIGNATURES.items() if data.startswith(m)), None)
    if content_type is None:
        raise DomainError(_("Upload a JPEG or PNG photo."), field=field)
    storage_name = f"{uuid.uuid4().hex}.bin"
    root = _root()
    root.mkdir(parents=True, exist_ok=True)
    (root / storage_name).write_bytes(encrypt_bytes(data, aad=_aad(storage_name)))
    return {
        "photo_name": Path(getattr(upload, "name", "") or "photo").name[:200],
        "photo_type": content_type,
        "photo_size": len(data),
        "photo_storage": storage_name,
    }


def read(storage_name: str) -> bytes:
    return decrypt_bytes((_root() / storage_name).read_bytes(), aad=_aad(storage_name))
