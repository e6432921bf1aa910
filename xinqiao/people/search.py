"""Search keys of a student, computed when the row is written (never when searching).

A picker finds a student as one types: a name's first characters, its pinyin initials (张三明 →
"zsm"), a class name, or the last digits of a number. Each has a column and an index, so a search
over a city of a million students is an index range scan:

- `name_initials`: the pinyin initials of the name, lowercase (pypinyin; a character without a
  reading, e.g. a Latin letter, is kept as it is).
- `student_number_hash`: a keyed hash of the whole national student number (the 学籍号 embeds the
  ID number, so it is stored encrypted): every exact lookup (import matching, sign-in, searches).
- `number_tail_hash`: a keyed hash of the number's last four characters, truncated like the ID
  tail's: a typed tail of four (or more: the candidates are then checked against the decrypted
  number) finds candidates without any plaintext copy of the number.
- `id_tail_hash`: a keyed hash (HMAC, the field-encryption key) of the last four characters of the
  resident ID number. ID numbers are stored encrypted; a search for their last digits compares
  hashes and never decrypts. Only exactly four characters can be searched this way; the hash is
  truncated to 16 hex digits (64 bits: ample for 11 × 10^4 possible tails, and a smaller index).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from xinqiao.core.crypto import keyed_hash

ID_TAIL_LENGTH = 4
ID_TAIL_HASH_LENGTH = 16
_ID_TAIL_PREFIX = "ID-TAIL:"
NUMBER_TAIL_LENGTH = 4
# Domain prefixes: the same characters hashed as a student number, an ID number or a tail never
# give the same hash (a 学籍号 is often "G" + the ID number).
_NUMBER_PREFIX = "STUDENT-NUMBER:"
_NUMBER_TAIL_PREFIX = "NUMBER-TAIL:"
_ASCII_WORD = re.compile(r"[a-z0-9]")


@lru_cache(maxsize=65536)
def name_initials(name: str) -> str:
    """张三明 → "zsm" (lowercase; at most 60 characters, the name's own limit)."""
    fast = _monophonic_initials(name.strip())
    if fast is not None:
        return fast[:60]
    return _pinyin_initials(name)


def _pinyin_initials(name: str) -> str:
    from pypinyin import Style, lazy_pinyin

    out = []
    for part in lazy_pinyin(name.strip(), style=Style.FIRST_LETTER, errors="default"):
        part = part.strip().lower()
        if not part:
            continue
        # A run of Latin letters/digits (a foreign name) counts by its first letter per word.
        out.append(part[0] if _ASCII_WORD.match(part[0]) else "")
    return "".join(out)[:60]


@lru_cache(maxsize=8192)
def _char_initial(char: str) -> str:
    return _pinyin_initials(char)


def _monophonic_initials(name: str) -> str | None:
    """The initials character by character when no two or more consecutive characters of the
    name form a phrase of pypinyin's dictionary: its segmentation then leaves every character on
    its own, read as when alone (most names; ~150 µs of pypinyin saved per name; checked against
    pypinyin in tests/people/test_search_initials.py). None: a phrase may decide a reading
    (单 in 单雄信 is not), let pypinyin segment the name."""
    from pypinyin.constants import PHRASES_DICT, PINYIN_DICT

    size = len(name)
    for i, char in enumerate(name):
        if ord(char) not in PINYIN_DICT:
            return None
        for j in range(i + 2, size + 1):
            if name[i:j] in PHRASES_DICT:
                return None
    return "".join(_char_initial(char) for char in name)


def normalised_number(number: str) -> str:
    return number.strip().upper().replace(" ", "")


def number_hash_text(number: str) -> str:
    """The value hashed for a whole student number (the importer hashes it itself)."""
    return _NUMBER_PREFIX + normalised_number(number)


def number_hash(number: str) -> str:
    """Keyed hash of the whole student number: the unique lookup key and the row key the
    student's encrypted fields are bound to."""
    return keyed_hash(number_hash_text(number))


def number_tail_text(number: str) -> str:
    return _NUMBER_TAIL_PREFIX + normalised_number(number)[-NUMBER_TAIL_LENGTH:]


def number_tail_hash(number: str) -> str:
    """Keyed hash of the student number's last four characters ("" when shorter)."""
    if len(normalised_number(number)) < NUMBER_TAIL_LENGTH:
        return ""
    return keyed_hash(number_tail_text(number))[:ID_TAIL_HASH_LENGTH]


def id_tail_text(id_number: str) -> str:
    """The value hashed for an ID number's tail (the importer hashes it with its own key cache)."""
    return _ID_TAIL_PREFIX + id_number.strip().upper()[-ID_TAIL_LENGTH:]


def id_tail_hash(id_number: str) -> str:
    """Keyed hash of the ID number's last four characters ("" for no ID number)."""
    if len(id_number.strip()) < ID_TAIL_LENGTH:
        return ""
    return keyed_hash(id_tail_text(id_number))[:ID_TAIL_HASH_LENGTH]


def search_id_tail(text: str) -> str:
    """The hash to look up for a typed tail (four characters), else ""."""
    text = text.strip().upper()
    if len(text) != ID_TAIL_LENGTH:
        return ""
    return keyed_hash(_ID_TAIL_PREFIX + text)[:ID_TAIL_HASH_LENGTH]


def rehash_students(batch_size: int) -> int:
    """Recompute every student's keyed hashes from the decrypted values (after the hash key or
    the cipher suite changed: `rotate_keys`). The number's hash is also the row key the
    encrypted fields are bound to: where it changes, they are re-sealed under the new one in the
    same batch. Resumable: each batch commits on its own, and a row is always consistent."""
    from django.db import transaction

    from xinqiao.core.fields import EncryptedTextField, Sealed

    from .models import Student
    from .personal_codes import personal_code_hash

    sealed = ["student_number", "id_number", "personal_code"]
    hashed = [
        "student_number_hash",
        "number_tail_hash",
        "id_number_hash",
        "id_tail_hash",
        "personal_code_hash",
    ]
    fields: dict[str, EncryptedTextField] = {}
    for name in sealed:
        field = Student._meta.get_field(name)
        assert isinstance(field, EncryptedTextField)
        fields[name] = field
    last, count = 0, 0
    while True:
        with transaction.atomic():
            batch = list(
                Student.objects.filter(pk__gt=last)
                .order_by("pk")
                .only("pk", "student_number_hash", *sealed)[:batch_size]
            )
            if not batch:
                return count
            opened: list[dict[str, str]] = []
            changed = False
            for student in batch:
                # Opened under the row key they were sealed with, before it changes.
                plain = {name: getattr(student, name) for name in sealed}
                opened.append(plain)
                old = student.student_number_hash
                student.student_number_hash = number_hash(plain["student_number"])
                student.number_tail_hash = number_tail_hash(plain["student_number"])
                student.id_number_hash = (
                    keyed_hash(plain["id_number"]) if plain["id_number"] else ""
                )
                student.id_tail_hash = id_tail_hash(plain["id_number"] or "")
                code = plain["personal_code"]
                student.personal_code_hash = personal_code_hash(code) if code else ""
                changed = changed or student.student_number_hash != old
            if not changed:
                Student.objects.bulk_update(batch, hashed)
            else:  # seal again under each row's new key (one UPDATE a row: bulk_update would
                # read the values back through the field, which opens them)
                for student, plain in zip(batch, opened, strict=True):
                    values: dict[str, Any] = {name: getattr(student, name) for name in hashed}
                    for name, field in fields.items():
                        token = field.seal(student.student_number_hash, plain[name])
                        values[name] = None if token is None else Sealed(token)
                    Student.objects.filter(pk=student.pk).update(**values)
            count += len(batch)
            last = batch[-1].pk
