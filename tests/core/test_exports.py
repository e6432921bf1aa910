"""Spreadsheet cells never run as formulas; names never hold control characters."""

from __future__ import annotations

import io

import pytest

from xinqiao.core.exports import has_control_characters, safe_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+86 138", "'+86 138"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("王小明", "王小明"),
        ("a=b", "a=b"),
        ("", ""),
        (-2, -2),
        (None, None),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("王小明", False),
        ("欧阳·娜娜", False),
        ("Anna Li", False),
        ("王\x00明", True),
        ("王\u202e明", True),
        ("王\u200b明", True),
        ("王\x1b[31m明", True),
    ],
)
def test_control_characters(name, bad):
    assert has_control_characters(name) is bad


# --- watermarks ----------------------------------------------------------------------------------
def test_an_export_needs_its_user(db):
    from django.contrib.auth.models import AnonymousUser

    from xinqiao.core.exports import Watermark, csv_lines, xlsx_workbook

    for nobody in (None, AnonymousUser()):
        with pytest.raises(ValueError, match="signed-in user"):
            Watermark.of(nobody)
        with pytest.raises(ValueError, match="signed-in user"):
            list(csv_lines(nobody, ["a"], [["1"]]))
        with pytest.raises(ValueError, match="signed-in user"):
            xlsx_workbook(io.BytesIO(), nobody, sheet_name="x", header=["a"])


def test_the_watermark_names_the_user_and_the_time_in_china(db, django_user_model):
    import datetime

    from django.utils import translation

    from xinqiao.core.exports import Watermark, csv_lines

    user = django_user_model.objects.create_user("zhang", first_name="张老师")
    at = datetime.datetime(2026, 9, 1, 0, 30, tzinfo=datetime.UTC)
    assert Watermark.of(user, at).line == "Exported by: 张老师（zhang）  Time: 2026-09-01 08:30"
    with translation.override("zh-hans"):
        assert Watermark.of(user, at).line == "导出人：张老师（zhang）　时间：2026-09-01 08:30"
    lines = list(csv_lines(user, ["姓名"], [['=HYPERLINK("x")']]))
    assert lines[0].startswith("\ufeffExported by: 张老师（zhang）")
    assert lines[2] == '"\'=HYPERLINK(""x"")"\r\n'  # still neutralised


def test_no_module_writes_a_spreadsheet_but_the_export_helpers():
    """Exports go through core/exports.py, which requires the user: none can forget the
    watermark. The import's error report is written to its sealed file and watermarked on
    download (people/import_views.py)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "xinqiao"
    allowed = {"core/exports.py", "people/importer/service.py"}
    writers = []
    for path in root.rglob("*.py"):
        text = path.read_text("utf-8")
        if "xlsxwriter" in text or "csv.writer(" in text or "csv.DictWriter(" in text:
            writers.append(path.relative_to(root).as_posix())
    assert set(writers) <= allowed, writers
