"""Benchmark: a picker's search at a million students (issue 12, "Scale in every picker").

A scratch PostgreSQL database (xinqiao_bench_picker on BENCH_DATABASE_URL's server, dropped,
re-created and migrated) gets a city of 1,000,000 students by COPY, with realistic Chinese names
(weighted common surnames, one- or two-character given names) and their search keys as the
product writes them (people/search.py): pinyin initials, the reversed student number, the keyed
hash of the ID number's tail. A counsellor of the city centre (the widest role that files
concerns: every student of the city) then searches the concern form's picker
(`/pick/concern-student/`) the ways one types: a common surname, surname + a given-name
character, pinyin initials, a class name, the last digits of a student number, the last four
characters of an ID number.

Value: the slowest kind of search, median of repeated requests through the whole endpoint
(Django test client: session, middleware, scope, the query, the template). Floor: the slowest raw
SQL of the same lookups on people_student alone (no scope, no join, no ORM), same run. Target:
under 200 ms at 1,000,000 students. Also prints each query's plan (EXPLAIN) and fails if the
plan of any search scans people_student sequentially.

    python bench/picker.py            # 1,000,000 students
    python bench/picker.py --quick    # 100,000 students (< 2 minutes)
"""

from __future__ import annotations

import argparse
import datetime
import io
import random
import re
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import result_line, use_scratch_database
from open_campaign import build_tree

# Common surnames, roughly by frequency (王 and 李 ~7 % each), and given-name characters.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "子梓浩宇轩涵欣怡雨晨思佳一诺博文俊杰嘉琪昊天明小红丽华强军伟芳娜静敏磊洋艳勇刚杰"
    "婷雪颖萱若曦瑞泽铭睿哲辰阳鑫宁悦可馨彤妍诗琳"
)
REPEAT = 15
BOUNDED_READ = 5_000  # people_student rows a search may touch (a page is 21)


def initials_table() -> dict[str, str]:
    from xinqiao.people.search import name_initials

    return {ch: name_initials(ch) for ch in SURNAMES + GIVEN}


def load_students(n: int, classes: list[tuple[int, int, int]]) -> list[str]:
    """COPY n students (names, search keys); returns the ID-number tails used."""
    from django.db import connection

    from xinqiao.core.crypto import keyed_hash
    from xinqiao.people import search
    from xinqiao.people.importer.rows import Encryptor
    from xinqiao.people.search import ID_TAIL_HASH_LENGTH, id_tail_text

    sealer = Encryptor()  # the number sealed and hashed as the roster importer does

    rng = random.Random(12)
    initials = initials_table()
    weights = [1 / (k + 1) ** 0.8 for k in range(len(SURNAMES))]
    tails = [f"{k:04d}" for k in range(0, 10000, 7)]
    tail_hash = {t: keyed_hash(id_tail_text("0" * 14 + t))[:ID_TAIL_HASH_LENGTH] for t in tails}
    now = datetime.datetime.now(datetime.UTC).isoformat()
    columns = (
        "code, student_number, student_number_hash, name, name_initials, number_tail_hash, "
        "id_tail_hash, gender, "
        "birth_date, id_number, id_number_hash, status, school_id, school_class_id, left_behind, "
        "single_parent, orphan_or_unsupported, disability, low_income, migrant, created_at, "
        "updated_at"
    )
    connection.ensure_connection()
    raw = connection.connection
    surnames = rng.choices(SURNAMES, weights=weights, k=n)
    with raw.cursor() as cursor, cursor.copy(f"COPY people_student ({columns}) FROM STDIN") as copy:
        for start in range(0, n, 50_000):
            buf = io.StringIO()
            for i in range(start, min(n, start + 50_000)):
                school_id, class_id, level = classes[i % len(classes)]
                given = "".join(rng.choices(GIVEN, k=1 + (i % 3 != 0)))
                name = surnames[i] + given
                number = f"G{rng.randrange(10**17, 10**18):018d}{i % 10}"[:19]
                birth = datetime.date(2019 - level, 1 + i % 12, 1 + i % 28).isoformat()
                row_key = sealer.hash(search.number_hash_text(number))
                sealed = sealer.encrypt_number(number, row_key)
                number_tail = sealer.hash(search.number_tail_text(number))[:ID_TAIL_HASH_LENGTH]
                buf.write(
                    f"{uuid.uuid4()}\t{sealed}\t{row_key}\t{name}\t"
                    f"{''.join(initials[c] for c in name)}\t"
                    f"{number_tail}\t{tail_hash[tails[i % len(tails)]]}\t{'MF'[i % 2]}\t{birth}"
                    f"\t\t\tenrolled\t{school_id}\t{class_id}\tf\tf\tf\tf\tf\tf\t{now}\t{now}\n"
                )
            copy.write(buf.getvalue())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE people_student")
        cursor.execute("ANALYZE orgs_orgunit")
    return tails


def signed_in(user):
    """A test client signed in as `user` past the second step (what django_otp.login records),
    as a staff member is after sign-in: two-factor is required (docs/two-factor.md)."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def median_ms(fn, repeat: int = REPEAT) -> float:
    fn()  # warm
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 students")
    parser.add_argument("--students", type=int, default=None)
    args = parser.parse_args()
    n = args.students or (100_000 if args.quick else 1_000_000)

    use_scratch_database("xinqiao_bench_picker")
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from xinqiao.access.roles import Role
    from xinqiao.access.scope import principal_for
    from xinqiao.access.services import assign_role
    from xinqiao.alerts.forms import CONCERN_STUDENTS
    from xinqiao.orgs.models import OrgUnit
    from xinqiao.orgs.services import create_unit
    from xinqiao.people.models import Student

    settings.ALLOWED_HOSTS = ["*"]
    t0 = time.perf_counter()
    city_id, classes = build_tree(n)
    tails = load_students(n, classes)
    city = OrgUnit.objects.get(pk=city_id)
    centre = create_unit(actor=None, parent=city, kind="centre", name="市未成年人心理健康辅导中心")
    user = get_user_model().objects.create_user("centre_counsellor", password="x" * 16)
    assign_role(actor=None, user=user, role=Role.STATION_COUNSELLOR, org_unit=centre)
    print(f"setup: {n:,} students in {len(classes):,} classes, {time.perf_counter() - t0:.1f} s")

    sample = Student.objects.order_by().filter(pk=n // 2).get()
    searches = {
        "surname": ("王", "name LIKE '王%%'"),
        "surname+given": ("王子", "name LIKE '王子%%'"),
        "initials": ("wzh", "name_initials LIKE 'wzh%%'"),
        "class": (
            "9(3)",
            "school_class_id IN (SELECT id FROM orgs_orgunit WHERE name LIKE '9(3)%%')",
        ),
        "number tail": (
            sample.student_number[-4:],
            f"number_tail_hash = '{sample.number_tail_hash}'",
        ),
        "ID tail": (tails[3], f"id_tail_hash = '{sample.id_tail_hash}'"),
    }
    principal = principal_for(user)
    rows = CONCERN_STUDENTS.rows(principal)
    client = signed_in(user)

    # Plans: every search reads a bounded number of people_student rows (an index range scan, or
    # a scan that stops after the page because the LIMIT is met at once), never the whole table.
    unbounded = []
    for kind, (text, _sql) in searches.items():
        found, more = CONCERN_STUDENTS.search(rows, text)
        assert found, kind
        read = 0
        print(f"plan [{kind} {text!r}] ({len(found)} found{', more' if more else ''}):")
        for plan in _plans(rows, text):
            for line in plan:
                if "Scan" in line or "Rows Removed" in line or "Limit" in line:
                    print(f"    {line.strip()[:150]}")
            read += _student_rows_read(plan)
        print(f"    people_student rows read: {read:,}")
        if read > BOUNDED_READ:
            unbounded.append(kind)

    # A narrow scope too: one school's psychology teacher (the planner must not scan the city's
    # students for a school's few matches).
    school = OrgUnit.objects.filter(kind="school").order_by("id")[len(classes) // 120]
    teacher = get_user_model().objects.create_user("school_psych", password="x" * 16)
    assign_role(actor=None, user=teacher, role=Role.PSYCHOLOGY_TEACHER, org_unit=school)
    school_client = signed_in(teacher)
    school_rows = CONCERN_STUDENTS.rows(principal_for(teacher))
    school_read = max(
        sum(_student_rows_read(p) for p in _plans(school_rows, t)) for t, _ in searches.values()
    )
    print(f"one school's psychology teacher: at most {school_read:,} people_student rows read")
    if school_read > BOUNDED_READ:
        unbounded.append("school scope")

    endpoint: dict[str, float] = {}
    school_ms: dict[str, float] = {}
    floor: dict[str, float] = {}
    for kind, (text, where) in searches.items():

        def request(text: str = text, client: Client = client) -> None:
            r = client.get("/pick/concern-student/", {"field": "student", "student__q": text})
            assert r.status_code == 200

        def raw(where: str = where) -> None:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT id, name FROM people_student WHERE {where} LIMIT 21")
                cursor.fetchall()

        endpoint[kind] = median_ms(request)
        school_ms[kind] = median_ms(lambda text=text: request(text, school_client))
        floor[kind] = median_ms(raw)
        print(
            f"{kind:>14} {text!r:>10}: endpoint {endpoint[kind]:7.1f} ms (city), "
            f"{school_ms[kind]:6.1f} ms (one school); raw SQL {floor[kind]:6.2f} ms"
        )
    value = max(*endpoint.values(), *school_ms.values())
    worst_floor = max(floor.values())
    print(
        f"slowest search through the endpoint: {value:.1f} ms at {n:,} students; "
        f"target < 200 ms: {'met' if value < 200 else 'NOT met'}"
    )
    if unbounded:
        print(f"UNBOUNDED read of people_student in: {', '.join(unbounded)}")
    print(result_line("picker_search", value, "ms", worst_floor))
    if unbounded:
        raise SystemExit(1)


def _plans(rows, text: str) -> list[list[str]]:
    """EXPLAIN ANALYZE of every query `pick` issues for `text`."""
    from django.db import connection

    captured: list[tuple[str, Any]] = []

    def grab(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(grab):
        rows.pick(text)
    plans = []
    with connection.cursor() as cursor:
        for sql, params in captured:
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params)
            plans.append([r[0] for r in cursor.fetchall()])
    return plans


def _student_rows_read(plan: list[str]) -> int:
    """Rows of people_student the plan's scans returned or filtered out."""
    total = 0
    inside = False
    for line in plan:
        if "Scan" in line:
            # heap rows: a bitmap index scan's entries are counted by its heap scan
            inside = " on people_student" in line and "Bitmap Index Scan" not in line
            if inside:
                m = re.search(r"actual time=\S+ rows=(\d+) loops=(\d+)", line)
                total += int(m[1]) * int(m[2]) if m else 0
        elif inside and "Rows Removed by" in line:
            total += int(line.rsplit(":", 1)[1])
    return total


if __name__ == "__main__":
    main()
