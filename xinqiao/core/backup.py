# ruff: noqa: S608  (SQL built from model table and column names; values are parameters)
"""Encrypted backups of a whole instance, and their restore into a new, empty one.

A backup is a folder:

- `manifest.json`: versions, the migrations applied, rows per table, media files, the public
  fingerprints of the keys (never a key) and the SHA-256 of every other file; `manifest.mac` is
  its HMAC under a key derived from FIELD_ENCRYPTION_KEY, so it cannot be edited unseen;
- `tables/<table>.xqb`: one per table, JSON lines (the column names, then one row per line) with
  values as stored: encrypted fields stay ciphertexts under the same keys;
- `media.xqb`: every file under MEDIA_ROOT as stored (case documents and rosters are already
  sealed), each a JSON header line then its bytes; `anchors.xqb`: the audit anchor file.

Every `.xqb` file is a sealed stream: AEAD (the instance's suite, AES-256-GCM or SM4-GCM) under a
key derived from FIELD_ENCRYPTION_KEY for backups, in chunks of 1 MiB, each bound to the backup,
the file, its position and whether it is the last — so a chunk cannot be altered, moved, dropped
or truncated. Rows are read in batches and written as they come: no table is held in memory.

Restore checks everything before it writes: the key fingerprints (a clear refusal when the keys
differ), the manifest's MAC, every file's SHA-256, the migration state, and that the database is
empty. Then, in one transaction, it replaces what migrations seeded (content types, permissions)
with the backup's rows in dependency order, checks every foreign key, resets PostgreSQL's
sequences and finally writes the files. The restore command then verifies the audit chain.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import hashlib
import hmac
import io
import json
import os
import platform
import struct
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from . import crypto
from .fields import EncryptedTextField, Sealed

FORMAT = 1
PURPOSE = "backup"
CHUNK = 1024 * 1024
BATCH = 2000
_MAGIC = b"XQB1\n"
_HEADER = struct.Struct(">BI")  # final flag, length of the sealed chunk
# Not backed up: the migration table is the target's own; sessions are signed with SECRET_KEY and
# a restored instance signs everyone out anyway.
SKIPPED_TABLES = {"django_session", "django_migrations"}


class BackupError(Exception):
    """A backup that cannot be restored here; nothing was changed."""


# --- sealed streams ------------------------------------------------------------------------------
def _aad(backup_id: str, name: str, index: int, final: bool) -> bytes:
    return f"xinqiao backup\x1f{backup_id}\x1f{name}\x1f{index}\x1f{int(final)}".encode()


class SealedWriter:
    """Writes bytes to `path` as sealed chunks; `close` seals the last one (even when empty)."""

    def __init__(self, path: Path, backup_id: str, name: str, suite_name: str) -> None:
        self.sealer = crypto.purpose_sealer(PURPOSE, suite_name)
        self.backup_id, self.name = backup_id, name
        self.fh = path.open("wb")
        self.fh.write(_MAGIC)
        self.buffer = bytearray()
        self.index = 0

    def write(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) > CHUNK:
            self._emit(bytes(self.buffer[:CHUNK]), final=False)
            del self.buffer[:CHUNK]

    def _emit(self, data: bytes, *, final: bool) -> None:
        blob = self.sealer.seal(data, _aad(self.backup_id, self.name, self.index, final))
        self.fh.write(_HEADER.pack(int(final), len(blob)) + blob)
        self.index += 1

    def close(self) -> None:
        self._emit(bytes(self.buffer), final=True)
        self.buffer.clear()
        self.fh.close()


def _chunks(path: Path, backup_id: str, name: str, suite_name: str) -> Iterator[bytes]:
    sealer = crypto.purpose_sealer(PURPOSE, suite_name)
    with path.open("rb") as fh:
        if fh.read(len(_MAGIC)) != _MAGIC:
            raise BackupError(f"{name}: not a sealed backup file")
        index = 0
        while True:
            header = fh.read(_HEADER.size)
            if len(header) < _HEADER.size:
                raise BackupError(f"{name}: the file is truncated")
            final, length = _HEADER.unpack(header)
            blob = fh.read(length)
            if len(blob) < length:
                raise BackupError(f"{name}: the file is truncated")
            try:
                yield sealer.open(blob, _aad(backup_id, name, index, bool(final)))
            except crypto.TamperedValue as error:
                raise BackupError(f"{name}: chunk {index} was altered or moved") from error
            index += 1
            if final:
                if fh.read(1):
                    raise BackupError(f"{name}: data after the last chunk")
                return


class SealedReader(io.RawIOBase):
    """The decrypted content of a sealed stream, read as a file."""

    def __init__(self, path: Path, backup_id: str, name: str, suite_name: str) -> None:
        self._chunks = _chunks(path, backup_id, name, suite_name)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def _open_stream(folder: Path, manifest: dict[str, Any], name: str) -> io.BufferedReader:
    raw = SealedReader(folder / name, manifest["backup_id"], name, manifest["keys"]["suite"])
    return io.BufferedReader(raw, buffer_size=CHUNK)


# --- rows as JSON --------------------------------------------------------------------------------
def _encode(value: Any) -> Any:
    if isinstance(value, Sealed):
        return value.token
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return str(value)
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview | bytearray):
        return base64.b64encode(bytes(value)).decode()
    raise TypeError(f"cannot back up a value of type {type(value).__name__}")


def _decode(model_field: models.Field[Any, Any], value: Any) -> Any:
    """The database value of `value` as the backup wrote it (ciphertexts as they were)."""
    if value is None:
        return None
    if isinstance(model_field, EncryptedTextField):
        return model_field.get_db_prep_save(Sealed(value), connection)
    return model_field.get_db_prep_save(model_field.to_python(value), connection)


# --- what is backed up --------------------------------------------------------------------------
def backed_up_models() -> list[Any]:
    """Every table of the instance (managed models, with the many-to-many tables), parents
    before the tables that refer to them."""
    existing = set(connection.introspection.table_names())
    chosen = [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed
        and not m._meta.proxy
        and m._meta.db_table in existing
        and m._meta.db_table not in SKIPPED_TABLES
    ]
    return _dependency_order(chosen)


def _dependency_order(chosen: list[Any]) -> list[Any]:
    by_label = {m._meta.label: m for m in sorted(chosen, key=lambda m: m._meta.db_table)}
    needs = {
        label: {
            f.related_model._meta.label
            for f in m._meta.concrete_fields
            if f.is_relation and f.related_model is not None
        }
        & set(by_label) - {label}
        for label, m in by_label.items()
    }
    ordered: list[Any] = []
    done: set[str] = set()
    while len(done) < len(by_label):
        ready = [label for label in by_label if label not in done and needs[label] <= done]
        if not ready:  # a cycle: the foreign keys are checked at the end of the transaction
            ready = [next(label for label in by_label if label not in done)]
        for label in ready:
            done.add(label)
            ordered.append(by_label[label])
    return ordered


def key_fingerprints(suite_name: str | None = None) -> dict[str, Any]:
    """Public names of the keys a backup depends on (key ids are hashes, never the keys)."""
    audit_key = getattr(settings, "AUDIT_CHAIN_KEY", "")
    return {
        "suite": suite_name or crypto.suite(),
        "field_key": crypto.key_id(settings.FIELD_ENCRYPTION_KEY),
        "old_field_keys": [
            crypto.key_id(k) for k in getattr(settings, "FIELD_ENCRYPTION_OLD_KEYS", []) if k
        ],
        "hash_key": crypto.hash_fingerprint(),
        "audit_key": crypto.key_id(audit_key) if audit_key else "",
        "backup_key": crypto.purpose_sealer(PURPOSE, suite_name).key_id,
    }


def applied_migrations() -> list[list[str]]:
    return sorted([app, name] for app, name in MigrationRecorder(connection).applied_migrations())


def _versions() -> dict[str, str]:
    from importlib import metadata

    import django

    try:
        xinqiao_version = metadata.version("xinqiao")
    except metadata.PackageNotFoundError:
        xinqiao_version = "unknown"
    return {
        "xinqiao": xinqiao_version,
        "django": django.get_version(),
        "python": platform.python_version(),
        "database": connection.vendor,
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _media_files() -> Iterator[tuple[str, Path]]:
    media = Path(settings.MEDIA_ROOT)
    if not media.is_dir():
        return
    for path in sorted(media.rglob("*")):
        if path.is_file() and not path.name.startswith("."):  # dot files: writes in progress
            yield path.relative_to(media).as_posix(), path


def _anchor_path() -> Path | None:
    configured = getattr(settings, "AUDIT_ANCHOR_PATH", None)
    return Path(configured) if configured else None


# --- backup ----------------------------------------------------------------------------------
@dataclass
class BackupReport:
    folder: Path
    tables: dict[str, int] = field(default_factory=dict)
    media_files: int = 0


def _dump_table(model: Any, writer: SealedWriter) -> int:
    fields = list(model._meta.concrete_fields)
    writer.write(json.dumps([f.column for f in fields]).encode() + b"\n")
    rows = 0
    queryset = model._base_manager.order_by("pk").values_list(*[f.attname for f in fields])
    for row in queryset.iterator(chunk_size=BATCH):
        line = json.dumps(list(row), default=_encode, ensure_ascii=False, separators=(",", ":"))
        writer.write(line.encode() + b"\n")
        rows += 1
    return rows


def make_backup(out: Path) -> BackupReport:
    """Write a backup of the database, MEDIA_ROOT and the audit anchors into the new folder
    `out`. Read in one repeatable-read snapshot on PostgreSQL, so tables agree with each other."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"{out} is not empty: choose a new folder")
    (out / "tables").mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    backup_id = uuid.uuid4().hex
    suite_name = crypto.suite()
    report = BackupReport(out)
    files: dict[str, str] = {}
    tables: dict[str, Any] = {}

    def stream(name: str) -> SealedWriter:
        return SealedWriter(out / name, backup_id, name, suite_name)

    # A snapshot only when this is the outermost transaction (the command; a test's transaction
    # has run queries already and sees one state anyway).
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for model in backed_up_models():
            name = f"tables/{model._meta.db_table}.xqb"
            writer = stream(name)
            try:
                rows = _dump_table(model, writer)
            finally:
                writer.close()
            tables[model._meta.db_table] = {"model": model._meta.label, "rows": rows, "file": name}
            report.tables[model._meta.db_table] = rows
        migrations = applied_migrations()
    writer = stream("media.xqb")
    media_bytes = 0
    try:
        for relative, path in _media_files():
            size = path.stat().st_size
            writer.write(json.dumps({"path": relative, "size": size}).encode() + b"\n")
            with path.open("rb") as fh:
                while block := fh.read(CHUNK):
                    writer.write(block)
            report.media_files += 1
            media_bytes += size
    finally:
        writer.close()
    anchors = _anchor_path()
    writer = stream("anchors.xqb")
    try:
        if anchors is not None and anchors.is_file():
            writer.write(anchors.read_bytes())
    finally:
        writer.close()
    for name in [*(t["file"] for t in tables.values()), "media.xqb", "anchors.xqb"]:
        files[name] = _sha256(out / name)
    manifest = {
        "format": FORMAT,
        "backup_id": backup_id,
        "created_at": timezone.now().isoformat(),
        "versions": _versions(),
        "migrations": migrations,
        "keys": key_fingerprints(suite_name),
        "tables": tables,
        "media": {"files": report.media_files, "bytes": media_bytes},
        "files": files,
    }
    body = json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False).encode()
    (out / "manifest.json").write_bytes(body)
    (out / "manifest.mac").write_text(crypto.purpose_mac(PURPOSE, body, suite_name) + "\n")
    return report


# --- restore -----------------------------------------------------------------------------------
@dataclass
class RestoreReport:
    tables: dict[str, int] = field(default_factory=dict)
    media_files: int = 0
    anchors_restored: bool = False


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest, once the keys match and its MAC holds (BackupError otherwise)."""
    try:
        body = (folder / "manifest.json").read_bytes()
        mac = (folder / "manifest.mac").read_text().strip()
    except OSError as error:
        raise BackupError(f"{folder} is not a Xinqiao backup: {error}") from error
    try:
        manifest = json.loads(body)
    except ValueError as error:  # the MAC's key depends on the suite it names: no MAC to check
        raise BackupError(f"manifest.json was altered or is not a backup's ({error})") from error
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    theirs = manifest["keys"]
    ours = key_fingerprints(theirs["suite"])
    differ = [
        name
        for name in ("field_key", "hash_key", "audit_key")
        if theirs.get(name) != ours.get(name)
    ]
    if differ:
        raise BackupError(
            "the keys of this instance are not the keys of the backup ("
            + ", ".join(f"{n}: backup {theirs.get(n)}, here {ours.get(n)}" for n in differ)
            + "). Set FIELD_ENCRYPTION_KEY, FIELD_HASH_KEY, AUDIT_CHAIN_KEY (and CRYPTO_SUITE) "
            "to the keys the backed-up instance used, then restore again."
        )
    if not hmac.compare_digest(mac, crypto.purpose_mac(PURPOSE, body, theirs["suite"])):
        raise BackupError("manifest.json was altered (its MAC does not hold)")
    return dict(manifest)


def check_files(folder: Path, manifest: dict[str, Any]) -> None:
    for name, digest in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            raise BackupError(f"{name} is missing from the backup")
        if _sha256(path) != digest:
            raise BackupError(f"{name} was altered (its SHA-256 differs from the manifest)")


def occupied() -> dict[str, int]:
    """Rows in the tables that only use fills (migrations fill content types, permissions and
    reference rows, which the restore replaces)."""
    from django.contrib.auth import get_user_model

    counts = {}
    for label in (get_user_model()._meta.label, "orgs.OrgUnit", "audit.AuditEvent"):
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        n = model._base_manager.count()
        if n:
            counts[model._meta.verbose_name_plural] = n
    return counts


def _load_table(model: Any, reader: io.BufferedReader) -> int:
    quote = connection.ops.quote_name
    by_column = {f.column: f for f in model._meta.concrete_fields}
    columns = json.loads(reader.readline())
    unknown = [c for c in columns if c not in by_column]
    if unknown:
        raise BackupError(f"{model._meta.db_table}: columns {unknown} do not exist here")
    fields = [by_column[c] for c in columns]
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    rows = 0
    batch: list[list[Any]] = []
    with connection.cursor() as cursor:
        for line in reader:
            values = json.loads(line)
            batch.append([_decode(f, v) for f, v in zip(fields, values, strict=True)])
            if len(batch) >= BATCH:
                cursor.executemany(sql, batch)
                rows += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            rows += len(batch)
    return rows


def _restore_media(folder: Path, manifest: dict[str, Any]) -> int:
    media = Path(settings.MEDIA_ROOT).resolve()
    count = 0
    with _open_stream(folder, manifest, "media.xqb") as reader:
        for line in iter(reader.readline, b""):
            header = json.loads(line)
            target = (media / header["path"]).resolve()
            if media not in target.parents:
                raise BackupError(f"media path outside MEDIA_ROOT: {header['path']}")
            target.parent.mkdir(parents=True, exist_ok=True)
            left = int(header["size"])
            with target.open("wb") as out:
                while left:
                    block = reader.read(min(left, CHUNK))
                    if not block:
                        raise BackupError(f"media.xqb ends inside {header['path']}")
                    out.write(block)
                    left -= len(block)
            count += 1
    return count


def restore_backup(folder: Path) -> RestoreReport:
    """Restore a backup into this instance, which must be new: migrated to the backup's
    migration state and otherwise empty. BackupError (nothing changed) when it cannot."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    check_files(folder, manifest)
    here = applied_migrations()
    if here != manifest["migrations"]:
        theirs = {tuple(m) for m in manifest["migrations"]}
        ours = {tuple(m) for m in here}
        missing = sorted("/".join(m) for m in theirs - ours)[:10]
        extra = sorted("/".join(m) for m in ours - theirs)[:10]
        raise BackupError(
            "the database is not at the backup's migration state: install the version that made "
            f"it ({manifest['versions']['xinqiao']}) and run migrate, then restore "
            f"(missing here: {missing}; not in the backup: {extra})"
        )
    busy = occupied()
    if busy:
        raise BackupError(
            "the database is not empty ("
            + ", ".join(f"{name}: {n}" for name, n in busy.items())
            + "): restore only into a new instance (a new database, migrated)"
        )
    media = Path(settings.MEDIA_ROOT)
    if media.is_dir() and any(_media_files()):
        raise BackupError(f"MEDIA_ROOT ({media}) is not empty: restore into a new instance")
    models_here = {m._meta.db_table: m for m in backed_up_models()}
    unknown = [t for t in manifest["tables"] if t not in models_here]
    if unknown:
        raise BackupError(f"tables in the backup that this version does not have: {unknown}")
    order = [models_here[t] for t in models_here if t in manifest["tables"]]
    report = RestoreReport()
    quote = connection.ops.quote_name
    with transaction.atomic():
        with connection.cursor() as cursor:
            for model in reversed(order):  # what migrations seeded gives way to the backup
                cursor.execute(f"DELETE FROM {quote(model._meta.db_table)}")
        for model in order:
            table = model._meta.db_table
            entry = manifest["tables"][table]
            with _open_stream(folder, manifest, entry["file"]) as reader:
                rows = _load_table(model, reader)
            if rows != entry["rows"]:
                raise BackupError(f"{table}: {rows} rows read, the manifest says {entry['rows']}")
            report.tables[table] = rows
        connection.check_constraints(table_names=[m._meta.db_table for m in order])
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for statement in connection.ops.sequence_reset_sql(no_style(), order):
                    cursor.execute(statement)
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    report.media_files = _restore_media(folder, manifest)
    anchors = _anchor_path()
    if anchors is not None and not (anchors.is_file() and anchors.stat().st_size):
        with _open_stream(folder, manifest, "anchors.xqb") as reader:
            content = reader.read()
        if content:
            anchors.parent.mkdir(parents=True, exist_ok=True)
            anchors.write_bytes(content)
            report.anchors_restored = True
    return report


def iter_table_rows(folder: Path, table: str) -> Iterable[list[Any]]:
    """The rows of one table in a backup, decrypted (for checks and tests)."""
    manifest = read_manifest(Path(folder))
    with _open_stream(Path(folder), manifest, manifest["tables"][table]["file"]) as reader:
        reader.readline()
        for line in reader:
            yield json.loads(line)
