"""Search keys of a student, computed when the row is written (never when searching).

A picker finds a student as one types: a name's first characters, its pinyin initials (张三明 →
"zsm"), a class name, or the last digits of a number. Each has a column and an index, so a search
over a city of a million students is an index range scan:

- `name_initials`: the pinyin initials of the name, lowercase (pypinyin; a character without a
  reading, e.g. a Latin letter, is kept as it is).
- `student_number_rev`: the national student number reversed, so "the number ends in 0427" is a
  prefix search (`LIKE '7240%'`) on an ordinary index.
- `id_tail_hash`: a keyed hash (HMAC, the field-encryption key) of the last four characters of the
  resident ID number. ID numbers are stored encrypted; a search for their last digits compares
  hashes and never decrypts. Only exactly four characters can be searched this way; the hash is
  truncated to 16 hex digits (64 bits: ample for 11 × 10^4 possible tails, and a smaller index).
"""

from __future__ import annotations

import re
from functools import lru_cache

from xinqiao.core.crypto import keyed_hash

ID_TAIL_LENGTH = 4
ID_TAIL_HASH_LENGTH = 16
_ID_TAIL_PREFIX = "ID-TAIL:"
_ASCII_WORD = re.compile(r"[a-z0-9]")


@lru_cache(maxsize=65536)
def name_initials(name: str) -> str:
    """张三明 → "zsm" (lowercase; at most 60 characters, the name's own limit)."""
    from pypinyin import Style, lazy_pinyin

    out = []
    for part in lazy_pinyin(name.strip(), style=Style.FIRST_LETTER, errors="default"):
        part = part.strip().lower()
        if not part:
            continue
        # A run of Latin letters/digits (a foreign name) counts by its first letter per word.
        out.append(part[0] if _ASCII_WORD.match(part[0]) else "")
    return "".join(out)[:60]


def reversed_number(number: str) -> str:
    return number.strip().upper()[::-1]


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
    the cipher suite changed: `rotate_keys`). Resumable: each batch commits on its own."""
    from django.db import transaction

    from .models import Student
    from .personal_codes import personal_code_hash

    hashed = ["id_number_hash", "id_tail_hash", "personal_code_hash"]
    last, count = 0, 0
    while True:
        with transaction.atomic():
            batch = list(
                Student.objects.filter(pk__gt=last)
                .order_by("pk")
                .only("pk", "code", "id_number", "personal_code")[:batch_size]
            )
            if not batch:
                return count
            for student in batch:
                student.id_number_hash = keyed_hash(student.id_number) if student.id_number else ""
                student.id_tail_hash = id_tail_hash(student.id_number)
                code = student.personal_code
                student.personal_code_hash = personal_code_hash(code) if code else ""
            Student.objects.bulk_update(batch, hashed)
            count += len(batch)
            last = batch[-1].pk
