"""Reads of the mentor system, each through the access layer's scope.

- A mentor's mentees: `principal.students(cap=MENTOR_STUDENTS)`, whose scope this app registers
  (`mentees_q`: the user's current mentorships at the grant's school), so the access layer, not
  a view, decides that a mentor sees exactly their current mentees.
- Assigners (MANAGE_MENTORS): the school leader's school, a head teacher's class.
- Talk logs: the note for its mentor and the school's psychology teachers (READ_TALK_NOTES);
  the head teacher and the school leader see only that talks happened (dates, topics).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, Q
from django.http import Http404
from django.utils import timezone

from xinqiao.access.holders import users_with_role
from xinqiao.access.roles import Cap, Role, Tier
from xinqiao.access.scope import Grant, Principal
from xinqiao.orgs.models import Kind, OrgUnit, Term
from xinqiao.people.models import Student, StudentQuerySet, StudentStatus

from .models import Mentorship, TalkLog

# The roles whose holders may mentor: every teacher with an account.
TEACHER_ROLES = (Role.MENTOR, Role.HEAD_TEACHER, Role.PSYCHOLOGY_TEACHER)


def mentees_q(principal: Principal, grant: Grant) -> Q:
    """The access layer's scope of MENTOR_STUDENTS: the user's current mentees at the school of
    the grant (a teacher who leaves a school loses its mentees with the role)."""
    if principal.user is None:
        return Q(pk__in=[])
    school_id = grant.unit.school_id or grant.unit.pk
    rows = Mentorship.objects.current().filter(mentor=principal.user, school_id=school_id)
    return Q(pk__in=rows.values("student_id"))


def current_term() -> Term | None:
    return Term.objects.current()


def my_mentees(principal: Principal) -> StudentQuerySet:
    return (
        principal.students(tier=Tier.T1, cap=Cap.MENTOR_STUDENTS)
        .select_related("school_class", "school_class__parent")
        .order_by("school_class__path", "name", "pk")
    )


def get_mentee(principal: Principal, code: Any) -> Student:
    return principal.get_student(code, tier=Tier.T1, cap=Cap.MENTOR_STUDENTS)


def get_assignable(principal: Principal, code: Any) -> Student:
    return principal.get_student(code, tier=Tier.T1, cap=Cap.MANAGE_MENTORS)


def last_talks(mentor: Any, student_ids: Iterable[int]) -> dict[int, datetime.date]:
    rows = (
        TalkLog.objects.filter(mentor=mentor, student_id__in=list(student_ids))
        .values("student_id")
        .annotate(last=Max("held_on"))
    )
    return {r["student_id"]: r["last"] for r in rows}


def my_talks(principal: Principal, limit: int = 50) -> list[TalkLog]:
    return list(
        TalkLog.objects.filter(mentor=principal.user)
        .select_related("student")
        .order_by("-held_on", "-id")[:limit]
    )


# --- talk logs: who may read what -------------------------------------------------------------
def reads_notes(principal: Principal, talk: TalkLog) -> bool:
    """The mentor who wrote it, and the psychology teachers of the talk's school."""
    if principal.user is not None and talk.mentor_id == principal.user_id:
        return True
    return any(
        g.area.pk == talk.school_id or g.area.contains(talk.school)
        for g in principal.grants_with(Cap.READ_TALK_NOTES)
        if g.area.kind == Kind.SCHOOL
    )


def get_talk(principal: Principal, code: Any) -> tuple[TalkLog, bool]:
    """(talk, whether the note may be read). The mentor and the school's psychology teachers read
    the note; a head teacher of the student's class and the school leader (MANAGE_MENTORS over
    the student) see the date and topic; anyone else 404."""
    try:
        talk = (
            TalkLog.objects.select_related("student", "student__school_class", "school", "mentor")
            .filter(code=code)
            .first()
        )
    except (ValueError, TypeError):
        talk = None
    if talk is None:
        raise Http404
    if reads_notes(principal, talk):
        return talk, True
    managed = principal.students(tier=Tier.T1, cap=Cap.MANAGE_MENTORS)
    if managed.filter(pk=talk.student_id).exists():
        return talk, False
    raise Http404


def school_talks(principal: Principal, limit: int = 100) -> list[TalkLog]:
    """The talks of the schools whose notes the principal reads (psychology teachers), worried
    ones first; the list shows no note."""
    schools = [g.area for g in principal.grants_with(Cap.READ_TALK_NOTES)]
    schools = [s for s in schools if s.kind == Kind.SCHOOL]
    return list(
        TalkLog.objects.filter(school__in=schools)
        .select_related("student", "student__school_class", "mentor", "mentor__staff")
        .order_by("-worried", "-held_on", "-id")[:limit]
    )


# --- assigners --------------------------------------------------------------------------------
def managed_classes(principal: Principal) -> list[OrgUnit]:
    return list(
        principal.units(Cap.MANAGE_MENTORS)
        .filter(kind=Kind.CLASS, is_active=True)
        .select_related("parent", "school")
        .order_by("path")[:500]
    )


def get_class(principal: Principal, code: Any) -> OrgUnit:
    unit = principal.get_unit(code, Cap.MANAGE_MENTORS)
    if unit.kind != Kind.CLASS:
        raise Http404
    return unit


def school_of(unit: OrgUnit) -> OrgUnit:
    if unit.kind == Kind.SCHOOL or unit.school_id is None:
        return unit
    return OrgUnit.objects.get(pk=unit.school_id)


def teachers_of(school: OrgUnit) -> list[Any]:
    """The school's teachers with an account (subject teachers / mentors, head teachers,
    psychology teachers), each once, by name."""
    units = list(school.descendants(include_self=True).values_list("pk", flat=True))
    seen: dict[int, Any] = {}
    for role in TEACHER_ROLES:
        for user in users_with_role(role, units):
            seen.setdefault(user.pk, user)
    return sorted(seen.values(), key=lambda u: (display_name(u), u.pk))


def display_name(user: Any) -> str:
    staff = getattr(user, "staff", None)
    if staff is not None:
        return str(staff.name)
    return str(user.get_full_name() or user.username)


def class_students(principal: Principal, school_class: OrgUnit) -> StudentQuerySet:
    return (
        principal.students(tier=Tier.T1, cap=Cap.MANAGE_MENTORS)
        .enrolled()
        .filter(school_class=school_class)
        .order_by("name", "pk")
    )


def current_mentorships(students: Iterable[Student], term: Term) -> dict[int, Mentorship]:
    rows = Mentorship.objects.filter(
        term=term, ended_at__isnull=True, student__in=list(students)
    ).select_related("mentor", "mentor__staff")
    return {m.student_id: m for m in rows}


def get_mentorship(principal: Principal, code: Any) -> Mentorship:
    try:
        row = Mentorship.objects.select_related("student", "term").filter(code=code).first()
    except (ValueError, TypeError):
        row = None
    managed = principal.students(tier=Tier.T1, cap=Cap.MANAGE_MENTORS)
    if row is None or not managed.filter(pk=row.student_id).exists():
        raise Http404
    return row


@dataclass
class ClassTalk:
    held_on: datetime.date
    topic: str
    mentor: str
    student: str
    code: Any


def class_talks(school_class: OrgUnit, term: Term, limit: int = 100) -> list[ClassTalk]:
    """That talks happened in the class this term: dates and topics, never notes."""
    rows = (
        TalkLog.objects.filter(term=term, student__school_class=school_class)
        .select_related("mentor", "mentor__staff", "student")
        .order_by("-held_on", "-id")[:limit]
    )
    return [
        ClassTalk(t.held_on, t.get_topic_display(), display_name(t.mentor), t.student.name, t.code)
        for t in rows
    ]


# --- coverage ---------------------------------------------------------------------------------
def month_start(today: datetime.date | None = None) -> datetime.date:
    return (today or timezone.localdate()).replace(day=1)


@dataclass
class CoverageRow:
    school_class: OrgUnit
    students: int = 0
    without_mentor: int = 0
    mentors: int = 0
    mentors_without_talk: int = 0
    talks_this_month: int = 0
    talks_per_mentor: list[tuple[str, int]] = field(default_factory=list)


def coverage(principal: Principal, term: Term | None) -> list[CoverageRow]:
    """Per class in the principal's MANAGE_MENTORS scope: students, students without a current
    mentor this term, mentors, mentors without a talk this month (with a student of the class),
    talks this month per mentor. Counts only."""
    classes = managed_classes(principal)
    rows = {c.pk: CoverageRow(c) for c in classes}
    if not classes:
        return []
    ids = list(rows)
    for r in (
        Student.objects.filter(school_class_id__in=ids, status=StudentStatus.ENROLLED)
        .values("school_class_id")
        .annotate(n=Count("pk"))
    ):
        rows[r["school_class_id"]].students = r["n"]
    if term is None:
        for row in rows.values():
            row.without_mentor = row.students
        return list(rows.values())
    current = Mentorship.objects.filter(
        term=term, ended_at__isnull=True, student__school_class_id__in=ids
    )
    mentors_by_class: dict[int, set[int]] = {}
    covered: dict[int, int] = {}
    names: dict[int, str] = {}
    for m in current.select_related("mentor", "mentor__staff", "student"):
        cls = m.student.school_class_id
        if cls is None or m.student.status != StudentStatus.ENROLLED:
            continue
        covered[cls] = covered.get(cls, 0) + 1
        mentors_by_class.setdefault(cls, set()).add(m.mentor_id)
        names[m.mentor_id] = display_name(m.mentor)
    talks: dict[tuple[int, int], int] = {}
    for t in (
        TalkLog.objects.filter(
            term=term, student__school_class_id__in=ids, held_on__gte=month_start()
        )
        .values("student__school_class_id", "mentor_id")
        .annotate(n=Count("pk"))
    ):
        talks[(t["student__school_class_id"], t["mentor_id"])] = t["n"]
    for cls, row in rows.items():
        mentors = mentors_by_class.get(cls, set())
        row.without_mentor = max(row.students - covered.get(cls, 0), 0)
        row.mentors = len(mentors)
        row.mentors_without_talk = sum(1 for m in mentors if not talks.get((cls, m)))
        row.talks_this_month = sum(n for (c, _m), n in talks.items() if c == cls)
        row.talks_per_mentor = sorted(
            ((names[m], talks.get((cls, m), 0)) for m in mentors), key=lambda x: x[0]
        )
    return list(rows.values())


# --- for other apps ---------------------------------------------------------------------------
def mentor_talks(
    users: Iterable[Any], since: datetime.date, until: datetime.date
) -> dict[int, int]:
    """{user id: the talks they logged as a mentor from `since` to `until` (both included)}, for
    the workload page; users without a talk count 0."""
    ids = [u if isinstance(u, int) else u.pk for u in users]
    out = dict.fromkeys(ids, 0)
    rows = (
        TalkLog.objects.filter(mentor_id__in=ids, held_on__gte=since, held_on__lte=until)
        .values("mentor_id")
        .annotate(n=Count("pk"))
    )
    for r in rows:
        out[r["mentor_id"]] = r["n"]
    return out
