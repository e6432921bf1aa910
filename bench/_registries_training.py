"""`import_training` for bench/import_registries.py: a training platform's export of N rows
(default 200,000: 20,000 teachers × 10 courses) through the real registry import path
(`create_job` + `run_job`, kind "training"), against a raw COPY of the same stored rows into a
table with workforce_trainingrecord's columns and indexes, measured in the same run.

Needs Django set up on a PostgreSQL scratch database (bench/_common.py `use_scratch_database`).
"""

from __future__ import annotations

import csv
import datetime
import io
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb, result_line

SCHOOLS = 100
COURSES = [
    ("心理健康教育教师专业能力提升培训", "省级", "线上"),
    ("学生心理危机识别与干预", "市级", "线下"),
    ("心理辅导活动课设计与实施", "区级", "线下"),
    ("国培计划：中小学心理健康教育", "国家级", "线上"),
    ("班主任心理健康教育能力培训", "市级", "线上"),
    ("全员导师制工作坊", "校本", "面授"),
    ("生命教育专题研修", "区级", "网络研修"),
    ("家庭教育指导能力培训", "市级", "线下"),
    ("心理测评与数据解读", "省级", "线上"),
    ("校园欺凌预防与处置", "区级", "线下"),
]
HEADERS = [
    "姓名",
    "学校代码",
    "培训名称",
    "培训机构",
    "开始日期",
    "结束日期",
    "学时",
    "培训级别",
    "培训形式",
]


def _unusable(username: str):
    from django.contrib.auth import get_user_model

    user = get_user_model()(username=username)
    user.set_unusable_password()
    return user


def _build(teachers: int) -> list[tuple[str, str]]:
    """A city, a district, SCHOOLS schools and `teachers` staff (bulk: setup, not measured)."""
    from django.contrib.auth import get_user_model

    from xinqiao.orgs.models import OrgUnit, Term
    from xinqiao.orgs.services import create_term, create_unit
    from xinqiao.people.models import Staff

    city = OrgUnit.objects.filter(kind="city").first() or create_unit(
        actor=None, parent=None, kind="city", name="示例市"
    )
    district = create_unit(actor=None, parent=city, kind="district", name="培训基准区")
    schools = [
        create_unit(
            actor=None,
            parent=district,
            kind="school",
            name=f"基准学校{s}",
            school_code=f"36039{s:05d}",
            stage="junior",
        )
        for s in range(SCHOOLS)
    ]
    if not Term.objects.exists():
        create_term(
            actor=None,
            school_year_start=2026,
            season="autumn",
            start_date=datetime.date(2026, 9, 1),
            end_date=datetime.date(2027, 1, 22),
            make_current=True,
        )
    users = get_user_model().objects.bulk_create(
        [_unusable(f"bench_t{i}") for i in range(teachers)],
        batch_size=5000,
    )
    Staff.objects.bulk_create(
        [
            Staff(user=u, name=f"教师{i:06d}", org_unit=schools[i % SCHOOLS])
            for i, u in enumerate(users)
        ],
        batch_size=5000,
    )
    return [(f"教师{i:06d}", schools[i % SCHOOLS].school_code) for i in range(teachers)]


def _write_csv(path: Path, teachers: list[tuple[str, str]], per_teacher: int) -> int:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADERS)
    n = 0
    start = datetime.date(2026, 9, 7)
    for t, (name, code) in enumerate(teachers):
        for c in range(per_teacher):
            course, level, mode = COURSES[c % len(COURSES)]
            day = start + datetime.timedelta(days=(t + 7 * c) % 280)
            writer.writerow(
                [
                    name,
                    code,
                    course,
                    "市教育学院",
                    day.isoformat(),
                    day.isoformat(),
                    4 + c % 5,
                    level,
                    mode,
                ]
            )
            n += 1
    path.write_bytes(buf.getvalue().encode("utf-8-sig"))
    return n


def _import(path: Path):
    from xinqiao.people.registry import create_job, run_job, store_upload

    relative, _size = store_upload([path.read_bytes()], path.name)
    job = create_job(actor=None, kind="training", file=relative, original_name=path.name)
    started = time.perf_counter()
    result = run_job(job)
    return time.perf_counter() - started, result


def _copy_floor(tmp: Path) -> tuple[float, int]:
    from django.db import connection

    dump = tmp / "training.copy"
    with connection.cursor() as cursor:
        raw = cursor.connection.cursor()
        with (
            dump.open("wb") as fh,
            raw.copy("COPY (SELECT * FROM workforce_trainingrecord ORDER BY id) TO STDOUT") as copy,
        ):
            for block in copy:
                fh.write(block)
        raw.execute("DROP TABLE IF EXISTS bench_training_floor")
        raw.execute(
            "CREATE TABLE bench_training_floor (LIKE workforce_trainingrecord INCLUDING ALL)"
        )
        started = time.perf_counter()
        with dump.open("rb") as fh, raw.copy("COPY bench_training_floor FROM STDIN") as copy:
            while block := fh.read(1 << 20):
                copy.write(block)
        elapsed = time.perf_counter() - started
        raw.execute("SELECT count(*) FROM bench_training_floor")
        rows = raw.fetchone()[0]
        raw.execute("DROP TABLE bench_training_floor")
    return elapsed, rows


def import_training(*, rows: int = 200_000, per_teacher: int = 10) -> str:
    """Run the benchmark; prints its figures and returns the RESULT line."""
    from django.conf import settings

    tmp = Path(tempfile.mkdtemp(prefix="xinqiao-bench-training-"))
    settings.MEDIA_ROOT = tmp / "media"
    teachers = _build(max(1, rows // per_teacher))
    path = tmp / "training.csv"
    n = _write_csv(path, teachers, per_teacher)
    print(
        f"training: {len(teachers):,} teachers, {n:,} rows ({path.stat().st_size / 2**20:.0f} MiB)"
    )
    elapsed, result = _import(path)
    rate = n / elapsed
    print(
        f"training import (all created): {elapsed:.1f} s, {rate:,.0f} rows/s — created "
        f"{result.created:,}, rejected {result.rejected:,}; peak RSS {peak_rss_mb():.0f} MiB"
    )
    again, result2 = _import(path)
    print(
        f"training re-import (all unchanged): {again:.1f} s, {n / again:,.0f} rows/s — "
        f"unchanged {result2.unchanged:,}"
    )
    floor_elapsed, floor_rows = _copy_floor(tmp)
    floor_rate = floor_rows / floor_elapsed
    print(
        f"floor: raw COPY of {floor_rows:,} training rows into a table with the same columns and "
        f"indexes: {floor_elapsed:.1f} s, {floor_rate:,.0f} rows/s"
    )
    line = result_line("import_training", rate, "rows/s", floor_rate)
    print(line)
    return line
