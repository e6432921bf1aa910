"""Org selectors: counts per unit come from SQL subtree ranges, scoped to the user's tree."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from xinqiao.access.scope import principal_for
from xinqiao.orgs import selectors
from xinqiao.orgs.models import OrgUnit
from xinqiao.orgs.services import create_unit, update_unit
from xinqiao.people.services import update_student


def test_counts_at_every_level(world):
    counted = {
        u.pk: (u.n_students, u.n_classes)
        for u in selectors.with_counts(
            OrgUnit.objects.filter(kind__in=["city", "district", "school"]), below_school=False
        )
    }
    below = {
        u.pk: (u.n_students, u.n_classes)
        for u in selectors.with_counts(
            OrgUnit.objects.filter(kind__in=["grade", "class"]), below_school=True
        )
    }

    assert counted[world.city.pk] == (3, 3)
    assert counted[world.district_a.pk] == (2, 2)
    assert counted[world.school_b.pk] == (1, 1)
    assert below[world.grade_a7.pk] == (2, 2)
    assert below[world.class_a2.pk] == (1, 1)


def test_counts_skip_students_who_left_and_inactive_classes(world):
    update_student(actor=None, student=world.stu_a2, status="transferred_out")
    update_unit(actor=None, unit=world.class_a2, is_active=False)

    unit = selectors.unit_with_counts(unit=world.school_a)

    assert (unit.n_students, unit.n_classes) == (1, 1)


def test_counts_are_one_query_for_many_units(world):
    for i in range(10):
        create_unit(actor=None, parent=world.grade_a7, kind="class", name=f"班{i}")
    principal = principal_for(world.city_admin)

    with CaptureQueriesContext(connection) as ctx:
        children = list(selectors.list_children(principal=principal, unit=world.grade_a7))

    assert len(children) == 12
    assert len(ctx.captured_queries) == 1


def test_top_units_drop_nested_areas(world):
    from xinqiao.access.roles import Role
    from xinqiao.access.services import assign_role

    assign_role(
        actor=None, user=world.district_admin, role=Role.SCHOOL_ADMIN, org_unit=world.school_a
    )
    fresh = type(world.district_admin).objects.get(pk=world.district_admin.pk)

    tops = selectors.list_top_units(principal=principal_for(fresh))

    assert [u.pk for u in tops] == [world.district_a.pk]


def test_move_targets_stay_in_scope_and_school(world):
    grade_a8 = create_unit(actor=None, parent=world.school_a, kind="grade", name="八年级")

    targets = selectors.move_targets(principal=principal_for(world.city_admin), unit=world.class_a1)

    assert [u.pk for u in targets] == [grade_a8.pk]
