"""people.services.update_student and the people selectors the pages rely on."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from xinqiao.access.roles import Cap, Role
from xinqiao.access.scope import principal_for
from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.people import selectors
from xinqiao.people.services import update_student

from ..conftest import ID_A1
from ..factories import two_schools, with_personas


@pytest.fixture
def schools(db):
    """Two schools with a student per class; school A's admin and psychology teacher, school B's
    psychology teacher and a city admin."""
    return with_personas(two_schools(), "city_admin", "school_admin", "psych", "psych_b")


def test_update_student_records_changed_fields(schools):
    update_student(actor=schools.school_admin, student=schools.stu_a1, name="王晓明", migrant=True)

    event = AuditEvent.objects.filter(action="people.student.updated").latest("seq")
    assert sorted(event.fields["changed"]) == ["migrant", "name"]
    assert event.actor_id == schools.school_admin.pk


def test_update_student_without_changes_writes_nothing(schools):
    before = AuditEvent.objects.count()

    update_student(actor=None, student=schools.stu_a1, name=schools.stu_a1.name)

    assert AuditEvent.objects.count() == before


def test_update_student_refuses_a_bad_id_number(schools):
    with pytest.raises(ValidationError):
        update_student(actor=None, student=schools.stu_a1, id_number="360102201301010021")


def test_update_student_refuses_unknown_fields(schools):
    with pytest.raises(DomainError):
        update_student(actor=None, student=schools.stu_a1, student_number="G000")


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("G36010220130101001X", "G360**************X"),
        ("36010220130101001X", "360**************X"),
        ("ABC", "ABC"),
    ],
)
def test_mask_student_number(number, masked):
    assert selectors.mask_student_number(number) == masked


def test_masked_id_number_with_the_birth_date_and_gender_leaves_many_candidates():
    """Issue 13: the profile shows the birth date and gender next to the masked ID number. An
    attacker who also knows the county (the worst case) enumerates what the mask hides; with the
    last four shown that left one candidate (001X), now dozens."""
    from stdnum.cn import ric

    masked = selectors.mask_student_number("G36010220130101001X")
    assert masked == "G360" + "*" * 14 + "X"  # nothing of the sequence shows
    candidates = [
        f"36010220130101{seq:03d}"
        for seq in range(1000)
        if seq % 2 == 1 and ric.calc_check_digit(f"36010220130101{seq:03d}") == masked[-1]
    ]
    assert len(candidates) >= 30


def test_search_by_id_number_uses_the_keyed_hash(schools):
    principal = principal_for(schools.city_admin)

    found = selectors.list_students(principal=principal, text=ID_A1.lower())

    assert [s.pk for s in found] == [schools.stu_a1.pk]


def test_covers_needs_the_capability_from_a_grant_covering_the_student(schools):
    from xinqiao.access.services import assign_role

    # psych_b also becomes school admin of school B: full IDs for B's students, not A's.
    assign_role(actor=None, user=schools.psych_b, role=Role.SCHOOL_ADMIN, org_unit=schools.school_b)
    principal = principal_for(schools.psych_b)

    assert selectors.covers(
        principal=principal, student=schools.stu_b1, cap=Cap.VIEW_FULL_ID_NUMBER
    )
    assert not selectors.covers(
        principal=principal, student=schools.stu_a1, cap=Cap.VIEW_FULL_ID_NUMBER
    )


def test_committee_pair_expectation(schools):
    committee = selectors.class_committee(
        principal=principal_for(schools.psych), school_class=schools.class_a1, term=schools.term
    )

    assert (committee.expected_pair, committee.pair_missing) == (True, True)
