"""Benchmark: import a 1,000,000-row roster CSV (and a 200,000-row XLSX) into PostgreSQL through the
real import path (`manage.py import_roster`), against a raw `COPY` of the same rows into a table
with the same columns and indexes as people_student, measured in the same run.

    python bench/import_roster.py            # 1,000,000 CSV rows + 200,000 XLSX rows
    python bench/import_roster.py --quick    # 20,000 CSV rows + 5,000 XLSX rows

The database is its own: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/xinqiao_bench)
is dropped, re-created and migrated by the script.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/xinqiao_bench"

HEADERS = [
    "全国学籍号",
    "姓名",
    "性别",
    "出生日期",
    "身份证件号",
    "学校标识码",
    "年级",
    "班级",
    "监护人姓名",
    "监护人关系",
    "监护人电话",
    "留守儿童",
    "单亲家庭",
    "随迁子女",
    "学籍状态",
]
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "子涵欣怡梓轩浩宇一诺雨桐思远俊杰佳琪宇航晨曦梦瑶"
SCHOOLS, GRADES, CLASSES = 40, 3, 12


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def recreate_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def rows(start: int, count: int):
    base = datetime.date(2008, 9, 1)
    for seq in range(start, start + count):
        birth = base + datetime.timedelta(days=seq // 1000)
        body = f"360102{birth:%Y%m%d}{seq % 1000:03d}"
        check = "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]
        ident = body + check
        school = seq % SCHOOLS
        grade = 7 + (seq // SCHOOLS) % GRADES
        klass = 1 + (seq // (SCHOOLS * GRADES)) % CLASSES
        name = SURNAMES[seq % 20] + GIVEN[(seq // 20) % 24] + GIVEN[(seq // 480) % 24]
        yield [
            "G" + ident,
            name,
            "男" if seq % 2 else "女",
            birth.isoformat(),
            ident,
            f"36019{school:05d}",
            f"{'七八九'[grade - 7]}年级",
            f"{'七八九'[grade - 7]}({klass})班",
            SURNAMES[seq % 20] + "家长",
            "母亲" if seq % 3 else "父亲",
            f"139{seq % 100_000_000:08d}",
            "是" if seq % 7 == 0 else "否",
            "否",
            "是" if seq % 11 == 0 else "否",
            "在籍",
        ]


def write_csv(path: Path, start: int, count: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS)
        writer.writerows(rows(start, count))


def write_xlsx(path: Path, start: int, count: int) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("学生名单")
    sheet.write_row(0, 0, HEADERS)
    for r, row in enumerate(rows(start, count), start=1):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    book.close()


def build_orgs() -> None:
    from xinqiao.orgs.models import Term
    from xinqiao.orgs.services import create_term, create_unit

    city = create_unit(actor=None, parent=None, kind="city", name="示例市")
    district = create_unit(actor=None, parent=city, kind="district", name="基准区")
    for s in range(SCHOOLS):
        school = create_unit(
            actor=None,
            parent=district,
            kind="school",
            name=f"基准学校{s}",
            school_code=f"36019{s:05d}",
            stage="junior",
        )
        for g in range(GRADES):
            grade = create_unit(
                actor=None,
                parent=school,
                kind="grade",
                name=f"{'七八九'[g]}年级",
                grade_level=7 + g,
            )
            for k in range(1, CLASSES + 1):
                create_unit(actor=None, parent=grade, kind="class", name=f"{'七八九'[g]}({k})班")
    if not Term.objects.exists():
        create_term(
            actor=None,
            school_year_start=2026,
            season="autumn",
            start_date=datetime.date(2026, 9, 1),
            end_date=datetime.date(2027, 1, 22),
            make_current=True,
        )


def run_import(path: Path) -> tuple[float, str]:
    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    call_command("import_roster", str(path), stdout=out, stderr=err)
    elapsed = time.perf_counter() - started
    return elapsed, out.getvalue().strip().splitlines()[-1]


def copy_floor(tmp: Path) -> tuple[float, int]:
    """Raw COPY of the imported student rows into a fresh table with people_student's columns
    and indexes (LIKE … INCLUDING ALL)."""
    from django.db import connection

    dump = tmp / "floor.copy"
    with connection.cursor() as cursor:
        with (
            dump.open("wb") as fh,
            cursor.copy("COPY (SELECT * FROM people_student ORDER BY id) TO STDOUT") as copy,
        ):
            for block in copy:
                fh.write(block)
        cursor.execute("DROP TABLE IF EXISTS bench_floor")
        cursor.execute("CREATE TABLE bench_floor (LIKE people_student INCLUDING ALL)")
        count = 0
        started = time.perf_counter()
        with dump.open("rb") as fh, cursor.copy("COPY bench_floor FROM STDIN") as copy:
            while block := fh.read(1 << 20):
                copy.write(block)
        elapsed = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM bench_floor")
        count = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_floor")
    return elapsed, count


def parse_xlsx(path: Path) -> tuple[float, int]:
    from xinqiao.people.importer.reader import open_table

    started = time.perf_counter()
    table = open_table(path)
    n = sum(1 for _ in table.rows)
    table.close()
    return time.perf_counter() - started, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--xlsx-rows", type=int)
    args = parser.parse_args()
    n_csv = args.rows or (20_000 if args.quick else 1_000_000)
    n_xlsx = args.xlsx_rows if args.xlsx_rows is not None else (5_000 if args.quick else 200_000)

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        sys.exit("bench/import_roster.py needs PostgreSQL (DATABASE_URL=postgres://…)")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    recreate_database(url)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    tmp = Path(tempfile.mkdtemp(prefix="xinqiao-bench-"))
    settings.MEDIA_ROOT = tmp / "media"
    if args.quick:
        # Several chunks even at 20,000 rows, so --quick runs the same pipelined merge.
        settings.XINQIAO_ROSTER_CHUNK_ROWS = 5_000
    call_command("migrate", verbosity=0)
    build_orgs()

    csv_path = tmp / "roster.csv"
    t = time.perf_counter()
    write_csv(csv_path, 0, n_csv)
    print(
        f"generated {n_csv:,} CSV rows ({csv_path.stat().st_size / 2**20:.0f} MiB) "
        f"in {time.perf_counter() - t:.1f} s"
    )

    elapsed, line = run_import(csv_path)
    csv_rate = n_csv / elapsed
    csv_rss = peak_rss_mb()
    print(f"CSV import (first, all created): {elapsed:.1f} s, {csv_rate:,.0f} rows/s — {line}")
    (settings.MEDIA_ROOT / "imports").exists() and [
        p.unlink() for p in (settings.MEDIA_ROOT / "imports").glob("cli-*")
    ]
    elapsed2, line2 = run_import(csv_path)
    print(
        f"CSV re-import (all unchanged): {elapsed2:.1f} s, {n_csv / elapsed2:,.0f} rows/s — {line2}"
    )
    [p.unlink() for p in (settings.MEDIA_ROOT / "imports").glob("cli-*")]

    floor_elapsed, floor_rows = copy_floor(tmp)
    floor_rate = floor_rows / floor_elapsed
    print(
        f"floor: raw COPY of {floor_rows:,} student rows into a table with the same columns "
        f"and indexes: {floor_elapsed:.1f} s, {floor_rate:,.0f} rows/s"
    )
    ratio = csv_rate / floor_rate
    print(f"CSV ratio to COPY: {ratio:.2f} (target ≥ 0.4); peak RSS after CSV: {csv_rss:.0f} MiB")

    if n_xlsx:
        xlsx_path = tmp / "roster.xlsx"
        t = time.perf_counter()
        write_xlsx(xlsx_path, n_csv, n_xlsx)
        print(
            f"generated {n_xlsx:,} XLSX rows ({xlsx_path.stat().st_size / 2**20:.0f} MiB) in "
            f"{time.perf_counter() - t:.1f} s"
        )
        parse_elapsed, parsed = parse_xlsx(xlsx_path)
        print(
            f"XLSX parse only (python-calamine): {parsed:,} rows in {parse_elapsed:.1f} s, "
            f"{parsed / parse_elapsed:,.0f} rows/s"
        )
        x_elapsed, x_line = run_import(xlsx_path)
        print(f"XLSX import: {x_elapsed:.1f} s, {n_xlsx / x_elapsed:,.0f} rows/s — {x_line}")
        print(f"peak RSS overall: {peak_rss_mb():.0f} MiB")

    print(
        f"RESULT import_roster value={csv_rate:.0f} unit=rows/s floor={floor_rate:.0f} "
        f"ratio={ratio:.2f} peak_rss_mb={csv_rss:.0f}"
    )


if __name__ == "__main__":
    main()
