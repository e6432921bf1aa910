"""Uploaded rosters and error reports: sealed at rest, read through a scratch copy that is deleted,
decrypted on download, re-sealed by rotate_keys, deleted after the retention period."""

from __future__ import annotations

import base64
import datetime
import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from xinqiao.audit.models import AuditEvent
from xinqiao.core import crypto, rotation
from xinqiao.people.importer import files
from xinqiao.people.models import ImportJob
from xinqiao.people.tasks import purge_import_files

from .roster_files import student_row, write_csv, write_xlsx


@pytest.fixture(autouse=True)
def _inline(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    settings.XINQIAO_IMPORT_RUNNER = "inline"


def upload(client, path, world):
    payload = {"file": SimpleUploadedFile(path.name, path.read_bytes()), "term": world.term.pk}
    return client.post(reverse("imports:job-list"), payload)


def imported_job(world, client, tmp_path, *, xlsx=False) -> ImportJob:
    rows = [student_row(i) for i in range(1, 4)]
    rows[1]["监护人电话"] = "110"  # rejected: goes to the error report
    if xlsx:
        path = write_xlsx(tmp_path / "名单.xlsx", rows)
    else:
        path = write_csv(tmp_path / "名单.csv", rows)
    assert upload(client, path, world).status_code == 302
    return ImportJob.objects.exclude(pk=world.import_job.pk).get()


@pytest.mark.parametrize("xlsx", [False, True])
def test_roster_and_report_are_sealed_at_rest_and_the_scratch_copy_is_deleted(
    world, client_for, tmp_path, xlsx
):
    client = client_for(world.school_admin)
    job = imported_job(world, client, tmp_path, xlsx=xlsx)

    assert (job.created, job.rejected) == (2, 1)
    name = student_row(2)["姓名"].encode()
    for relative in (job.file, job.error_report):
        stored = (Path(django_settings.MEDIA_ROOT) / relative).read_bytes()
        assert crypto.is_sealed_file(stored)
        assert name not in stored
        assert name in files.read(relative) or (xlsx and relative == job.file)
    assert list((tmp_path / "var" / "tmp").iterdir()) == []  # nothing left in plaintext

    report = client.get(reverse("imports:job-errors", kwargs={"code": job.code}))
    assert report.status_code == 200
    assert report.content.startswith(b"\xef\xbb\xbf")
    assert name in report.content  # decrypted on download


def test_a_stored_file_moved_to_another_path_does_not_open(world, client_for, tmp_path):
    job = imported_job(world, client_for(world.school_admin), tmp_path)
    media = Path(django_settings.MEDIA_ROOT)
    shutil.copyfile(media / job.error_report, media / "imports/other-errors.csv")

    with pytest.raises(crypto.TamperedValue):
        files.read("imports/other-errors.csv")
    stored = bytearray((media / job.file).read_bytes())
    stored[-1] ^= 1
    (media / job.file).write_bytes(bytes(stored))
    with pytest.raises(crypto.TamperedValue):
        files.read(job.file)


def test_rotate_keys_reseals_import_files(world, client_for, tmp_path, settings):
    job = imported_job(world, client_for(world.school_admin), tmp_path)
    before = files.read(job.error_report)
    old = settings.FIELD_ENCRYPTION_KEY
    settings.FIELD_ENCRYPTION_KEY = base64.b64encode(os.urandom(32)).decode()
    settings.FIELD_ENCRYPTION_OLD_KEYS = [old]

    assert rotation.reseal_files() >= 2

    settings.FIELD_ENCRYPTION_OLD_KEYS = []
    media = Path(settings.MEDIA_ROOT)
    assert crypto.file_is_current((media / job.file).read_bytes())
    assert files.read(job.error_report) == before


def test_rosters_stored_in_plaintext_before_are_sealed(settings):
    plain = Path(settings.MEDIA_ROOT) / "imports" / "20250101-old.csv"
    plain.parent.mkdir(parents=True)
    plain.write_bytes("学籍号,姓名\r\nG1,张三\r\n".encode())

    assert files.seal_plaintext_imports() == 1

    assert crypto.is_sealed_file(plain.read_bytes())
    assert files.read("imports/20250101-old.csv").decode() == "学籍号,姓名\r\nG1,张三\r\n"
    assert files.seal_plaintext_imports() == 0


def test_files_of_finished_jobs_are_deleted_after_the_retention_period(
    world, client_for, tmp_path, settings
):
    settings.UPLOAD_RETENTION_DAYS = 10
    client = client_for(world.school_admin)
    job = imported_job(world, client, tmp_path)
    media = Path(settings.MEDIA_ROOT)
    kept = ImportJob.objects.create(
        created_by=world.school_admin,
        school=world.school_a,
        org_unit=world.school_a,
        term=world.term,
        file=files.store_upload([b"a,b\r\n"], "kept.csv")[0],
        original_name="kept.csv",
        status="succeeded",
        finished_at=timezone.now() - datetime.timedelta(days=9),
    )
    running = ImportJob.objects.create(
        created_by=world.school_admin,
        school=world.school_a,
        term=world.term,
        file=files.store_upload([b"a,b\r\n"], "running.csv")[0],
        original_name="running.csv",
        status="running",
    )
    ImportJob.objects.filter(pk=job.pk).update(
        finished_at=timezone.now() - datetime.timedelta(days=11)
    )

    assert purge_import_files() == 1

    job.refresh_from_db()
    assert job.files_purged_at is not None
    assert not (media / job.file).exists()
    assert not (media / job.error_report).exists()
    assert (media / kept.file).exists()
    assert (media / running.file).exists()
    event = AuditEvent.objects.get(action="people.import_job.files_purged")
    assert event.fields == {"job": str(job.code), "retention_days": 10}
    assert purge_import_files() == 0  # once

    page = client.get(reverse("imports:job-detail", kwargs={"code": job.code}))
    html = page.content.decode()
    assert 'data-testid="files-purged"' in html
    assert 'data-testid="error-report"' not in html
    report = client.get(reverse("imports:job-errors", kwargs={"code": job.code}))
    assert report.status_code == 404


def test_the_purge_is_a_declared_periodic_task(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["people-purge-import-files"]
    assert entry["task"] == purge_import_files.name


def test_a_downloaded_error_report_can_be_corrected_and_imported_again(world, client_for, tmp_path):
    """The watermark line above the header is skipped like a sheet title."""
    client = client_for(world.school_admin)
    job = imported_job(world, client, tmp_path)
    report = client.get(reverse("imports:job-errors", kwargs={"code": job.code})).content
    corrected = report.decode("utf-8-sig").replace(",110,", ",13800138000,")
    path = tmp_path / "corrected.csv"
    path.write_text(corrected, encoding="utf-8-sig")

    assert upload(client, path, world).status_code == 302

    again = ImportJob.objects.latest("id")
    assert (again.status, again.created, again.rejected) == ("succeeded", 1, 0)
