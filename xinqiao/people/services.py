"""Writes to people records. One transaction each, with its audit event."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.crypto import keyed_hash
from xinqiao.core.errors import DomainError
from xinqiao.core.ratelimit import allow
from xinqiao.core.types import Actor
from xinqiao.orgs.models import Kind, OrgUnit, Term

from .models import (
    FAMILY_FLAGS,
    CommitteeMember,
    Enrolment,
    GroupKind,
    Guardian,
    SchoolGroup,
    SchoolGroupMember,
    Staff,
    Student,
)
from .personal_codes import (
    is_personal_code,
    new_personal_code,
    normalise_personal_code,
    personal_code_hash,
)
from .signals import notify_students_changed
from .validators import (
    normalise_id_number,
    normalise_mobile,
    normalise_student_number,
    validate_id_number,
)

STUDENT_FIELDS = ("name", "gender", "birth_date", "status", *FAMILY_FLAGS)


# Exact-number searches per user in a window: a person looks a student up, a script tries IDs.
NUMBER_SEARCH_LIMIT = 30
NUMBER_SEARCH_WINDOW = 10 * 60  # seconds


def note_number_search(*, actor: Actor, text: str) -> None:
    """Audit a search by a whole ID or student number (its keyed hash, never the number) and
    refuse it past NUMBER_SEARCH_LIMIT in NUMBER_SEARCH_WINDOW; other searches pass untouched."""
    from .selectors import exact_number_kind

    kind = exact_number_kind(text)
    if not kind or actor is None:
        return
    if not allow(
        f"xq:number-search:{actor.pk}", limit=NUMBER_SEARCH_LIMIT, window=NUMBER_SEARCH_WINDOW
    ):
        record_event(
            actor=actor,
            action="people.number_search.refused",
            fields={"kind": kind},
            result="denied",
        )
        raise DomainError(
            _("Too many searches by number. Try again in %(minutes)d minutes.")
            % {"minutes": NUMBER_SEARCH_WINDOW // 60}
        )
    number = normalise_id_number(text) if kind == "id_number" else normalise_student_number(text)
    record_event(
        actor=actor,
        action="people.number_search.done",
        fields={"kind": kind, "hash": keyed_hash(number)},
    )


def _school_of_class(school_class: OrgUnit) -> OrgUnit:
    if school_class.kind != Kind.CLASS or school_class.school is None:
        raise DomainError(_("Students must be placed in a class."))
    return school_class.school


def _set_id_number(student: Student, id_number: str) -> None:
    if id_number:
        validate_id_number(id_number)
        id_number = normalise_id_number(id_number)
    student.id_number = id_number
    student.id_number_hash = keyed_hash(id_number) if id_number else ""


@transaction.atomic
def create_student(
    *,
    actor: Actor,
    student_number: str,
    name: str,
    gender: str,
    birth_date: date,
    school_class: OrgUnit,
    term: Term | None = None,
    id_number: str = "",
    **attrs: Any,
) -> Student:
    student = Student(
        student_number=normalise_student_number(student_number),
        name=name.strip(),
        gender=gender,
        birth_date=birth_date,
        school=_school_of_class(school_class),
        school_class=school_class,
        **attrs,
    )
    _set_id_number(student, id_number)
    student.full_clean()
    student.save()
    if term is not None:
        Enrolment.objects.create(
            student=student, term=term, school=student.school, school_class=school_class
        )
    record_event(
        actor=actor,
        action="people.student.created",
        obj=student,
        # The number's keyed hash, never the number (it embeds the ID number).
        fields={"student_number_hash": student.student_number_hash, "class": school_class.pk},
    )
    notify_students_changed([student.school_id])
    return student


@transaction.atomic
def update_student(*, actor: Actor, student: Student, **changes: Any) -> Student:
    unknown = set(changes) - set(STUDENT_FIELDS) - {"id_number"}
    if unknown:
        raise DomainError(_("These fields cannot be changed: %s") % ", ".join(sorted(unknown)))
    changed: list[str] = []
    if "id_number" in changes:
        new = normalise_id_number(changes.pop("id_number") or "")
        if new != student.id_number:
            _set_id_number(student, new)
            changed += ["id_number", "id_number_hash"]
    for key, value in changes.items():
        if getattr(student, key) != value:
            setattr(student, key, value)
            changed.append(key)
    if not changed:
        return student
    student.full_clean()
    student.save(update_fields=[*changed, "updated_at"])
    # Never log the ID number itself, only that it changed.
    record_event(
        actor=actor, action="people.student.updated", obj=student, fields={"changed": changed}
    )
    if "status" in changed:  # e.g. a suspension lifted: open campaigns re-check the student
        notify_students_changed([student.school_id])
    return student


@transaction.atomic
def move_student(*, actor: Actor, student: Student, school_class: OrgUnit, term: Term) -> Student:
    """Put a student in a class for a term; the previous class stays in the enrolment history."""
    school = _school_of_class(school_class)
    old_class = student.school_class_id
    Enrolment.objects.update_or_create(
        student=student, term=term, defaults={"school": school, "school_class": school_class}
    )
    student.school, student.school_class = school, school_class
    student.save(update_fields=["school", "school_class", "updated_at"])
    record_event(
        actor=actor,
        action="people.student.moved",
        obj=student,
        fields={"class": [old_class, school_class.pk], "term": term.code},
    )
    notify_students_changed([student.school_id])
    return student


@transaction.atomic
def add_guardian(
    *,
    actor: Actor,
    student: Student,
    relation: str,
    name: str,
    phone: str,
    is_primary: bool = False,
    user: Any = None,
) -> Guardian:
    guardian = Guardian(
        student=student,
        school=student.school,
        relation=relation,
        name=name.strip(),
        phone=normalise_mobile(phone),
        is_primary=is_primary,
        user=user,
    )
    guardian.full_clean()
    guardian.save()
    record_event(
        actor=actor,
        action="people.guardian.created",
        obj=guardian,
        fields={"student": student.pk, "relation": relation},
    )
    return guardian


@transaction.atomic
def appoint_committee_member(*, actor: Actor, student: Student, term: Term) -> CommitteeMember:
    if student.school_class is None:
        raise DomainError(_("The student has no class."))
    member, _created = CommitteeMember.objects.get_or_create(
        student=student,
        term=term,
        defaults={"school_class": student.school_class, "school": student.school},
    )
    record_event(
        actor=actor,
        action="people.committee_member.appointed",
        obj=member,
        fields={"student": student.pk, "term": term.code},
    )
    return member


@transaction.atomic
def set_group_members(
    *, actor: Actor, school: OrgUnit, kind: str, members: list[Staff], leader: Staff | None = None
) -> SchoolGroup:
    if kind not in GroupKind.values:
        raise DomainError(_("Unknown group."))
    group, _created = SchoolGroup.objects.get_or_create(school=school, kind=kind)
    group.memberships.all().delete()
    SchoolGroupMember.objects.bulk_create(
        SchoolGroupMember(
            group=group, staff=m, is_leader=(leader is not None and m.pk == leader.pk)
        )
        for m in members
    )
    record_event(
        actor=actor,
        action="people.school_group.updated",
        obj=group,
        school_id=school.pk,
        fields={"kind": kind, "members": [m.pk for m in members]},
    )
    return group


# --- personal sign-in codes (people/personal_codes.py; issuing per class: screening) ------------


def give_new_personal_code(student: Student) -> str:
    """Set a fresh personal code on `student` and save it; a hash collision (31^8 codes) is
    retried with another code."""
    for _attempt in range(10):
        code = new_personal_code()
        student.personal_code = code
        student.personal_code_hash = personal_code_hash(code)
        try:
            with transaction.atomic():
                student.save(update_fields=["personal_code", "personal_code_hash", "updated_at"])
        except IntegrityError:
            continue
        return code
    raise DomainError(_("Could not find a free personal code; try again."))  # pragma: no cover


def find_by_personal_code(raw: str, *, school_class: OrgUnit | None = None) -> Student | None:
    """The student whose personal code this is (by its keyed hash), optionally only within one
    class; None for a malformed or unknown code. Sign-in does the same match inside its one
    statement (screening/taking/services.py)."""
    code = normalise_personal_code(raw)
    if not is_personal_code(code):
        return None
    rows = Student.objects.filter(personal_code_hash=personal_code_hash(code))
    if school_class is not None:
        rows = rows.filter(school_class=school_class)
    return rows.first()
