"""Benchmark: a city's autumn campaign for 1,000,000 students opens on PostgreSQL.

`services.open_campaign` creates every assignment in one INSERT … SELECT (status, stage band,
grade and class worked out in SQL). The floor, measured in the same run, is a raw INSERT … SELECT
of the same rows (student, school, class) into a table with the same columns and indexes, without
joins, consent or suspension logic. Target: under 2 minutes for 1,000,000 students.

    python bench/open_campaign.py            # 1,000,000 students
    python bench/open_campaign.py --quick    # 20,000 students

The database is its own: xinqiao_bench_open on BENCH_DATABASE_URL's server (dropped, re-created,
migrated by the script).
"""

from __future__ import annotations

import argparse
import datetime
import io
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import result_line, use_scratch_database

DISTRICTS = 10
GRADES = list(range(7, 13))  # junior and senior high
CLASS_SIZE = 40


def build_tree(students: int) -> tuple[int, list[tuple[int, int, int]]]:
    """Bulk-insert city → districts → schools → grades → classes with their materialised paths.

    Returns (city id, [(school id, class id, grade level), …]).
    """
    from django.db import connection

    from xinqiao.orgs.models import OrgUnit, path_segment

    classes_needed = max(1, students // CLASS_SIZE)
    per_school = len(GRADES) * 10
    schools = max(1, -(-classes_needed // per_school))
    units: list[OrgUnit] = []
    next_id = 1

    def add(kind: str, name: str, parent: OrgUnit | None, **extra: object) -> OrgUnit:
        nonlocal next_id
        unit = OrgUnit(
            id=next_id,
            kind=kind,
            name=name,
            parent=parent,
            path=(parent.path if parent else "") + path_segment(next_id),
            depth=(parent.depth + 1) if parent else 0,
            **extra,
        )
        next_id += 1
        units.append(unit)
        return unit

    city = add("city", "基准市", None)
    districts = [add("district", f"区{d}", city) for d in range(DISTRICTS)]
    classes: list[tuple[int, int, int]] = []
    for s in range(schools):
        school = add(
            "school",
            f"学校{s}",
            districts[s % DISTRICTS],
            stage="twelve_year",
            school_code=f"36{s:08d}",
        )
        school.school_id = school.id
        for level in GRADES:
            grade = add("grade", f"{level}年级", school, grade_level=level)
            grade.school_id = school.id
            for k in range(10):
                klass = add("class", f"{level}({k + 1})班", grade)
                klass.school_id = school.id
                classes.append((school.id, klass.id, level))
    OrgUnit.objects.bulk_create(units, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('orgs_orgunit', 'id'), %s)", [next_id])
    return city.id, classes


def load_students(n: int, classes: list[tuple[int, int, int]]) -> None:
    """COPY n students into people_student (2 % suspended), spread over the classes. The number
    is sealed and hashed in Python as the roster importer does (people/importer/rows.py)."""
    from django.db import connection

    from xinqiao.people import search
    from xinqiao.people.importer.rows import Encryptor

    sealer = Encryptor()

    now = datetime.datetime.now(datetime.UTC).isoformat()
    columns = (
        "code, student_number, student_number_hash, number_tail_hash, name, gender, birth_date, "
        "id_number, id_number_hash, status, "
        "school_id, school_class_id, left_behind, single_parent, orphan_or_unsupported, "
        "disability, low_income, migrant, created_at, updated_at"
    )
    connection.ensure_connection()
    raw = connection.connection  # psycopg 3 connection under Django's wrapper
    with raw.cursor() as cursor, cursor.copy(f"COPY people_student ({columns}) FROM STDIN") as copy:
        for start in range(0, n, 50_000):
            buf = io.StringIO()
            for i in range(start, min(n, start + 50_000)):
                school_id, class_id, level = classes[i % len(classes)]
                status = "suspended" if i % 50 == 0 else "enrolled"
                birth = datetime.date(2019 - level, 1 + i % 12, 1 + i % 28).isoformat()
                number = f"G{i:018d}"
                row_key = sealer.hash(search.number_hash_text(number))
                sealed = sealer.encrypt_number(number, row_key)
                tail = sealer.hash(search.number_tail_text(number))[: search.ID_TAIL_HASH_LENGTH]
                buf.write(
                    f"{uuid.uuid4()}\t{sealed}\t{row_key}\t{tail}\t学生{i}\t{'MF'[i % 2]}\t{birth}"
                    f"\t\t\t{status}\t"
                    f"{school_id}\t{class_id}\tf\tf\tf\tf\tf\tf\t{now}\t{now}\n"
                )
            copy.write(buf.getvalue())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE people_student")
        cursor.execute("ANALYZE orgs_orgunit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 students")
    parser.add_argument("--students", type=int, default=None)
    args = parser.parse_args()
    n = args.students or (20_000 if args.quick else 1_000_000)

    use_scratch_database("xinqiao_bench_open")
    from django.db import connection, transaction
    from django.utils import timezone

    from xinqiao.orgs.models import OrgUnit
    from xinqiao.orgs.services import create_term
    from xinqiao.screening import services
    from xinqiao.screening.models import Assignment

    t0 = time.perf_counter()
    city_id, classes = build_tree(n)
    load_students(n, classes)
    term = create_term(
        actor=None,
        school_year_start=2026,
        season="autumn",
        start_date=datetime.date(2026, 9, 1),
        end_date=datetime.date(2027, 1, 22),
        make_current=True,
    )
    print(f"setup: {n:,} students in {len(classes):,} classes, {time.perf_counter() - t0:.1f} s")

    # The floor: the same rows into a copy of the table (same columns, indexes, constraints).
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_floor (LIKE screening_assignment INCLUDING ALL)")
        cursor.execute("SELECT count(*) FROM people_student")  # warm the cache for both runs
    now = timezone.now()
    city = OrgUnit.objects.get(pk=city_id)
    campaign = services.create_campaign(
        actor=None,
        name="2026年秋季全市心理普查",
        term=term,
        kind="routine_autumn",
        owner_unit=city,
        units=[city],
        opens_at=now,
        closes_at=now + datetime.timedelta(days=21),
    )
    t = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_floor (campaign_id, student_id, school_id, school_class_id, "
            "stage_band, instruments, status, created_at) "
            "SELECT %s, s.id, s.school_id, s.school_class_id, 'junior', '[]'::jsonb, "
            "'assigned', now() FROM people_student s WHERE s.status IN ('enrolled', 'suspended')",
            [campaign.pk],
        )
        floor_rows = cursor.rowcount
    floor = time.perf_counter() - t
    print(f"floor: raw INSERT … SELECT of {floor_rows:,} rows in {floor:.2f} s")

    t = time.perf_counter()
    created = services.open_campaign(actor=None, campaign=campaign)
    value = time.perf_counter() - t
    assert created == floor_rows == Assignment.objects.filter(campaign=campaign).count(), (
        created,
        floor_rows,
    )
    suspended = Assignment.objects.filter(campaign=campaign, status="suspended").count()
    print(
        f"open_campaign: {created:,} assignments ({suspended:,} suspended) in {value:.2f} s "
        f"({created / value:,.0f} rows/s); target < 120 s: {'met' if value < 120 else 'NOT met'}"
    )
    # Throughputs (rows/s), so that ratio = value / floor as in every other benchmark.
    print(result_line("open_campaign", created / value, "rows/s", floor_rows / floor))


if __name__ == "__main__":
    main()
