"""Reading tabular files (rosters, registries) as a stream of rows: CSV (UTF-8 with or without
BOM, GB18030/GBK) and spreadsheets (XLSX, also XLS and ODS) through python-calamine.

`open_table(path)` checks the file before anything is written: a file that is empty, binary
garbage, in an unknown encoding or a broken spreadsheet raises `BadFileError` with a message for the
user. Rows are then read lazily; a CSV of a million rows is never held in memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes
from django.utils.translation import gettext as _

SAMPLE_BYTES = 256 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls
# Encodings a Chinese roster may come in; every GBK/GB2312 file is also valid GB18030.
_CHINESE = {"gb2312", "gbk", "gb18030", "hz", "cp936", "euc_cn"}
_ALLOWED_TEXT = {"utf_8", "utf-8", "ascii", "utf_8_sig"}

csv.field_size_limit(1024 * 1024)


class BadFileError(Exception):
    """The file as a whole cannot be imported; nothing was changed."""


@dataclass
class Table:
    """A header and a lazy iterator over (row number as the user sees it, cell values)."""

    format: str  # "csv" | "xlsx" | "xls" | "ods"
    encoding: str
    headers: list[Any]
    rows: Iterator[tuple[int, list[Any]]]
    total_estimate: int
    closer: Any = None

    def close(self) -> None:
        if self.closer is not None:
            self.closer()
            self.closer = None


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (BOM or strictly valid), else GB18030 for any Chinese family guess, else refuse."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(sample, cp_isolation=["utf_8", "gb18030", "gbk", "gb2312", "big5"]).best()
    if best is None:
        # charset-normalizer gives up on short or noisy samples: GB18030 decodes any Chinese text.
        try:
            codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
            return "gb18030"
        except UnicodeDecodeError:
            raise BadFileError(_("The file's text encoding could not be recognised.")) from None
    name = best.encoding.lower().replace("-", "_")
    if name in _CHINESE or name == "big5":
        return "gb18030" if name != "big5" else "big5"
    if name in _ALLOWED_TEXT:
        return "utf-8"
    raise BadFileError(_("The file's text encoding could not be recognised."))


def _looks_binary(sample: bytes) -> bool:
    if not sample:
        return False
    if b"\x00" in sample[:8192]:
        return True
    controls = sum(1 for b in sample[:8192] if b < 9 or 13 < b < 32)
    return controls > len(sample[:8192]) // 100


def _clean(cells: list[Any]) -> bool:
    return any(c not in (None, "") and str(c).strip() for c in cells)


def _title(cells: list[Any]) -> bool:
    """A row of one cell above the header: a sheet title, or the watermark of an exported error
    report ("导出人 … 时间 …") being imported again. The header is the next row."""
    return sum(1 for c in cells if c not in (None, "") and str(c).strip()) == 1


def open_table(path: str | os.PathLike[str]) -> Table:
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(SAMPLE_BYTES)
    except OSError as exc:
        raise BadFileError(_("The file could not be read.")) from exc
    if size == 0 or not head.strip():
        raise BadFileError(_("The file is empty."))
    if head.startswith(_ZIP_MAGIC):
        return _open_workbook(path, "xlsx")
    if head.startswith(_OLE_MAGIC):
        return _open_workbook(path, "xls")
    if _looks_binary(head):
        raise BadFileError(
            _("The file is neither a CSV text file nor an Excel workbook (.xlsx, .xls).")
        )
    return _open_csv(path, head, size)


def _open_csv(path: Path, head: bytes, size: int) -> Table:
    encoding = detect_encoding(head)
    # Undecodable bytes further down become U+FFFD: that row is rejected, not the whole file.
    fh = path.open("r", encoding=encoding, errors="replace", newline="")
    first_line = fh.readline()
    dialect: Any = csv.excel
    if first_line.count("\t") > first_line.count(","):
        dialect = csv.excel_tab
    fh.seek(0)
    reader = csv.reader(fh, dialect)
    headers: list[Any] = []
    header_row = 0
    title: tuple[int, list[Any]] | None = None
    for header_row, cells in enumerate(reader, start=1):
        if _clean(cells):
            if title is None and _title(cells):
                title = (header_row, cells)
                continue
            headers = cells
            break
    else:
        if title is not None:  # one column only: that was the header (missing columns follow)
            header_row, headers = title
    if not headers:
        fh.close()
        raise BadFileError(_("The file is empty."))
    if "\ufffd" in "".join(headers):
        fh.close()
        raise BadFileError(_("The file's text encoding could not be recognised."))
    # Estimate rows from the sample's average line length.
    lines = head.count(b"\n") or 1
    estimate = max(1, int(size / (len(head) / lines)) - header_row) if len(head) < size else lines

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, cells in enumerate(reader, start=header_row + 1):
                # a CSV's cells are all text: one join tells whether any is filled
                if "".join(cells).strip():
                    yield number, cells
        finally:
            fh.close()

    return Table("csv", encoding, headers, rows(), estimate, fh.close)


def _open_workbook(path: Path, fmt: str) -> Table:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        iterator = sheet.iter_rows()
    except Exception as exc:  # calamine raises several unrelated types for broken files
        raise BadFileError(
            _("The spreadsheet could not be opened: it is damaged or not an Excel workbook.")
        ) from exc
    headers: list[Any] = []
    header_row = 0
    title: tuple[int, list[Any]] | None = None
    for header_row, cells in enumerate(iterator, start=1):
        if _clean(cells):
            if title is None and _title(cells):
                title = (header_row, list(cells))
                continue
            headers = list(cells)
            break
    else:
        if title is not None:
            header_row, headers = title
    if not headers:
        raise BadFileError(_("The file is empty."))
    offset = sheet.start[0] if sheet.start else 0

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for number, cells in enumerate(iterator, start=header_row + 1 + offset):
            if _clean(cells):
                yield number, cells

    estimate = max(0, sheet.height - header_row)
    return Table(fmt, "", headers, rows(), estimate, workbook.close)


def read_head(path: str | os.PathLike[str]) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(SAMPLE_BYTES)


__all__ = ["BadFileError", "Table", "detect_encoding", "io", "open_table"]
