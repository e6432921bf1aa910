"""Every write of the skeleton's services leaves its audit event, in the same transaction."""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction

from xinqiao.access.roles import Role
from xinqiao.access.services import assign_role, create_staff, revoke_role
from xinqiao.audit.models import AuditEvent
from xinqiao.orgs.models import OrgUnit, Term
from xinqiao.orgs.services import create_term, create_unit, move_unit, set_current_term, update_unit
from xinqiao.people.models import GroupKind, GuardianRelation, Staff, Student
from xinqiao.people.services import (
    add_guardian,
    appoint_committee_member,
    create_student,
    move_student,
    set_group_members,
    update_student,
)

from ..factories import two_schools, with_personas

NEW_ID = "360102201304040011"


@pytest.fixture
def schools(db):
    """Two schools with a student per class, 甲区's station (a unit to move), the city admin who
    makes every write, and the head teacher whose role is assigned and revoked."""
    s = with_personas(two_schools(), "city_admin", "head_teacher")
    s.station_a = create_unit(actor=None, parent=s.district_a, kind="station", name="甲区辅导站")
    return s


class Boom(Exception):
    """Raised after the service returns, to roll its transaction back."""


def _writes(w):
    """(name, expected actions, write) for every skeleton service; each write is repeatable."""
    actor = w.city_admin
    return [
        (
            "create_unit",
            ["orgs.unit.created"],
            lambda: create_unit(actor=actor, parent=w.grade_a7, kind="class", name="七(9)班"),
        ),
        (
            "update_unit",
            ["orgs.unit.updated"],
            lambda: update_unit(actor=actor, unit=w.class_a2, name="七(2)班 改"),
        ),
        (
            "move_unit",
            ["orgs.unit.moved"],
            lambda: move_unit(actor=actor, unit=w.station_a, new_parent=w.district_b),
        ),
        (
            "create_term",
            ["orgs.term.created"],
            lambda: create_term(
                actor=actor,
                school_year_start=2027,
                season="spring",
                start_date=datetime.date(2027, 2, 20),
                end_date=datetime.date(2027, 7, 10),
            ),
        ),
        (
            "set_current_term",
            ["orgs.term.made_current"],
            lambda: set_current_term(actor=actor, term=w.term),
        ),
        (
            "create_student",
            ["people.student.created"],
            lambda: create_student(
                actor=actor,
                student_number="G" + NEW_ID,
                name="钱小多",
                gender="F",
                birth_date=datetime.date(2013, 4, 4),
                school_class=w.class_a1,
                term=w.term,
                id_number=NEW_ID,
            ),
        ),
        (
            "update_student",
            ["people.student.updated"],
            lambda: update_student(actor=actor, student=w.stu_a2, name="李小红二"),
        ),
        (
            "move_student",
            ["people.student.moved"],
            lambda: move_student(
                actor=actor, student=w.stu_a2, school_class=w.class_a1, term=w.term
            ),
        ),
        (
            "add_guardian",
            ["people.guardian.created"],
            lambda: add_guardian(
                actor=actor,
                student=w.stu_a2,
                relation=GuardianRelation.FATHER,
                name="李爸爸",
                phone="13900139000",
            ),
        ),
        (
            "create_staff",
            ["people.staff.created", "access.role.assigned"],
            lambda: create_staff(
                actor=actor,
                username="new_teacher",
                name="新老师",
                org_unit=w.school_a,
                roles=[(Role.MENTOR, w.class_a2)],
            ),
        ),
        (
            "appoint_committee_member",
            ["people.committee_member.appointed"],
            lambda: appoint_committee_member(actor=actor, student=w.stu_a2, term=w.term),
        ),
        (
            "set_group_members",
            ["people.school_group.updated"],
            lambda: set_group_members(
                actor=actor,
                school=w.school_a,
                kind=GroupKind.CRISIS,
                members=list(Staff.objects.filter(org_unit=w.school_a)),
            ),
        ),
        (
            "assign_role",
            ["access.role.assigned"],
            lambda: assign_role(
                actor=actor, user=w.head_teacher, role=Role.MENTOR, org_unit=w.class_a2
            ),
        ),
        (
            "revoke_role",
            ["access.role.revoked"],
            lambda: revoke_role(actor=actor, assignment=w.head_teacher.role_assignments.get()),
        ),
    ]


def _snapshot():
    """Enough of the data to see whether a rolled-back write left anything behind."""
    return (
        list(OrgUnit.objects.values_list("pk", "name", "path", "is_active")),
        list(Term.objects.values_list("pk", "is_current")),
        list(Student.objects.values_list("pk", "name", "school_class_id")),
        Staff.objects.count(),
        list(AuditEvent.objects.values_list("seq", "hash")),
    )


WRITE_NAMES = [
    "create_unit",
    "update_unit",
    "move_unit",
    "create_term",
    "set_current_term",
    "create_student",
    "update_student",
    "move_student",
    "add_guardian",
    "create_staff",
    "appoint_committee_member",
    "set_group_members",
    "assign_role",
    "revoke_role",
]


@pytest.mark.parametrize("name", WRITE_NAMES)
def test_write_records_its_event(schools, name):
    ((_name, actions, write),) = [entry for entry in _writes(schools) if entry[0] == name]
    last = AuditEvent.objects.order_by("-seq").first()
    write()
    new = list(AuditEvent.objects.filter(seq__gt=last.seq).order_by("seq"))
    assert [e.action for e in new] == actions
    assert all(e.actor_id == schools.city_admin.pk for e in new)
    assert new[0].prev_hash == last.hash


@pytest.mark.parametrize("name", WRITE_NAMES)
def test_rolled_back_write_leaves_no_event(schools, name):
    ((_name, _actions, write),) = [entry for entry in _writes(schools) if entry[0] == name]
    before = _snapshot()
    with pytest.raises(Boom):  # noqa: PT012 - the write and the failure share one transaction
        with transaction.atomic():
            write()
            raise Boom
    assert _snapshot() == before


def test_every_service_is_covered(schools):
    assert [name for name, _a, _w in _writes(schools)] == WRITE_NAMES
