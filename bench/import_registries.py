"""Benchmark: registry imports through the registry import framework (people/registry/) against a
raw PostgreSQL `COPY` of the same rows, measured in the same run. One function per registry.

    python bench/import_registries.py            # staff: 50,000 rows, training: 200,000
    python bench/import_registries.py --quick    # staff: 5,000 rows, training: 20,000
    python bench/import_registries.py --writers 0  # every chunk written inline (no writer thread)

`import_staff` imports a staff spreadsheet (CSV: 工号, 姓名, 性别, 学校标识码, 岗位, 专兼职,
资格证书, 证书编号, 手机号码) — every row creates a staff record (encrypted mobile), a post and a
qualification — then imports it again (all unchanged). The floor is a raw COPY of the rows the
import wrote (people_staff, people_staffposition, people_qualification) into tables with the same
columns and indexes; the ratio is import rows/s ÷ floor rows/s (staff rows per second).

The database is its own scratch database (BENCH_DATABASE_URL's server, database
xinqiao_bench_registries), dropped, re-created and migrated by the script.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import peak_rss_mb, result_line, use_scratch_database
from _registries_training import import_training

DATABASE = "xinqiao_bench_registries"
DISTRICTS, SCHOOLS_PER_DISTRICT = 10, 20
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "子涵欣怡梓轩浩宇一诺雨桐思远俊杰佳琪宇航晨曦梦瑶"


def build_orgs() -> None:
    from xinqiao.orgs.services import create_unit

    city = create_unit(actor=None, parent=None, kind="city", name="示例市")
    for d in range(DISTRICTS):
        district = create_unit(actor=None, parent=city, kind="district", name=f"基准区{d}")
        create_unit(actor=None, parent=district, kind="station", name=f"基准区{d}辅导站")
        for s in range(SCHOOLS_PER_DISTRICT):
            n = d * SCHOOLS_PER_DISTRICT + s
            create_unit(
                actor=None,
                parent=district,
                kind="school",
                name=f"基准学校{n}",
                school_code=f"36029{n:05d}",
                stage="junior",
            )


def copy_floor(tables: list[str]) -> float:
    """Seconds to COPY the rows of `tables` into fresh tables LIKE them (INCLUDING ALL)."""
    import io

    from django.db import connection

    total = 0.0
    with connection.cursor() as cursor:
        for table in tables:
            buffer = io.BytesIO()
            with cursor.copy(f"COPY (SELECT * FROM {table} ORDER BY id) TO STDOUT") as copy:
                for block in copy:
                    buffer.write(block)
            cursor.execute("DROP TABLE IF EXISTS bench_floor")
            cursor.execute(f"CREATE TABLE bench_floor (LIKE {table} INCLUDING ALL)")
            buffer.seek(0)
            started = time.perf_counter()
            with cursor.copy("COPY bench_floor FROM STDIN") as copy:
                while block := buffer.read(1 << 20):
                    copy.write(block)
            total += time.perf_counter() - started
            cursor.execute("DROP TABLE bench_floor")
    return total


def run_file(path: Path, kind: str) -> tuple[float, str]:
    from xinqiao.people.registry import create_job, run_job, store_upload

    relative, size = store_upload([path.read_bytes()], path.name)
    job = create_job(actor=None, kind=kind, file=relative, original_name=path.name, file_size=size)
    started = time.perf_counter()
    result = run_job(job)
    return time.perf_counter() - started, result.line()


# --- staff ---------------------------------------------------------------------------------------
STAFF_HEADERS = [
    "工号",
    "姓名",
    "性别",
    "学校标识码",
    "岗位",
    "专兼职",
    "资格证书",
    "证书编号",
    "手机号码",
]
POSTS = ["心理教师", "心理教师", "班主任", "德育主任", "科任教师", "导师"]
QUALIFICATIONS = ["C证", "B证", "A证", "心理学专业", "注册心理师"]


def write_staff(path: Path, count: int) -> None:
    schools = DISTRICTS * SCHOOLS_PER_DISTRICT
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(STAFF_HEADERS)
        for seq in range(count):
            post = POSTS[seq % len(POSTS)]
            writer.writerow(
                [
                    f"T{seq:07d}",
                    SURNAMES[seq % 20] + GIVEN[(seq // 20) % 24] + GIVEN[(seq // 480) % 24],
                    "男" if seq % 2 else "女",
                    f"36029{seq % schools:05d}",
                    post,
                    ("专职" if seq % 3 == 0 else "兼职") if post == "心理教师" else "",
                    QUALIFICATIONS[seq % len(QUALIFICATIONS)],
                    f"Q{seq:08d}",
                    f"139{seq % 100_000_000:08d}",
                ]
            )


def import_staff(tmp: Path, count: int) -> str:
    from xinqiao.people.models import Staff

    path = tmp / "staff.csv"
    write_staff(path, count)
    elapsed, line = run_file(path, "staff")
    rate = count / elapsed
    rss = peak_rss_mb()
    print(f"staff import (all created): {elapsed:.1f} s, {rate:,.0f} rows/s — {line}")
    again, line2 = run_file(path, "staff")
    print(f"staff re-import (all unchanged): {again:.1f} s, {count / again:,.0f} rows/s — {line2}")
    assert Staff.objects.count() == count, Staff.objects.count()
    floor_seconds = copy_floor(["people_staff", "people_staffposition", "people_qualification"])
    floor = count / floor_seconds
    print(
        f"floor: raw COPY of the {count:,} staff rows with their posts and qualifications into "
        f"tables with the same columns and indexes: {floor_seconds:.2f} s, {floor:,.0f} rows/s"
    )
    print(f"peak RSS after the staff import: {rss:.0f} MiB")
    return result_line("import_staff", rate, "rows/s", floor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--staff-rows", type=int)
    parser.add_argument("--training-rows", type=int)
    parser.add_argument("--only", choices=["staff", "training"])
    parser.add_argument(
        "--writers",
        type=int,
        help="XINQIAO_REGISTRY_WRITERS: 0 writes every chunk inline (the code before the writer "
        "thread), 1 (the default) in a thread while the next chunk is read",
    )
    args = parser.parse_args()
    staff_rows = args.staff_rows or (5_000 if args.quick else 50_000)
    training_rows = args.training_rows or (20_000 if args.quick else 200_000)

    use_scratch_database(os.environ.get("BENCH_DB", DATABASE))
    from django.conf import settings

    tmp = Path(tempfile.mkdtemp(prefix="xinqiao-bench-registries-"))
    settings.MEDIA_ROOT = tmp / "media"
    if args.quick:
        settings.XINQIAO_REGISTRY_CHUNK_ROWS = 2_000  # several chunks even when quick
    if args.writers is not None:
        settings.XINQIAO_REGISTRY_WRITERS = args.writers
    build_orgs()
    if args.only != "training":
        print(import_staff(tmp, staff_rows))
    if args.only != "staff":
        # its own district, schools and teachers in the same city (_registries_training.py)
        import_training(rows=training_rows)


if __name__ == "__main__":
    main()
