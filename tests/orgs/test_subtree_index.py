"""Subtree queries are one indexed range scan, never a walk in Python."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from xinqiao.core.errors import DomainError
from xinqiao.orgs.models import OrgUnit
from xinqiao.orgs.services import create_unit, move_unit

from ..factories import ClassFactory, DistrictFactory, GradeFactory, SchoolFactory


@pytest.fixture
def tree(db):
    """Two districts: A with a station and a school (one grade, classes 1 and 2), B with a school
    (one grade, class 1)."""
    district_a, district_b = DistrictFactory(name="甲区"), DistrictFactory(name="乙区")
    create_unit(actor=None, parent=district_a, kind="station", name="甲区辅导站")
    school_a = SchoolFactory(parent=district_a, name="甲区第一中学")
    grade_a7 = GradeFactory(parent=school_a, name="七年级")
    grade_b7 = GradeFactory(parent=SchoolFactory(parent=district_b), name="七年级")
    return {
        "district_a": district_a,
        "district_b": district_b,
        "school_a": school_a,
        "grade_b7": grade_b7,
        "class_a1": ClassFactory(parent=grade_a7, name="七(1)班"),
        "class_a2": ClassFactory(parent=grade_a7, name="七(2)班"),
        "class_b1": ClassFactory(parent=grade_b7, name="七(1)班"),
    }


def _plan(queryset) -> str:
    sql, params = queryset.order_by().values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row) for row in cursor.fetchall())


def test_subtree_is_one_query(tree):
    with CaptureQueriesContext(connection) as ctx:
        names = sorted(OrgUnit.objects.within(tree["district_a"]).values_list("name", flat=True))
    assert len(ctx.captured_queries) == 1
    assert names == sorted(["甲区", "甲区辅导站", "甲区第一中学", "七年级", "七(1)班", "七(2)班"])


def test_subtree_query_uses_the_path_index(tree):
    plan = _plan(OrgUnit.objects.within(tree["school_a"]).filter(kind="class"))
    assert "Index" in plan or "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
    assert "path" in plan


def test_move_rewrites_every_descendant_path(tree):
    move_unit(actor=None, unit=tree["school_a"], new_parent=tree["district_b"])
    tree["class_a2"].refresh_from_db()
    assert tree["class_a2"].path.startswith(tree["district_b"].path)
    assert sorted(
        OrgUnit.objects.within(tree["district_b"]).filter(kind="class").values_list("pk", flat=True)
    ) == sorted([tree["class_a1"].pk, tree["class_a2"].pk, tree["class_b1"].pk])
    assert OrgUnit.objects.within(tree["district_a"]).filter(kind="class").count() == 0
    # Every unit's path is its parent's path plus its own segment.
    for unit in OrgUnit.objects.exclude(parent=None).select_related("parent"):
        assert unit.path.startswith(unit.parent.path)
        assert len(unit.path) == len(unit.parent.path) + 8
        assert unit.depth == unit.parent.depth + 1


def test_class_cannot_move_to_another_school(tree):
    with pytest.raises(DomainError):
        move_unit(actor=None, unit=tree["class_a2"], new_parent=tree["grade_b7"])
