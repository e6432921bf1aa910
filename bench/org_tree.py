"""Subtree queries on a city-sized org tree: 10,000 schools and 100,000 classes.

Builds the tree set-based in PostgreSQL (paths computed exactly as orgs.services does), then times
the project's subtree query (`OrgUnit.objects.within(district).filter(kind="class").count()`) and
the scope query of a district admin against the same SQL issued raw through the cursor (the floor).
Prints the plan of the subtree query so a reader can see it is one index range scan.

    python bench/org_tree.py [--quick]
"""

from __future__ import annotations

import argparse
import time

from _common import result_line, use_scratch_database


def build_tree(schools: int, classes_per_school: int) -> None:
    from django.db import connection

    districts = 20
    grades_per_school = 5
    with connection.cursor() as cur:
        cur.execute(
            """
            CREATE OR REPLACE FUNCTION seg(n bigint) RETURNS text AS $$
            DECLARE d text := '0123456789abcdefghijklmnopqrstuvwxyz'; s text := '';
            BEGIN
              LOOP
                s := substr(d, (n % 36)::int + 1, 1) || s; n := n / 36; EXIT WHEN n = 0;
              END LOOP;
              RETURN lpad(s, 7, '0') || '.';
            END $$ LANGUAGE plpgsql IMMUTABLE;
            """
        )
        cur.execute(
            "INSERT INTO orgs_orgunit (id, code, kind, name, path, depth, is_active, sort_order, "
            "school_code, stage, township_central, district_kind) VALUES "
            "(1, gen_random_uuid(), 'city', 'city', seg(1), 0, true, 0, '', '', false, '')"
        )
        # Ids are laid out in blocks so that each level's path is computable in one statement.
        cur.execute(
            """
            INSERT INTO orgs_orgunit (id, code, kind, name, parent_id, path, depth, is_active,
                sort_order, school_code, stage, township_central, district_kind)
            SELECT 1 + d, gen_random_uuid(), 'district', 'district ' || d, 1,
                   seg(1) || seg(1 + d), 1, true, 0, '', '', false, 'district'
            FROM generate_series(1, %s) d
            """,
            [districts],
        )
        base_school = 1000
        cur.execute(
            """
            INSERT INTO orgs_orgunit (id, code, kind, name, parent_id, path, depth, is_active,
                sort_order, school_code, stage, township_central, district_kind, school_id)
            SELECT %s + s, gen_random_uuid(), 'school', 'school ' || s, 2 + (s %% %s),
                   seg(1) || seg(2 + (s %% %s)) || seg(%s + s), 2, true, 0, 'S' || s, 'junior',
                   false, '', %s + s
            FROM generate_series(1, %s) s
            """,
            [base_school, districts, districts, base_school, base_school, schools],
        )
        base_grade = base_school + schools + 1000
        cur.execute(
            """
            INSERT INTO orgs_orgunit (id, code, kind, name, parent_id, path, depth, is_active,
                sort_order, school_code, stage, township_central, district_kind, school_id,
                grade_level)
            SELECT %s + s * %s + g, gen_random_uuid(), 'grade', 'grade ' || g, p.id,
                   p.path || seg(%s + s * %s + g), 3, true, 0, '', '', false, '', p.id, 6 + g
            FROM generate_series(1, %s) s
            CROSS JOIN generate_series(1, %s) g
            JOIN orgs_orgunit p ON p.id = %s + s
            """,
            [
                base_grade,
                grades_per_school,
                base_grade,
                grades_per_school,
                schools,
                grades_per_school,
                base_school,
            ],
        )
        base_class = base_grade + (schools + 1) * grades_per_school + 1000
        per_grade = classes_per_school // grades_per_school
        cur.execute(
            """
            INSERT INTO orgs_orgunit (id, code, kind, name, parent_id, path, depth, is_active,
                sort_order, school_code, stage, township_central, district_kind, school_id)
            SELECT %s + p.id * %s + c, gen_random_uuid(), 'class', 'class ' || c, p.id,
                   p.path || seg(%s + p.id * %s + c), 4, true, 0, '', '', false, '', p.school_id
            FROM orgs_orgunit p CROSS JOIN generate_series(1, %s) c
            WHERE p.kind = 'grade'
            """,
            [base_class, per_grade, base_class, per_grade, per_grade],
        )
        cur.execute("ANALYZE orgs_orgunit")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    schools, classes_per_school = (500, 10) if args.quick else (10_000, 10)
    use_scratch_database("xinqiao_bench_tree")

    from django.db import connection

    from xinqiao.orgs.models import OrgUnit

    t0 = time.perf_counter()
    build_tree(schools, classes_per_school)
    built = time.perf_counter() - t0
    total = OrgUnit.objects.count()
    classes = OrgUnit.objects.filter(kind="class").count()
    print(f"tree: {total} units, {classes} classes, built in {built:.1f} s")

    districts = list(OrgUnit.objects.filter(kind="district").order_by("id"))
    queryset = OrgUnit.objects.within(districts[0]).filter(kind="class")
    sql, params = queryset.order_by().values("id").query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute("EXPLAIN " + f"SELECT COUNT(*) FROM ({sql}) q", params)
        print("plan:\n  " + "\n  ".join(row[0] for row in cur.fetchall()))

    rounds = 200 if args.quick else 400

    def orm_round(i: int) -> int:
        return OrgUnit.objects.within(districts[i % len(districts)]).filter(kind="class").count()

    def raw_round(i: int) -> int:
        d = districts[i % len(districts)]
        with connection.cursor() as cur:
            cur.execute(
                "SELECT COUNT(*) FROM orgs_orgunit WHERE kind = 'class' "
                "AND path >= %s AND path < %s",
                [d.path, d.path + "~"],
            )
            return cur.fetchone()[0]

    assert orm_round(0) == raw_round(0) == classes // len(districts)
    timings = {}
    for label, fn in (("raw", raw_round), ("orm", orm_round), ("raw2", raw_round)):
        start = time.perf_counter()
        for i in range(rounds):
            fn(i)
        timings[label] = rounds / (time.perf_counter() - start)
    floor = max(timings["raw"], timings["raw2"])
    print(
        f"subtree count of one district ({classes // len(districts)} classes): "
        f"orm {timings['orm']:.0f} q/s, raw SQL {floor:.0f} q/s"
    )
    print(result_line("org_subtree", timings["orm"], "queries/s", floor))


if __name__ == "__main__":
    main()
