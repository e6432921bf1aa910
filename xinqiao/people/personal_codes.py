"""Students' personal sign-in codes (个人码): what they are, how they are typed and looked up.

A personal code is eight characters of the unambiguous alphabet (core/codes.py; 31^8 ≈ 8.5 × 10^11
codes), printed on the class sign-in slip as "ABCD-EFGH" and typed in any case, with or without the
dash or spaces. It is a secret between the student and the staff who print the slip: a classmate
who knows a student's 学籍号 does not know it. It is stored encrypted (`Student.personal_code`, so
the slip can be printed again) and as a keyed hash (`Student.personal_code_hash`, HMAC with the
field-encryption key) that sign-in compares; never in plaintext. Issuing and reissuing are services
(people/services.py).
"""

from __future__ import annotations

import re

from xinqiao.core.codes import UNAMBIGUOUS_ALPHABET, random_code
from xinqiao.core.crypto import keyed_hash

PERSONAL_CODE_LENGTH = 8
_HASH_PREFIX = "PERSONAL-CODE:"  # a domain of its own: never equal to another keyed hash
_SEPARATORS = re.compile(r"[\s\-_·.]")
_VALID = re.compile(f"^[{UNAMBIGUOUS_ALPHABET}]{{{PERSONAL_CODE_LENGTH}}}$")


def new_personal_code() -> str:
    return random_code(PERSONAL_CODE_LENGTH)


def normalise_personal_code(raw: str | None) -> str:
    """What a student typed → the code as stored: separators dropped, upper case."""
    return _SEPARATORS.sub("", raw or "").upper()


def is_personal_code(code: str) -> bool:
    """Whether a normalised value can be a personal code at all (length and alphabet)."""
    return bool(_VALID.match(code))


def personal_code_hash(code: str) -> str:
    """The keyed hash stored for (and looked up by) a normalised personal code."""
    return keyed_hash(_HASH_PREFIX + code)


def format_personal_code(code: str) -> str:
    """ "ABCDEFGH" → "ABCD-EFGH" as printed on the slip."""
    half = PERSONAL_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}" if len(code) == PERSONAL_CODE_LENGTH else code
