# ruff: noqa: S608  (SQL built from model table and column names; values are parameters)
"""Re-encrypt stored values under today's suite and key, and recompute keyed hashes.

Used by `manage.py rotate_keys` and by the migration that re-sealed version-1 values. Each table is
walked by primary key in batches, each batch in its own transaction; a value already sealed with
today's suite and key is skipped, so a run that stops part-way is simply run again (resumable).
Raw SQL both ways: no model code runs, so historical models in migrations work too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps as global_apps
from django.conf import settings
from django.db import connection, transaction

from . import crypto
from .fields import EncryptedTextField

BATCH_SIZE = 500

# Functions that recompute an app's keyed-hash columns from the decrypted values (registered in
# AppConfig.ready); each returns the number of rows it rewrote.
_REHASHERS: list[Callable[[int], int]] = []


# Functions that re-seal values kept outside encrypted fields (a library's column); each returns
# the number of values it re-encrypted.
_RESEALERS: list[Callable[[], int]] = []


def register_rehash(function: Callable[[int], int]) -> None:
    if function not in _REHASHERS:
        _REHASHERS.append(function)


def register_reseal(function: Callable[[], int]) -> None:
    if function not in _RESEALERS:
        _RESEALERS.append(function)


def reseal_others() -> int:
    return sum(reseal() for reseal in _RESEALERS)


def encrypted_fields(model: Any) -> list[EncryptedTextField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]


def encrypted_models(app_registry: Any = global_apps) -> list[Any]:
    return [m for m in app_registry.get_models() if encrypted_fields(m)]


def _fields(model: Any, only: tuple[str, ...]) -> list[EncryptedTextField]:
    fields = encrypted_fields(model)
    return [f for f in fields if f.name in only] if only else fields


def _open(field: EncryptedTextField, row: object, token: str, plaintext: bool) -> str:
    if token.startswith("v1:"):
        return crypto.decrypt_legacy(token)
    if plaintext and not token.startswith("v2:"):
        # A column just made encrypted: its value is still the plaintext (JSON re-encoded, as
        # PostgreSQL's jsonb text has other spacing than the field writes).
        return field.encode(field.decode(token))
    return crypto.decrypt(token, aad=field.aad_for(row))


@dataclass
class Progress:
    table: str
    rows_seen: int = 0
    values_resealed: int = 0


def reseal_model(
    model: Any,
    *,
    batch_size: int = BATCH_SIZE,
    plaintext: bool = False,
    only: tuple[str, ...] = (),
) -> Progress:
    """Re-encrypt every value of `model`'s encrypted fields not sealed with today's key.

    `plaintext=True` (the migration that makes a column encrypted) also seals values that are not
    ciphertexts yet; such a migration names its columns in `only`, as the model's other encrypted
    columns were sealed by earlier migrations."""
    fields = _fields(model, only)
    meta = model._meta
    quote = connection.ops.quote_name
    pk = str(meta.pk.column)
    keys = {name: meta.get_field(name) for f in fields for name in f.row_key_names}
    key_columns = list(keys)
    select = ", ".join(
        [quote(pk)]
        + [quote(str(keys[k].column)) for k in key_columns]
        + [quote(str(f.column)) for f in fields]
    )
    table = quote(meta.db_table)
    progress = Progress(meta.db_table)
    last: Any = None
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            where = "" if last is None else f"WHERE {quote(pk)} > %s "
            cursor.execute(
                f"SELECT {select} FROM {table} {where}ORDER BY {quote(pk)} LIMIT %s",
                ([] if last is None else [last]) + [batch_size],
            )
            rows = cursor.fetchall()
            if not rows:
                return progress
            for row in rows:
                progress.rows_seen += 1
                row_keys = {k: keys[k].to_python(row[1 + i]) for i, k in enumerate(key_columns)}
                tokens = row[1 + len(key_columns) :]
                changes = []
                for field, token in zip(fields, tokens, strict=True):
                    if token is not None and not isinstance(token, str):
                        token = str(token)  # a number column just made text (SQLite keeps it)
                    if not token or crypto.is_current(token):
                        continue
                    row_key = field.row_of(row_keys)
                    plain = _open(field, row_key, token, plaintext)
                    changes.append(
                        (str(field.column), crypto.encrypt(plain, aad=field.aad_for(row_key)))
                    )
                if changes:
                    assignments = ", ".join(f"{quote(column)} = %s" for column, _ in changes)
                    cursor.execute(
                        f"UPDATE {table} SET {assignments} WHERE {quote(pk)} = %s",
                        [value for _, value in changes] + [row[0]],
                    )
                    progress.values_resealed += len(changes)
            last = rows[-1][0]


def unseal_model(model: Any, *, batch_size: int = BATCH_SIZE, only: tuple[str, ...] = ()) -> int:
    """Write `model`'s encrypted values (of the columns in `only`, else all) back as plaintext:
    the reverse of the migration that made a column encrypted (so it can be turned back into a
    JSON or number column). Returns the number of values opened."""
    fields = _fields(model, only)
    meta = model._meta
    quote = connection.ops.quote_name
    pk = str(meta.pk.column)
    keys = {name: meta.get_field(name) for f in fields for name in f.row_key_names}
    key_columns = list(keys)
    select = ", ".join(
        [quote(pk)]
        + [quote(str(keys[k].column)) for k in key_columns]
        + [quote(str(f.column)) for f in fields]
    )
    table = quote(meta.db_table)
    opened = 0
    last: Any = None
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            where = "" if last is None else f"WHERE {quote(pk)} > %s "
            cursor.execute(
                f"SELECT {select} FROM {table} {where}ORDER BY {quote(pk)} LIMIT %s",
                ([] if last is None else [last]) + [batch_size],
            )
            rows = cursor.fetchall()
            if not rows:
                return opened
            for row in rows:
                row_keys = {k: keys[k].to_python(row[1 + i]) for i, k in enumerate(key_columns)}
                changes = []
                for field, token in zip(fields, row[1 + len(key_columns) :], strict=True):
                    if not isinstance(token, str) or not token.startswith(("v1:", "v2:")):
                        continue
                    changes.append(
                        (str(field.column), _open(field, field.row_of(row_keys), token, False))
                    )
                if changes:
                    assignments = ", ".join(f"{quote(column)} = %s" for column, _ in changes)
                    cursor.execute(
                        f"UPDATE {table} SET {assignments} WHERE {quote(pk)} = %s",
                        [value for _, value in changes] + [row[0]],
                    )
                    opened += len(changes)
            last = rows[-1][0]


def reseal_files(roots: Iterable[str] = ("cases", "imports", "qualifications")) -> int:
    """Re-encrypt the sealed files under MEDIA_ROOT/<root>/; their associated data is their path
    relative to MEDIA_ROOT (crypto.file_aad). Written to a new name and renamed, so a crash never
    leaves half a file."""
    media = Path(settings.MEDIA_ROOT)
    count = 0
    for root in roots:
        folder = media / root
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue
            blob = path.read_bytes()
            if crypto.file_is_current(blob):
                continue
            aad = crypto.file_aad(path.relative_to(media).as_posix())
            data = crypto.decrypt_bytes(blob, aad=aad)  # a version-1 file opens without it
            temporary = path.with_name(f".{path.name}.rotating")
            temporary.write_bytes(crypto.encrypt_bytes(data, aad=aad))
            temporary.replace(path)
            count += 1
    return count


def rehash_all(batch_size: int = BATCH_SIZE) -> int:
    return sum(rehash(batch_size) for rehash in _REHASHERS)
