"""Org selectors: counts per unit come from SQL subtree ranges, scoped to the user's tree."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from xinqiao.access.roles import Role
from xinqiao.access.scope import principal_for
from xinqiao.orgs import selectors
from xinqiao.orgs.models import OrgUnit
from xinqiao.orgs.services import create_unit, update_unit
from xinqiao.people.services import update_student

from ..factories import two_schools, with_personas


@pytest.fixture
def schools(db):
    """Two schools with a student per class (three in all), a city admin and 甲区's admin."""
    return with_personas(two_schools(), "city_admin", "district_admin")


def test_counts_at_every_level(schools):
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

    assert counted[schools.city.pk] == (3, 3)
    assert counted[schools.district_a.pk] == (2, 2)
    assert counted[schools.school_b.pk] == (1, 1)
    assert below[schools.grade_a7.pk] == (2, 2)
    assert below[schools.class_a2.pk] == (1, 1)


def test_counts_skip_students_who_left_and_inactive_classes(schools):
    update_student(actor=None, student=schools.stu_a2, status="transferred_out")
    update_unit(actor=None, unit=schools.class_a2, is_active=False)

    unit = selectors.unit_with_counts(unit=schools.school_a)

    assert (unit.n_students, unit.n_classes) == (1, 1)


def test_counts_are_one_query_for_many_units(schools):
    for i in range(10):
        create_unit(actor=None, parent=schools.grade_a7, kind="class", name=f"班{i}")
    principal = principal_for(schools.city_admin)

    with CaptureQueriesContext(connection) as ctx:
        children = list(selectors.list_children(principal=principal, unit=schools.grade_a7))

    assert len(children) == 12
    assert len(ctx.captured_queries) == 1


def test_top_units_drop_nested_areas(schools):
    from xinqiao.access.services import assign_role

    assign_role(
        actor=None, user=schools.district_admin, role=Role.SCHOOL_ADMIN, org_unit=schools.school_a
    )
    fresh = type(schools.district_admin).objects.get(pk=schools.district_admin.pk)

    tops = selectors.list_top_units(principal=principal_for(fresh))

    assert [u.pk for u in tops] == [schools.district_a.pk]


def test_move_targets_stay_in_scope_and_school(schools):
    grade_a8 = create_unit(actor=None, parent=schools.school_a, kind="grade", name="八年级")

    targets = selectors.move_targets(
        principal=principal_for(schools.city_admin), unit=schools.class_a1
    )

    assert [u.pk for u in targets] == [grade_a8.pk]
