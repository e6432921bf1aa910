"""people.services.update_student and the people selectors the pages rely on."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from xinqiao.access.scope import principal_for
from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.people import selectors
from xinqiao.people.services import update_student

from ..conftest import ID_A1


def test_update_student_records_changed_fields(world):
    update_student(actor=world.school_admin, student=world.stu_a1, name="王晓明", migrant=True)

    event = AuditEvent.objects.filter(action="people.student.updated").latest("seq")
    assert sorted(event.fields["changed"]) == ["migrant", "name"]
    assert event.actor_id == world.school_admin.pk


def test_update_student_without_changes_writes_nothing(world):
    before = AuditEvent.objects.count()

    update_student(actor=None, student=world.stu_a1, name=world.stu_a1.name)

    assert AuditEvent.objects.count() == before


def test_update_student_refuses_a_bad_id_number(world):
    with pytest.raises(ValidationError):
        update_student(actor=None, student=world.stu_a1, id_number="360102201301010021")


def test_update_student_refuses_unknown_fields(world):
    with pytest.raises(DomainError):
        update_student(actor=None, student=world.stu_a1, student_number="G000")


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("G36010220130101001X", "G360***********001X"),
        ("36010220130101001X", "360***********001X"),
        ("ABC", "ABC"),
    ],
)
def test_mask_student_number(number, masked):
    assert selectors.mask_student_number(number) == masked


def test_search_by_id_number_uses_the_keyed_hash(world):
    principal = principal_for(world.city_admin)

    found = selectors.list_students(principal=principal, text=ID_A1.lower())

    assert [s.pk for s in found] == [world.stu_a1.pk]


def test_covers_needs_the_capability_from_a_grant_covering_the_student(world):
    from xinqiao.access.roles import Cap, Role
    from xinqiao.access.services import assign_role

    # psych_b also becomes school admin of school B: full IDs for B's students, not A's.
    assign_role(actor=None, user=world.psych_b, role=Role.SCHOOL_ADMIN, org_unit=world.school_b)
    principal = principal_for(world.psych_b)

    assert selectors.covers(principal=principal, student=world.stu_b1, cap=Cap.VIEW_FULL_ID_NUMBER)
    assert not selectors.covers(
        principal=principal, student=world.stu_a1, cap=Cap.VIEW_FULL_ID_NUMBER
    )


def test_committee_pair_expectation(world):
    committee = selectors.class_committee(
        principal=principal_for(world.psych), school_class=world.class_a1, term=world.term
    )

    assert (committee.expected_pair, committee.pair_missing) == (True, True)
