"""backup_instance / restore_instance: a round trip into an emptied database (SQLite and
PostgreSQL) gives the same rows, files and audit chain; other keys, an altered backup and a
database that holds data are refused, changing nothing."""

from __future__ import annotations

import base64
import datetime
import json
import os
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from xinqiao.audit.models import AuditEvent
from xinqiao.audit.services import record_event
from xinqiao.cases import documents
from xinqiao.core import backup
from xinqiao.people.importer import files
from xinqiao.people.models import Student

from ..cases.test_care_services import case_a1  # noqa: F401  (a fixture)
from ..conftest import ID_A1

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def instance(world, case_a1, settings, tmp_path):  # noqa: F811
    """Students, a case with a sealed document, a sealed roster, audit events and an anchor."""
    settings.AUDIT_ANCHOR_PATH = tmp_path / "anchors.jsonl"
    upload = SimpleUploadedFile("回执.pdf", PDF, content_type="application/pdf")
    document = documents.save_document(case=case_a1, kind="other", upload=upload, actor=world.psych)
    files.store_upload(["学籍号,姓名\r\n".encode()], "名单.csv")
    record_event(actor=world.psych, action="test.backup.seen", obj=world.stu_a1)
    call_command("verify_audit", stdout=StringIO())  # writes the first anchor
    return document


def _same_instant(value):
    # SQLite keeps a time written by raw SQL with its "+00:00" and one written by Django
    # without: the same UTC instant, which the restore writes the Django way.
    if isinstance(value, datetime.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC)
    return value


def snapshot() -> dict[str, list[str]]:
    """Every backed-up table's rows as stored (ciphertexts included)."""
    quote = connection.ops.quote_name
    out = {}
    with connection.cursor() as cursor:
        for model in backup.backed_up_models():
            cursor.execute(f"SELECT * FROM {quote(model._meta.db_table)}")  # noqa: S608
            rows = cursor.fetchall()
            out[model._meta.db_table] = sorted(repr([_same_instant(v) for v in r]) for r in rows)
    return out


def media_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def new_instance(settings, tmp_path) -> None:
    """An empty, migrated instance with the same keys: the database emptied (flush re-seeds what
    migrations seed, content types and permissions), new media and anchor locations."""
    if connection.vendor == "postgresql":
        # Inside the test's transaction: fire the deferred foreign-key checks so TRUNCATE may run.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    settings.MEDIA_ROOT = tmp_path / "media-restored"
    settings.AUDIT_ANCHOR_PATH = tmp_path / "anchors-restored.jsonl"


def restore(folder: Path) -> str:
    out = StringIO()
    call_command("restore_instance", str(folder), stdout=out)
    return out.getvalue()


def test_round_trip_restores_rows_files_and_a_verified_audit_chain(
    instance, world, settings, tmp_path, monkeypatch
):
    monkeypatch.setattr(backup, "CHUNK", 512)  # many chunks per stream
    monkeypatch.setattr(backup, "BATCH", 3)
    before = snapshot()
    media_before = media_files(Path(settings.MEDIA_ROOT))
    anchors_before = Path(settings.AUDIT_ANCHOR_PATH).read_bytes()
    folder = tmp_path / "backup"
    out = StringIO()
    call_command("backup_instance", "--out", str(folder), stdout=out)
    assert "backup written" in out.getvalue()

    new_instance(settings, tmp_path)
    assert Student.objects.count() == 0
    report = restore(folder)

    assert "audit chain verified" in report
    assert "restored the audit anchors" in report
    assert snapshot() == before
    assert media_files(Path(settings.MEDIA_ROOT)) == media_before
    assert Path(settings.AUDIT_ANCHOR_PATH).read_bytes().startswith(anchors_before)
    # Ciphertexts came back under the same keys, bound to the same rows and paths.
    assert Student.objects.get(pk=world.stu_a1.pk).id_number == ID_A1
    assert documents.read_document(instance) == PDF
    # Sequences follow the restored rows: new rows get new keys, and the chain goes on.
    record_event(actor=None, action="test.after.restore")
    assert AuditEvent.objects.count() == len(before["audit_auditevent"]) + 1
    call_command("verify_audit", stdout=StringIO())


def test_the_backup_holds_no_key_and_no_plaintext(instance, world, settings, tmp_path):
    folder = tmp_path / "backup"
    call_command("backup_instance", "--out", str(folder), stdout=StringIO())

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["tables"]["people_student"]["rows"] == Student.objects.count()
    assert manifest["media"]["files"] == 2
    assert ["people", "0001_initial"] in manifest["migrations"]
    everything = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    keys = (settings.FIELD_ENCRYPTION_KEY, settings.AUDIT_CHAIN_KEY, settings.FIELD_HASH_KEY)
    for secret in keys:
        assert secret.encode() not in everything
        assert base64.b64decode(secret) not in everything
    for plain in (world.stu_a1.name, ID_A1, world.psych.username, "test.backup.seen"):
        assert plain.encode() not in everything, plain
    # Read back with the key, the stored ciphertext is there as it was.
    names = [row for row in backup.iter_table_rows(folder, "people_student")]
    assert any(world.stu_a1.student_number_hash in row for row in names)


def test_restore_refuses_other_keys(instance, settings, tmp_path):
    folder = tmp_path / "backup"
    call_command("backup_instance", "--out", str(folder), stdout=StringIO())
    new_instance(settings, tmp_path)
    settings.FIELD_ENCRYPTION_KEY = base64.b64encode(os.urandom(32)).decode()

    with pytest.raises(CommandError, match="the keys of this instance are not the keys of the"):
        restore(folder)
    assert Student.objects.count() == 0


def test_restore_refuses_a_database_with_data(instance, tmp_path):
    folder = tmp_path / "backup"
    call_command("backup_instance", "--out", str(folder), stdout=StringIO())
    before = snapshot()

    with pytest.raises(CommandError, match="the database is not empty"):
        restore(folder)
    assert snapshot() == before


@pytest.mark.parametrize("target", ["tables/people_student.xqb", "media.xqb", "manifest.json"])
def test_restore_refuses_an_altered_backup(instance, settings, tmp_path, target):
    folder = tmp_path / "backup"
    call_command("backup_instance", "--out", str(folder), stdout=StringIO())
    path = folder / target
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    new_instance(settings, tmp_path)

    with pytest.raises(CommandError, match="altered"):
        restore(folder)
    assert Student.objects.count() == 0
    assert not Path(settings.MEDIA_ROOT).exists()


def test_an_altered_file_with_its_hash_updated_is_still_refused(instance, settings, tmp_path):
    """Rewriting the manifest's SHA-256 needs the manifest's MAC; the chunks' AEAD holds anyway."""
    folder = tmp_path / "backup"
    call_command("backup_instance", "--out", str(folder), stdout=StringIO())
    path = folder / "tables/people_student.xqb"
    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["tables/people_student.xqb"] = backup._sha256(path)
    (folder / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(backup.BackupError, match="MAC"):
        backup.read_manifest(folder)
    with pytest.raises(backup.BackupError, match="altered or moved"):
        list(backup._chunks(path, manifest["backup_id"], "tables/people_student.xqb", "aes"))


@pytest.mark.parametrize("suite", ["aes", "sm"])
def test_sealed_streams_refuse_truncation_reordering_and_another_name(settings, tmp_path, suite):
    settings.CRYPTO_SUITE = suite
    monkey = backup.CHUNK
    backup.CHUNK = 16
    try:
        path = tmp_path / "s.xqb"
        writer = backup.SealedWriter(path, "id1", "s.xqb", suite)
        writer.write(bytes(range(100)))
        writer.close()
    finally:
        backup.CHUNK = monkey
    assert b"".join(backup._chunks(path, "id1", "s.xqb", suite)) == bytes(range(100))
    with pytest.raises(backup.BackupError):
        list(backup._chunks(path, "id1", "other.xqb", suite))  # moved to another file
    with pytest.raises(backup.BackupError):
        list(backup._chunks(path, "id2", "s.xqb", suite))  # from another backup
    raw = path.read_bytes()
    header = backup._HEADER.size
    first = len(backup._MAGIC)
    size = backup._HEADER.unpack(raw[first : first + header])[1]
    cut = first + header + size
    path.write_bytes(raw[:cut])  # the final chunk dropped
    with pytest.raises(backup.BackupError, match="truncated"):
        list(backup._chunks(path, "id1", "s.xqb", suite))
    second = backup._HEADER.unpack(raw[cut : cut + header])[1]
    swapped = raw[:first] + raw[cut : cut + header + second] + raw[first:cut]
    path.write_bytes(swapped + raw[cut + header + second :])  # first two chunks swapped
    with pytest.raises(backup.BackupError, match="altered or moved"):
        list(backup._chunks(path, "id1", "s.xqb", suite))


def test_backup_refuses_a_folder_that_is_not_empty(db, tmp_path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(CommandError, match="not empty"):
        call_command("backup_instance", "--out", str(tmp_path), stdout=StringIO())
