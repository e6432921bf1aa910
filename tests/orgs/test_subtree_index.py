"""Subtree queries are one indexed range scan, never a walk in Python."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from xinqiao.core.errors import DomainError
from xinqiao.orgs.models import OrgUnit
from xinqiao.orgs.services import move_unit


def _plan(queryset) -> str:
    sql, params = queryset.order_by().values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row) for row in cursor.fetchall())


def test_subtree_is_one_query(world):
    with CaptureQueriesContext(connection) as ctx:
        names = sorted(OrgUnit.objects.within(world.district_a).values_list("name", flat=True))
    assert len(ctx.captured_queries) == 1
    assert names == sorted(["甲区", "甲区辅导站", "甲区第一中学", "七年级", "七(1)班", "七(2)班"])


def test_subtree_query_uses_the_path_index(world):
    plan = _plan(OrgUnit.objects.within(world.school_a).filter(kind="class"))
    assert "Index" in plan or "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
    assert "path" in plan


def test_move_rewrites_every_descendant_path(world):
    move_unit(actor=None, unit=world.school_a, new_parent=world.district_b)
    world.class_a2.refresh_from_db()
    assert world.class_a2.path.startswith(world.district_b.path)
    assert sorted(
        OrgUnit.objects.within(world.district_b).filter(kind="class").values_list("pk", flat=True)
    ) == sorted([world.class_a1.pk, world.class_a2.pk, world.class_b1.pk])
    assert OrgUnit.objects.within(world.district_a).filter(kind="class").count() == 0
    # Every unit's path is its parent's path plus its own segment.
    for unit in OrgUnit.objects.exclude(parent=None).select_related("parent"):
        assert unit.path.startswith(unit.parent.path)
        assert len(unit.path) == len(unit.parent.path) + 8
        assert unit.depth == unit.parent.depth + 1


def test_class_cannot_move_to_another_school(world):
    with pytest.raises(DomainError):
        move_unit(actor=None, unit=world.class_a2, new_parent=world.grade_b7)
