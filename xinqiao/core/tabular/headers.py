"""Header normalisation shared by every import: NFKC (full-width brackets become ASCII), without
spaces, `*` required-markers or colons, case-insensitive. A trailing hint in brackets
(`出生日期(YYYY-MM-DD)`) is tried without it by the callers."""

from __future__ import annotations

import re
import unicodedata

HINT_RE = re.compile(r"\(.*\)$")
_DROP_RE = re.compile(r"[\s*:：]+")


def normalise_header(text: object) -> str:
    value = unicodedata.normalize("NFKC", str(text if text is not None else "")).lstrip("\ufeff")
    return _DROP_RE.sub("", value).lower()
