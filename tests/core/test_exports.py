"""Spreadsheet cells never run as formulas; names never hold control characters."""

from __future__ import annotations

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
