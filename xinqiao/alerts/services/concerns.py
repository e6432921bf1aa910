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
}


@transaction.atomic
def file_concern(
    *,
    actor: User,
    student: Student,
    what_seen: str,
    seen_on: datetime.date,
    urgency: str,
) -> Concern:
    """A human report. It raises (or attaches to) an alert at the level its urgency implies:
    a current plan, attempt or means is red."""
    from xinqiao.access.scope import principal_for

    from ..selectors import concern_students

    principal = principal_for(actor)
    if not concern_students(principal=principal).filter(pk=student.pk).exists():
        raise DomainError(_("You cannot report about this student."))
    if not what_seen.strip():
        raise DomainError(_("Please describe what you saw or heard."), field="what_seen")
    if seen_on > timezone.localdate():
        raise DomainError(_("The date cannot be in the future."), field="seen_on")
    role = next((r for r in principal.roles if r in ROLE_SOURCE), "")
    source = ROLE_SOURCE.get(role, Source.OTHER)
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
        fields={"student": str(student.code), "urgency": urgency},
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
