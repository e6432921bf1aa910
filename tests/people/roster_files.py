"""Building real roster files (CSV in any encoding, XLSX via xlsxwriter) for the import tests."""

from __future__ import annotations

import csv
import datetime
import io
from pathlib import Path
from typing import Any

HEADERS = [
    "全国学籍号",
    "姓名",
    "性别",
    "出生日期",
    "身份证件号",
    "学校标识码",
    "学校名称",
    "年级",
    "班级",
    "监护人姓名",
    "监护人关系",
    "监护人电话",
    "留守儿童",
    "单亲家庭",
    "学籍状态",
]
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(birth: datetime.date, seq: int, region: str = "360102") -> str:
    body = f"{region}{birth:%Y%m%d}{seq % 1000:03d}"
    total = sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def student_row(
    seq: int,
    *,
    school_code: str = "3601000001",
    school_name: str = "甲区第一中学",
    grade: str = "七年级",
    klass: str = "七(1)班",
    name: str | None = None,
    phone: str | None = None,
    birth: datetime.date = datetime.date(2013, 3, 1),
) -> dict[str, str]:
    ident = id_number(birth + datetime.timedelta(days=seq // 1000), seq)
    return {
        "全国学籍号": "G" + ident,
        "姓名": name or f"学生{seq}",
        "性别": "男" if seq % 2 else "女",
        "出生日期": (birth + datetime.timedelta(days=seq // 1000)).isoformat(),
        "身份证件号": ident,
        "学校标识码": school_code,
        "学校名称": school_name,
        "年级": grade,
        "班级": klass,
        "监护人姓名": f"家长{seq}",
        "监护人关系": "母亲",
        "监护人电话": phone or f"138{seq:08d}",
        "留守儿童": "是" if seq % 5 == 0 else "否",
        "单亲家庭": "否",
        "学籍状态": "在籍",
    }


def write_csv(
    path: Path,
    rows: list[dict[str, Any]],
    *,
    encoding: str = "utf-8",
    headers: list[str] | None = None,
) -> Path:
    headers = headers or HEADERS
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[dict[str, Any]], *, headers: list[str] | None = None) -> Path:
    import xlsxwriter

    headers = headers or HEADERS
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("学生名单")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, headers)
    for r, row in enumerate(rows, start=1):
        for c, header in enumerate(headers):
            value = row.get(header, "")
            if header == "出生日期" and isinstance(value, str) and value:
                sheet.write_datetime(r, c, datetime.datetime.fromisoformat(value), date_format)
            elif isinstance(value, datetime.date):
                sheet.write_datetime(
                    r, c, datetime.datetime.combine(value, datetime.time()), date_format
                )
            else:
                sheet.write_string(r, c, str(value))
    book.close()
    return path
