"""Writes to people records. One transaction each, with its audit event."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
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
    FamilyCircumstance,
    GroupKind,
    GroupRole,
    Guardian,
    SchoolGroup,
    SchoolGroupMember,
    Staff,
    Student,
    current_q,
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
    start_date: date | None = None,
) -> Guardian:
    if Guardian.objects.filter(student=student, name=name.strip(), relation=relation).exists():
        raise DomainError(
            _(
                "This guardian is already recorded for the student (an ended one stays in the "
                "history: record them with another relation or name)."
            ),
            field="name",
        )
    guardian = Guardian(
        student=student,
        school=student.school,
        relation=relation,
        name=name.strip(),
        phone=normalise_mobile(phone),
        is_primary=is_primary,
        user=user,
        start_date=start_date,
    )
    guardian.full_clean()
    guardian.save()
    if is_primary:
        _only_primary(guardian)
    record_event(
        actor=actor,
        action="people.guardian.created",
        obj=guardian,
        school_id=student.school_id,
        fields={"student": student.pk, "relation": relation},
    )
    return guardian


def _only_primary(guardian: Guardian) -> None:
    Guardian.objects.filter(student_id=guardian.student_id, is_primary=True).exclude(
        pk=guardian.pk
    ).update(is_primary=False)


GUARDIAN_FIELDS = ("relation", "name", "phone", "is_primary", "start_date")


@transaction.atomic
def update_guardian(*, actor: Actor, guardian: Guardian, **changes: Any) -> Guardian:
    """Correct a current guardianship (a typo, a new phone). The audit event names the fields
    changed, never the phone."""
    unknown = set(changes) - set(GUARDIAN_FIELDS)
    if unknown:
        raise DomainError(_("These fields cannot be changed: %s") % ", ".join(sorted(unknown)))
    if not guardian.is_current:
        raise DomainError(_("An ended guardianship cannot be changed."))
    if "phone" in changes:
        changes["phone"] = normalise_mobile(changes["phone"])
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    changed = [k for k, v in changes.items() if getattr(guardian, k) != v]
    if not changed:
        return guardian
    for key in changed:
        setattr(guardian, key, changes[key])
    guardian.full_clean()
    guardian.save(update_fields=changed)
    if guardian.is_primary:
        _only_primary(guardian)
    record_event(
        actor=actor,
        action="people.guardian.updated",
        obj=guardian,
        school_id=guardian.school_id,
        fields={"student": guardian.student_id, "changed": changed},
    )
    return guardian


@transaction.atomic
def end_guardianship(*, actor: Actor, guardian: Guardian, end_date: date | None = None) -> Guardian:
    """End a guardianship on `end_date` (default today). The row stays (history); the parent's
    access to this child ends with it (scope.py reads only current guardianships; the parent
    role itself: access.invitations.end_guardianship)."""
    end_date = end_date or timezone.localdate()
    if guardian.end_date is not None and guardian.end_date <= end_date:
        raise DomainError(_("This guardianship has already ended."))
    if guardian.start_date and end_date < guardian.start_date:
        raise DomainError(_("The end date is before the start date."), field="end_date")
    guardian.end_date = end_date
    guardian.is_primary = False
    guardian.save(update_fields=["end_date", "is_primary"])
    record_event(
        actor=actor,
        action="people.guardian.ended",
        obj=guardian,
        school_id=guardian.school_id,
        fields={"student": guardian.student_id, "end_date": end_date.isoformat()},
    )
    return guardian


# --- family circumstances (R26) -------------------------------------------------------------
@transaction.atomic
def record_circumstance(
    *,
    actor: Actor,
    student: Student,
    kind: str,
    source: str,
    start_date: date | None = None,
    note: str = "",
) -> FamilyCircumstance:
    """Record that a family circumstance holds from `start_date`; sets the student's flag."""
    if kind not in FAMILY_FLAGS:
        raise DomainError(_("Unknown family circumstance."), field="kind")
    if FamilyCircumstance.objects.filter(
        student=student, kind=kind, end_date__isnull=True
    ).exists():
        raise DomainError(_("This circumstance is already recorded and not ended."), field="kind")
    row = FamilyCircumstance(
        student=student,
        school=student.school,
        kind=kind,
        source=source,
        start_date=start_date or timezone.localdate(),
        note=note.strip(),
        recorded_by=actor if getattr(actor, "pk", None) else None,
    )
    row.full_clean()
    row.save()
    _sync_flag(student, kind)
    record_event(
        actor=actor,
        action="people.circumstance.recorded",
        obj=row,
        school_id=student.school_id,
        fields={"student": student.pk, "kind": kind, "source": source},
    )
    return row


@transaction.atomic
def end_circumstance(
    *, actor: Actor, circumstance: FamilyCircumstance, end_date: date | None = None
) -> FamilyCircumstance:
    end_date = end_date or timezone.localdate()
    if circumstance.end_date is not None:
        raise DomainError(_("This circumstance has already ended."))
    if end_date < circumstance.start_date:
        raise DomainError(_("The end date is before the start date."), field="end_date")
    circumstance.end_date = end_date
    circumstance.save(update_fields=["end_date"])
    _sync_flag(circumstance.student, circumstance.kind)
    record_event(
        actor=actor,
        action="people.circumstance.ended",
        obj=circumstance,
        school_id=circumstance.school_id,
        fields={"student": circumstance.student_id, "kind": circumstance.kind},
    )
    return circumstance


def _sync_flag(student: Student, kind: str) -> None:
    """The Student boolean (counted and indexed) follows the open history row."""
    held = (
        FamilyCircumstance.objects.filter(student=student, kind=kind).filter(current_q()).exists()
    )
    if getattr(student, kind) != held:
        setattr(student, kind, held)
        student.save(update_fields=[kind, "updated_at"])


# --- class committee members (R5) -----------------------------------------------------------
@transaction.atomic
def appoint_committee_member(
    *, actor: Actor, student: Student, term: Term, start_date: date | None = None
) -> CommitteeMember:
    """Appoint a student to their class's committee for `term` (the account and its role:
    access.invitations.appoint_committee_member). Appointing a current member again returns
    their row."""
    if student.school_class is None:
        raise DomainError(_("The student has no class."))
    current = CommitteeMember.objects.filter(student=student, term=term, end_date__isnull=True)
    member = current.first()
    if member is not None:
        return member
    member = CommitteeMember.objects.create(
        student=student,
        term=term,
        school_class=student.school_class,
        school=student.school,
        start_date=start_date or timezone.localdate(),
    )
    record_event(
        actor=actor,
        action="people.committee_member.appointed",
        obj=member,
        school_id=student.school_id,
        fields={"student": student.pk, "term": term.code},
    )
    return member


@transaction.atomic
def end_committee_member(
    *, actor: Actor, member: CommitteeMember, end_date: date | None = None
) -> CommitteeMember:
    if member.end_date is not None:
        raise DomainError(_("This appointment has already ended."))
    member.end_date = end_date or timezone.localdate()
    member.save(update_fields=["end_date"])
    record_event(
        actor=actor,
        action="people.committee_member.ended",
        obj=member,
        school_id=member.school_id,
        fields={"student": member.student_id, "term": member.term.code},
    )
    return member


# --- the three school groups (R27) ----------------------------------------------------------
@transaction.atomic
def set_group_members(
    *, actor: Actor, school: OrgUnit, kind: str, members: list[Staff], leader: Staff | None = None
) -> SchoolGroup:
    """Make the group's current members exactly `members` (those no longer in it are ended,
    never deleted; newcomers start today)."""
    group = _group(school, kind)
    wanted = {m.pk: m for m in members}
    current = {m.staff_id: m for m in group.memberships.filter(end_date__isnull=True)}
    today = timezone.localdate()
    for staff_id, membership in current.items():
        if staff_id not in wanted:
            membership.end_date = today
            membership.save(update_fields=["end_date"])
            continue
        is_leader = leader is not None and leader.pk == staff_id
        if is_leader != membership.is_leader:
            membership.is_leader = is_leader
            membership.role = GroupRole.LEADER if is_leader else GroupRole.MEMBER
            membership.save(update_fields=["role", "is_leader"])
    SchoolGroupMember.objects.bulk_create(
        SchoolGroupMember(
            group=group,
            staff=m,
            role=GroupRole.LEADER if leader is not None and m.pk == leader.pk else GroupRole.MEMBER,
            is_leader=leader is not None and m.pk == leader.pk,
            start_date=today,
        )
        for pk, m in wanted.items()
        if pk not in current
    )
    record_event(
        actor=actor,
        action="people.school_group.updated",
        obj=group,
        school_id=school.pk,
        fields={"kind": kind, "members": [m.pk for m in members]},
    )
    return group


def _group(school: OrgUnit, kind: str) -> SchoolGroup:
    if kind not in GroupKind.values:
        raise DomainError(_("Unknown group."))
    if school.kind != Kind.SCHOOL:
        raise DomainError(_("Groups belong to a school."))
    group, _created = SchoolGroup.objects.get_or_create(school=school, kind=kind)
    return group


@transaction.atomic
def add_group_member(
    *,
    actor: Actor,
    school: OrgUnit,
    kind: str,
    staff: Staff,
    role: str = GroupRole.MEMBER,
    duty: str = "",
    start_date: date | None = None,
) -> SchoolGroupMember:
    """Add a staff member of the school to one of its groups. A new leader ends the leader role
    of the previous one (they stay a member)."""
    if role not in GroupRole.values:
        raise DomainError(_("Unknown role in the group."), field="role")
    if staff.org_unit.school_id != school.pk:
        raise DomainError(_("Only staff of this school can be members."), field="staff")
    group = _group(school, kind)
    if group.memberships.filter(staff=staff, end_date__isnull=True).exists():
        raise DomainError(_("This person is already a member of the group."), field="staff")
    if role == GroupRole.LEADER:
        group.memberships.filter(end_date__isnull=True, role=GroupRole.LEADER).update(
            role=GroupRole.MEMBER, is_leader=False
        )
    membership = SchoolGroupMember.objects.create(
        group=group,
        staff=staff,
        role=role,
        is_leader=role == GroupRole.LEADER,
        duty=duty.strip(),
        start_date=start_date or timezone.localdate(),
    )
    record_event(
        actor=actor,
        action="people.school_group.member_added",
        obj=group,
        school_id=school.pk,
        fields={"kind": kind, "staff": staff.pk, "role": role},
    )
    return membership


@transaction.atomic
def end_group_member(
    *, actor: Actor, membership: SchoolGroupMember, end_date: date | None = None
) -> SchoolGroupMember:
    if membership.end_date is not None:
        raise DomainError(_("This membership has already ended."))
    membership.end_date = end_date or timezone.localdate()
    membership.save(update_fields=["end_date"])
    group = membership.group
    record_event(
        actor=actor,
        action="people.school_group.member_ended",
        obj=group,
        school_id=group.school_id,
        fields={"kind": group.kind, "staff": membership.staff_id},
    )
    return membership


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
