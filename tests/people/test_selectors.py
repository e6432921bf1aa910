"""The people selectors on their own: search, masking, committees, groups, staff and the 1:800
ratio — each read through a principal, so what another school's user gets is tested too."""

from __future__ import annotations

import pytest

from xinqiao.access.roles import Role
from xinqiao.access.scope import principal_for
from xinqiao.people import selectors
from xinqiao.people.models import GroupKind, Position
from xinqiao.people.services import appoint_committee_member, set_group_members

from ..factories import (
    ClassFactory,
    GradeFactory,
    SchoolFactory,
    StaffFactory,
    StudentFactory,
    TermFactory,
    id_number,
)


def principal(role, unit):
    return principal_for(StaffFactory(role=role, org_unit=unit).user)


@pytest.fixture
def school(db):
    return SchoolFactory()


@pytest.fixture
def cls(school):
    return ClassFactory(parent=GradeFactory(parent=school))


def test_search_by_name_student_number_and_id_number(cls):
    number = id_number(7)
    wanted = StudentFactory(school_class=cls, name="王小明", id_number=number)
    StudentFactory(school_class=cls, name="李小红")
    psych = principal(Role.PSYCHOLOGY_TEACHER, cls.school)
    visible = psych.students(tier=1)
    assert list(selectors.search_students(visible, "小明")) == [wanted]
    assert list(selectors.search_students(visible, wanted.student_number.lower())) == [wanted]
    # The 身份证号 is stored encrypted: found through its keyed hash.
    assert list(selectors.search_students(visible, f" {number} ")) == [wanted]
    assert selectors.search_students(visible, "  ").count() == 2


def test_search_never_reaches_beyond_the_scope(cls):
    other = StudentFactory(name="赵小刚")
    psych = principal(Role.PSYCHOLOGY_TEACHER, cls.school)
    found = selectors.search_students(psych.students(tier=1), other.student_number)
    assert not found.exists()


def test_student_number_is_masked_but_its_ends_stay(db):
    masked = selectors.mask_student_number("G360102201301010011")
    assert masked.startswith("G3")
    assert masked.endswith("*1")
    assert "2013" not in masked


def test_committee_counts_for_everyone_names_only_in_scope(cls, school):
    term = TermFactory()
    boy = StudentFactory(school_class=cls, gender="M")
    StudentFactory(school_class=cls, gender="F")
    appoint_committee_member(actor=None, student=boy, term=term)
    mine = selectors.class_committee(
        principal=principal(Role.PSYCHOLOGY_TEACHER, school), school_class=cls, term=term
    )
    assert ([m.student for m in mine.members], mine.boys, mine.girls) == ([boy], 1, 0)
    assert mine.pair_missing  # junior high (grade 7): a boy and a girl are expected

    elsewhere = selectors.class_committee(
        principal=principal(Role.PSYCHOLOGY_TEACHER, SchoolFactory()), school_class=cls, term=term
    )
    assert (elsewhere.members, elsewhere.boys) == ([], 1)


def test_primary_classes_expect_no_pair(school):
    primary = ClassFactory(parent=GradeFactory(parent=school, grade_level=3))
    committee = selectors.class_committee(
        principal=principal(Role.PSYCHOLOGY_TEACHER, school), school_class=primary, term=None
    )
    assert not committee.expected_pair
    assert not committee.pair_missing


def test_school_groups_show_gaps_and_hide_names_from_roles_without_staff_access(school, cls):
    leader = StaffFactory(org_unit=school, name="校长")
    member = StaffFactory(org_unit=school, name="德育主任")
    set_group_members(
        actor=None, school=school, kind=GroupKind.CRISIS, members=[member, leader], leader=leader
    )
    rows = selectors.school_groups(principal=principal(Role.SCHOOL_ADMIN, school), school=school)
    by_kind = {row.kind: row for row in rows}
    assert set(by_kind) == set(GroupKind.values)
    assert [m.staff for m in by_kind[GroupKind.CRISIS].members] == [leader, member]
    assert by_kind[GroupKind.LEADERSHIP].group is None  # a gap the page shows

    head = principal_for(StaffFactory(role=Role.HEAD_TEACHER, org_unit=school, role_unit=cls).user)
    assert not head.can("view_staff")
    hidden = {row.kind: row for row in selectors.school_groups(principal=head, school=school)}
    assert hidden[GroupKind.CRISIS].group is not None
    assert hidden[GroupKind.CRISIS].members == []


def test_psychology_ratio_counts_enrolled_students_per_800(school, cls):
    for _ in range(3):
        StudentFactory(school_class=cls)
    StaffFactory(org_unit=school, positions=[(Position.PSYCHOLOGY_TEACHER_PART, school)])
    (row,) = selectors.psychology_ratio(principal=principal(Role.SCHOOL_ADMIN, school))
    assert (row.school, row.students, row.full_time, row.part_time) == (school, 3, 0, 1)
    assert (row.required, row.short) == (1, False)


@pytest.mark.parametrize(
    ("students", "full", "part", "required", "short"),
    [
        (0, 0, 0, 0, False),
        (800, 0, 1, 1, False),
        (801, 0, 2, 2, True),  # above 800 at least one must be full-time
        (801, 1, 1, 2, False),
        (1601, 1, 1, 3, True),
    ],
)
def test_ratio_rule(students, full, part, required, short):
    row = selectors.RatioRow(school=None, students=students, full_time=full, part_time=part)
    assert (row.required, row.short) == (required, short)


def test_ratio_is_empty_for_a_school_outside_the_scope(school):
    other = SchoolFactory()
    rows = selectors.psychology_ratio(principal=principal(Role.SCHOOL_ADMIN, other))
    assert [r.school for r in rows] == [other]


def test_staff_list_filters_by_position_unit_and_name(school):
    other_school = SchoolFactory(parent=school.parent)
    psych = StaffFactory(
        org_unit=school, name="心理老师甲", positions=[(Position.PSYCHOLOGY_TEACHER_FULL, school)]
    )
    StaffFactory(org_unit=school, name="班主任乙", positions=[(Position.SUBJECT_TEACHER, school)])
    far = StaffFactory(
        org_unit=other_school,
        name="心理老师丙",
        positions=[(Position.PSYCHOLOGY_TEACHER_FULL, other_school)],
    )
    district = principal(Role.DISTRICT_ADMIN, school.parent)
    by_position = selectors.list_staff(
        principal=district, position=Position.PSYCHOLOGY_TEACHER_FULL
    )
    assert set(by_position) == {psych, far}
    assert list(selectors.list_staff(principal=district, unit=school, text="心理")) == [psych]
    admin = principal(Role.SCHOOL_ADMIN, school)
    assert far not in set(selectors.list_staff(principal=admin))


def test_position_summary_is_counts_without_names(school):
    for _ in range(2):
        StaffFactory(org_unit=school, positions=[(Position.PSYCHOLOGY_TEACHER_PART, school)])
    summary = dict(selectors.position_summary(school=school))
    assert summary == {str(Position.PSYCHOLOGY_TEACHER_PART.label): 2}
