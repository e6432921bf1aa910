"""Uploaded rosters and their error reports, sealed at rest.

A roster holds every child's name, ID number and guardians' phones, so the copy kept for the job
record is encrypted with the field key (core/crypto.py) and bound to its path under MEDIA_ROOT,
like case documents: a file swapped for another does not open. The importer reads a decrypted
copy in a private scratch folder of the instance (`VAR_DIR/tmp`), deleted as soon as the job is
done with it; the error report is written there and sealed when complete. `rotate_keys` re-seals
these files with the others (core/rotation.py). `purge_expired_files` deletes them once a
finished job is older than UPLOAD_RETENTION_DAYS.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from xinqiao.audit.services import record_event
from xinqiao.core.crypto import decrypt_bytes, encrypt_bytes, file_aad, is_sealed_file

IMPORT_DIR = "imports"


def media_path(relative: str) -> Path:
    return Path(settings.MEDIA_ROOT) / relative


def scratch_dir() -> Path:
    """A folder only this instance's user reads, for plaintext that must exist as a file for a
    moment (calamine reads spreadsheets from a path)."""
    folder = Path(settings.VAR_DIR) / "tmp"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def scratch_file(suffix: str = "") -> Path:
    handle, name = tempfile.mkstemp(prefix="import-", suffix=suffix, dir=scratch_dir())
    os.close(handle)  # mkstemp made it 0600
    return Path(name)


def seal(relative: str, data: bytes) -> None:
    """Write `data` encrypted at MEDIA_ROOT/relative (a new name renamed into place)."""
    target = media_path(relative)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.sealing")
    temporary.write_bytes(encrypt_bytes(data, aad=file_aad(relative)))
    temporary.replace(target)


def read(relative: str) -> bytes:
    """The decrypted content (crypto.TamperedValue when altered or moved)."""
    return decrypt_bytes(media_path(relative).read_bytes(), aad=file_aad(relative))


def store_upload(chunks: Iterable[bytes], original_name: str, prefix: str = "") -> tuple[str, int]:
    """Seal an uploaded file under MEDIA_ROOT/imports/ before anything else happens."""
    suffix = Path(original_name).suffix.lower()[:8]
    relative = f"{IMPORT_DIR}/{prefix}{timezone.now():%Y%m%d}-{uuid.uuid4().hex}{suffix}"
    data = b"".join(chunks)
    seal(relative, data)
    return relative, len(data)


@contextmanager
def plaintext_copy(relative: str) -> Iterator[Path]:
    """A decrypted copy of a stored file in the scratch folder, deleted on leaving."""
    path = scratch_file(Path(relative).suffix)
    try:
        path.write_bytes(read(relative))
        yield path
    finally:
        path.unlink(missing_ok=True)


def delete(*relatives: str) -> None:
    for relative in relatives:
        if relative:
            media_path(relative).unlink(missing_ok=True)


def retention_days() -> int:
    return int(getattr(settings, "UPLOAD_RETENTION_DAYS", 30))


def purge_expired_files(now: object = None) -> int:
    """Delete the uploaded file and error report of every finished job older than the retention
    period; `files_purged_at` records it. Returns the number of jobs purged."""
    from ..models import ImportJob, ImportJobStatus

    moment = now or timezone.now()
    cutoff = moment - timedelta(days=retention_days())  # type: ignore[operator]
    expired = ImportJob.objects.filter(
        status__in=[ImportJobStatus.SUCCEEDED, ImportJobStatus.FAILED],
        finished_at__lt=cutoff,
        files_purged_at__isnull=True,
    ).only("pk", "code", "school_id", "file", "error_report")
    days = retention_days()
    count = 0
    for job in list(expired):
        with transaction.atomic():
            ImportJob.objects.filter(pk=job.pk).update(files_purged_at=moment)
            record_event(
                actor=None,
                action="people.import_job.files_purged",
                obj=job,
                school_id=job.school_id,
                fields={"job": str(job.code), "retention_days": days},
            )
        delete(job.file, job.error_report)  # after the row says so: a crash leaves no claim
        count += 1
    return count


def seal_plaintext_imports() -> int:
    """Seal roster files stored before uploads were encrypted (the people migration runs it;
    rotate_keys would otherwise refuse them)."""
    folder = media_path(IMPORT_DIR)
    if not folder.is_dir():
        return 0
    count = 0
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        blob = path.read_bytes()
        if is_sealed_file(blob):
            continue
        seal(path.relative_to(Path(settings.MEDIA_ROOT)).as_posix(), blob)
        count += 1
    return count
