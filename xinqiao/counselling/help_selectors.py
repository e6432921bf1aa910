"""Reads of students' help requests and of the student page.

Who sees a help request (Cap.RESPOND_TO_HELP): the counsellor it went to; the psychology
teachers of its school; a station's counsellors the requests of their district's schools that
escalated to the station (or went to them); a school leader their school's requests that
escalated to them. Nobody else, whatever their role."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from xinqiao.access.roles import Cap, Role
from xinqiao.access.scope import Principal
from xinqiao.orgs.models import Kind, OrgUnit, subtree_q
from xinqiao.people.models import Student

from .models import HOLDING, Appointment, HelpRequest
from .selectors import counsellors_of, free_slots


def _visible_q(principal: Principal) -> Q:
    q = Q(owner_id=principal.user_id)
    for grant in principal.grants_with(Cap.RESPOND_TO_HELP):
        unit = grant.unit
        if grant.role == Role.PSYCHOLOGY_TEACHER and unit.kind == Kind.SCHOOL:
            q |= Q(school_id=unit.pk)
        elif grant.role == Role.SCHOOL_ADMIN and unit.kind == Kind.SCHOOL:
            q |= Q(school_id=unit.pk, escalation_step__gte=2)
        elif unit.kind in (Kind.STATION, Kind.CENTRE):
            q |= subtree_q(grant.area, field="school__path") & Q(escalation_step__gte=3)
    return q


def help_requests(principal: Principal) -> QuerySet[HelpRequest]:
    if principal.user is None or not principal.can(Cap.RESPOND_TO_HELP):
        return HelpRequest.objects.none()
    return HelpRequest.objects.filter(_visible_q(principal)).select_related(
        "student", "student__school_class", "school", "owner", "acknowledged_by", "appointment"
    )


def open_help_requests(principal: Principal, *, limit: int = 100) -> list[HelpRequest]:
    rows = help_requests(principal).filter(closed_at__isnull=True)
    return list(rows.order_by("-urgent", "respond_by", "pk")[:limit])


def recently_closed(principal: Principal, *, limit: int = 20) -> list[HelpRequest]:
    since = timezone.now() - datetime.timedelta(days=30)
    rows = help_requests(principal).filter(closed_at__gte=since)
    return list(rows.order_by("-closed_at")[:limit])


def get_help_request(*, principal: Principal, code: Any) -> HelpRequest:
    row = help_requests(principal).filter(code=code).first()
    if row is None:
        raise Http404
    return row


def may_counsel(principal: Principal, help_request: HelpRequest) -> bool:
    """Book a session for it: a counsellor (not a school leader)."""
    return principal.can(Cap.COUNSEL)


# --- the student's own page -------------------------------------------------------------------
def student_appointments(student: Student) -> list[Appointment]:
    """The student's upcoming open appointments, whoever booked them (the student is told)."""
    start = timezone.now() - datetime.timedelta(hours=1)
    return list(
        Appointment.objects.filter(student=student, status__in=HOLDING, ends_at__gte=start)
        .select_related("counsellor", "counsellor__staff", "room")
        .order_by("starts_at")[:20]
    )


def student_appointment(student: Student, code: Any) -> Appointment:
    row = Appointment.objects.filter(student=student, code=code).first()
    if row is None:
        raise Http404
    return row


def student_help_requests(student: Student) -> list[HelpRequest]:
    since = timezone.now() - datetime.timedelta(days=30)
    return list(HelpRequest.objects.filter(student=student, created_at__gte=since)[:10])


def school_counsellors(school: OrgUnit) -> list[Any]:
    return counsellors_of(school)


def free_times(
    school: OrgUnit, counsellors: list[Any], days: int = 14
) -> list[tuple[Any, list[Any]]]:
    """The next `days` days' free times of each counsellor of the school: [(counsellor,
    [FreeSlot…])] for the counsellors with any."""
    today = timezone.localdate()
    out = []
    for counsellor in counsellors:
        slots = []
        for offset in range(days):
            slots += free_slots(
                unit=school, counsellor=counsellor, day=today + datetime.timedelta(days=offset)
            )
        if slots:
            out.append((counsellor, slots[:30]))
    return out
