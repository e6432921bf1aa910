"""Writes of the mentor system: assign (one by one, or a class balanced over chosen teachers),
reassign, end; log a talk (a worried one files a concern into the alert flow). Each runs in one
transaction and records its audit event in it (docs/audit-actions.md)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access.roles import Cap, Tier
from xinqiao.access.scope import principal_for
from xinqiao.alerts import services as alert_services
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import User
from xinqiao.orgs.models import OrgUnit, Term
from xinqiao.people.models import Student, StudentStatus

from . import selectors
from .models import Mentorship, TalkLog, TalkTopic

NOTE_MAX = 500


def _term(term: Term | None) -> Term:
    term = term or selectors.current_term()
    if term is None:
        raise DomainError(_("No current term is set: ask the administrator to set one first."))
    return term


def _check_assigner(actor: User, students: Sequence[Student]) -> None:
    managed = principal_for(actor).students(tier=Tier.T1, cap=Cap.MANAGE_MENTORS)
    ids = {s.pk for s in students}
    if managed.filter(pk__in=ids).count() != len(ids):
        raise DomainError(_("You cannot assign mentors to this student."))


def _check_teacher(school_id: int, mentor: Any) -> None:
    school = OrgUnit.objects.get(pk=school_id)
    if mentor.pk not in {u.pk for u in selectors.teachers_of(school)}:
        raise DomainError(_("Choose a teacher of the student's school."), field="mentor")


def _lock_student(student: Student) -> Student:
    return Student.objects.select_for_update().get(pk=student.pk)


@transaction.atomic
def assign_mentor(
    *, actor: User, student: Student, mentor: Any, term: Term | None = None
) -> Mentorship:
    """One student's mentor for the term. Effects, in order: check the assigner's scope and that
    the mentor teaches at the student's school; lock the student; the same mentor already →
    that row (a double submit); another → end it (reassign); add the new row; audit
    `mentoring.mentorship.assigned` (with the mentor replaced, if any)."""
    term = _term(term)
    _check_assigner(actor, [student])
    _check_teacher(student.school_id, mentor)
    student = _lock_student(student)
    current = Mentorship.objects.filter(term=term, student=student, ended_at__isnull=True).first()
    if current is not None and current.mentor_id == mentor.pk:
        return current
    now = timezone.now()
    replaced = None
    if current is not None:
        replaced = current.mentor_id
        current.ended_at = now
        current.save(update_fields=["ended_at"])
    try:
        with transaction.atomic():
            row = Mentorship.objects.create(
                school_id=student.school_id,
                term=term,
                student=student,
                mentor=mentor,
                assigned_by=actor,
                started_at=now,
            )
    except IntegrityError:
        raise DomainError(_("The student has just been given a mentor. Reload the page.")) from None
    record_event(
        actor=actor,
        action="mentoring.mentorship.assigned",
        obj=row,
        school_id=student.school_id,
        fields={
            "student": str(student.code),
            "mentor": mentor.pk,
            "term": term.code,
            "replaced": replaced,
        },
    )
    return row


@transaction.atomic
def assign_class(
    *, actor: User, school_class: OrgUnit, mentors: Sequence[Any], term: Term | None = None
) -> list[Mentorship]:
    """Spread a class's students without a mentor this term evenly over `mentors` (balanced:
    each goes to the chosen teacher with the fewest mentees in the class so far, ties in the
    order given; students already assigned are kept and count). Effects: check scope and
    teachers; lock the class's students; add the rows; audit `mentoring.class.assigned`."""
    term = _term(term)
    if not mentors:
        raise DomainError(_("Choose at least one teacher."), field="mentors")
    students = list(
        Student.objects.select_for_update()
        .filter(school_class=school_class, status=StudentStatus.ENROLLED)
        .order_by("name", "pk")
    )
    if not students:
        raise DomainError(_("The class has no students."))
    _check_assigner(actor, students)
    for mentor in mentors:
        _check_teacher(students[0].school_id, mentor)
    current = {
        m.student_id: m.mentor_id
        for m in Mentorship.objects.filter(term=term, student__in=students, ended_at__isnull=True)
    }
    order = {m.pk: i for i, m in enumerate(mentors)}
    load = dict.fromkeys(order, 0)
    for mentor_id in current.values():
        if mentor_id in load:
            load[mentor_id] += 1
    now = timezone.now()
    new: list[Mentorship] = []
    by_pk = {m.pk: m for m in mentors}
    for student in students:
        if student.pk in current:
            continue
        chosen = min(load, key=lambda pk: (load[pk], order[pk]))
        load[chosen] += 1
        new.append(
            Mentorship(
                school_id=student.school_id,
                term=term,
                student=student,
                mentor=by_pk[chosen],
                assigned_by=actor,
                started_at=now,
            )
        )
    Mentorship.objects.bulk_create(new)
    record_event(
        actor=actor,
        action="mentoring.class.assigned",
        obj=school_class,
        school_id=school_class.school_id,
        fields={
            "term": term.code,
            "mentors": [m.pk for m in mentors],
            "assigned": len(new),
            "kept": len(current),
        },
    )
    return new


@transaction.atomic
def end_mentorship(*, actor: User, mentorship: Mentorship) -> Mentorship:
    """End a current mentorship (the student is then without a mentor). Audit
    `mentoring.mentorship.ended`. Ending an ended row changes nothing."""
    _check_assigner(actor, [mentorship.student])
    row = Mentorship.objects.select_for_update().get(pk=mentorship.pk)
    if row.ended_at is not None:
        return row
    row.ended_at = timezone.now()
    row.save(update_fields=["ended_at"])
    record_event(
        actor=actor,
        action="mentoring.mentorship.ended",
        obj=row,
        school_id=row.school_id,
        fields={"student": str(row.student.code), "mentor": row.mentor_id},
    )
    return row


@transaction.atomic
def log_talk(
    *,
    actor: User,
    student: Student,
    held_on: datetime.date,
    topic: str,
    note: str,
    worried: bool,
    client_key: str,
) -> TalkLog:
    """A mentor's talk with a current mentee. Effects, in order: check the student is the
    actor's current mentee (the access layer's MENTOR_STUDENTS scope); the same form sent again
    (its client key) → the first row; validate; add the row (the note encrypted); audit
    `mentoring.talk.logged`; worried → file a concern (source mentor, urgency "soon": an orange
    alert) through the alerts app and keep its code."""
    key = (client_key or "").strip()
    if not key or len(key) > 64:
        raise DomainError(_("The form has expired. Please reload the page and try again."))
    principal = principal_for(actor)
    mentees = principal.students(tier=Tier.T1, cap=Cap.MENTOR_STUDENTS)
    if not mentees.filter(pk=student.pk).exists():
        raise DomainError(_("You can log talks only with your current mentees."), field="student")
    student = _lock_student(student)
    existing = TalkLog.objects.filter(client_key=key).first()
    if existing is not None:
        if existing.mentor_id != actor.pk:
            raise DomainError(_("The form has expired. Please reload the page and try again."))
        return existing
    if held_on > timezone.localdate():
        raise DomainError(_("The date cannot be in the future."), field="held_on")
    if topic not in TalkTopic.values:
        raise DomainError(_("Choose a topic."), field="topic")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise DomainError(_("Keep the note short (at most 500 characters)."), field="note")
    term = _term(None)
    talk = TalkLog.objects.create(
        school_id=student.school_id,
        term=term,
        student=student,
        mentor=actor,
        held_on=held_on,
        topic=topic,
        note=note,
        worried=worried,
        client_key=key,
        created_at=timezone.now(),
    )
    record_event(
        actor=actor,
        action="mentoring.talk.logged",
        obj=talk,
        school_id=student.school_id,
        fields={"student": str(student.code), "topic": topic, "worried": worried},
    )
    if worried:
        # The concern names the talk, never its note: the school leader sees alerts.
        what_seen = _(
            "After a mentor talk on %(date)s (topic: %(topic)s) the mentor is worried about the "
            "student. The school's psychology teachers can read the talk's note."
        ) % {"date": held_on.isoformat(), "topic": TalkTopic(topic).label}
        concern = alert_services.file_mentor_concern(
            actor=actor, student=student, what_seen=what_seen, seen_on=held_on, urgency="soon"
        )
        talk.concern_code = concern.code
        talk.save(update_fields=["concern_code"])
    return talk
