"""Concerns: a human report about a student raises (or attaches to) an alert at the level
its urgency implies."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access.roles import Role
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import User
from xinqiao.people.models import Student

from ..models import URGENCY_LEVEL, Concern, Source
from .raising import raise_alert

ROLE_SOURCE: dict[str, Source] = {
    Role.HEAD_TEACHER: Source.HEAD_TEACHER,
    Role.MENTOR: Source.MENTOR,
    Role.COMMITTEE_MEMBER: Source.COMMITTEE_MEMBER,
    Role.PARENT: Source.PARENT,
    Role.PSYCHOLOGY_TEACHER: Source.COUNSELLING,
    Role.PSYCHIATRIST: Source.HOSPITAL,
}

# Further sources a role may choose (issue 14, R7): a school's or station's online-monitoring
# duty (网信 tips reach the school, which files them) reports as online monitoring.
ROLE_EXTRA_SOURCES: dict[str, tuple[Source, ...]] = {
    Role.SCHOOL_ADMIN: (Source.ONLINE_MONITORING,),
    Role.PSYCHOLOGY_TEACHER: (Source.ONLINE_MONITORING,),
    Role.STATION_COUNSELLOR: (Source.ONLINE_MONITORING,),
    Role.HEAD_TEACHER: (Source.ONLINE_MONITORING,),
}


def sources_for(roles: list[str]) -> list[Source]:
    """The sources a user with `roles` may report as: their role's own first, then the extras
    (one entry, the default, when there is nothing to choose)."""
    role = next((r for r in roles if r in ROLE_SOURCE), "")
    out = [ROLE_SOURCE.get(role, Source.OTHER)]
    for r in roles:
        out += [s for s in ROLE_EXTRA_SOURCES.get(r, ()) if s not in out]
    return out


@transaction.atomic
def file_concern(
    *,
    actor: User,
    student: Student,
    what_seen: str,
    seen_on: datetime.date,
    urgency: str,
    source: str = "",
) -> Concern:
    """A human report. It raises (or attaches to) an alert at the level its urgency implies:
    a current plan, attempt or means is red."""
    from xinqiao.access.scope import principal_for

    from ..selectors import concern_students

    principal = principal_for(actor)
    if not concern_students(principal=principal).filter(pk=student.pk).exists():
        raise DomainError(_("You cannot report about this student."))
    allowed = sources_for(principal.roles)
    if source and source not in allowed:
        raise DomainError(_("You cannot report as this source."), field="source")
    return _record(
        actor=actor,
        student=student,
        what_seen=what_seen,
        seen_on=seen_on,
        urgency=urgency,
        source=Source(source or allowed[0]),
    )


@transaction.atomic
def file_monitoring_tip(
    *,
    actor: User,
    student: Student,
    what_seen: str,
    seen_on: datetime.date,
    urgency: str,
) -> Concern:
    """An online-monitoring tip from outside the schools (网信, issue 14 R7): the reporter holds
    `file_monitoring_tip` for the student's area but no student page, list or result. The caller
    identified the student (partners.services.file_online_tip); the concern enters the normal
    alert flow with the source "online monitoring"."""
    from xinqiao.access.roles import Cap, Tier
    from xinqiao.access.scope import principal_for

    principal = principal_for(actor)
    in_scope = principal.students(tier=Tier.T0, cap=Cap.FILE_MONITORING_TIP)
    if not in_scope.filter(pk=student.pk).exists():
        raise DomainError(_("You cannot report about this student."))
    return _record(
        actor=actor,
        student=student,
        what_seen=what_seen,
        seen_on=seen_on,
        urgency=urgency,
        source=Source.ONLINE_MONITORING,
    )


@transaction.atomic
def file_mentor_concern(
    *,
    actor: User,
    student: Student,
    what_seen: str,
    seen_on: datetime.date,
    urgency: str,
) -> Concern:
    """A mentor's worried talk (全员导师制, R19; mentoring.services.log_talk): the reporter
    mentors the student this term (their MENTOR_STUDENTS scope, the access layer's), whatever
    their role's area, and the concern reports as the source "mentor"."""
    from xinqiao.access.roles import Cap, Tier
    from xinqiao.access.scope import principal_for

    principal = principal_for(actor)
    mentees = principal.students(tier=Tier.T1, cap=Cap.MENTOR_STUDENTS)
    if not mentees.filter(pk=student.pk).exists():
        raise DomainError(_("You cannot report about this student."))
    return _record(
        actor=actor,
        student=student,
        what_seen=what_seen,
        seen_on=seen_on,
        urgency=urgency,
        source=Source.MENTOR,
    )


def _record(
    *,
    actor: User,
    student: Student,
    what_seen: str,
    seen_on: datetime.date,
    urgency: str,
    source: Source,
) -> Concern:
    if not what_seen.strip():
        raise DomainError(_("Please describe what you saw or heard."), field="what_seen")
    if seen_on > timezone.localdate():
        raise DomainError(_("The date cannot be in the future."), field="seen_on")
    concern = Concern.objects.create(
        student=student,
        school_id=student.school_id,
        reporter=actor,
        source=source,
        what_seen=what_seen.strip(),
        seen_on=seen_on,
        urgency=urgency,
        created_at=timezone.now(),
    )
    record_event(
        actor=actor,
        action="alerts.concern.filed",
        obj=concern,
        fields={"student": str(student.code), "urgency": urgency, "source": source.value},
    )
    alert = raise_alert(
        student=student,
        level=URGENCY_LEVEL[urgency],
        source=source,
        evidence={"concern": str(concern.code), "urgency": urgency},
        rule=f"concern.{urgency}",
        concern=concern,
        actor=actor,
    )
    concern.alert = alert
    concern.save(update_fields=["alert"])
    return concern
