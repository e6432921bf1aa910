"""Issuing and reissuing the students' personal sign-in codes, class by class (docs/taking.md).

The codes live on people.Student (people/personal_codes.py: format, keyed hash, encryption);
which students an actor may issue them to is the access layer's answer, so the class-wide
services are here, above it."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from xinqiao.access.roles import Cap
from xinqiao.access.scope import principal_for
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.people.models import Student
from xinqiao.people.services import give_new_personal_code


def _slip_scope(actor: Actor, school_class: OrgUnit) -> Any:
    """The enrolled students of `school_class` the actor may print slips for (the access layer);
    refused outright unless the actor holds the capability for the class."""
    principal = principal_for(actor)
    if school_class.kind != Kind.CLASS or not principal.sees_unit(
        school_class, Cap.PRINT_SIGN_IN_SLIPS
    ):
        raise DomainError(_("You may not manage the personal codes of this class."))
    return (
        principal.students(cap=Cap.PRINT_SIGN_IN_SLIPS).filter(school_class=school_class).enrolled()
    )


@transaction.atomic
def issue_personal_codes(*, actor: Actor, school_class: OrgUnit) -> int:
    """Give a personal code to every enrolled student of the class who has none; returns how many
    were issued. Codes already issued are kept (the slip is printed again with them)."""
    students = list(_slip_scope(actor, school_class).filter(personal_code_hash=""))
    for student in students:
        give_new_personal_code(student)
    if students:
        record_event(
            actor=actor,
            action="people.personal_codes.issued",
            obj=school_class,
            school_id=school_class.school_id,
            fields={"students": len(students)},
        )
    return len(students)


@transaction.atomic
def reissue_personal_codes(
    *, actor: Actor, school_class: OrgUnit, student: Student | None = None
) -> int:
    """A new personal code for one student of the class (`student`), or for every enrolled
    student of the class; the old codes stop working at once. Returns how many were reissued."""
    scope = _slip_scope(actor, school_class)
    if student is not None:
        scope = scope.filter(pk=student.pk)
    students = list(scope)
    if student is not None and not students:
        raise DomainError(_("This student is not enrolled in this class."))
    for one in students:
        give_new_personal_code(one)
    if student is not None:
        record_event(
            actor=actor,
            action="people.personal_code.reissued",
            obj=students[0],
            school_id=students[0].school_id,
            fields={"class": str(school_class.code)},
        )
    elif students:
        record_event(
            actor=actor,
            action="people.personal_codes.reissued",
            obj=school_class,
            school_id=school_class.school_id,
            fields={"students": len(students)},
        )
    return len(students)
