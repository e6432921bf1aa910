"""Reads of counselling sessions at the reader's tier, confidentiality breaks and supervision
(docs/counselling.md, "Sessions and confidentiality", "Supervision")."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from xinqiao.access.holders import users_with_role
from xinqiao.access.roles import Cap, Role, Tier
from xinqiao.access.scope import Principal
from xinqiao.cases.models import Case as CaseModel
from xinqiao.cases.models import TeamTier
from xinqiao.orgs.models import Kind, OrgUnit

from .models import (
    Appointment,
    ConfidentialityBreak,
    Session,
    SupervisionRequest,
    SupervisionStatus,
)
from .selectors import _district_stations


# --- sessions, confidentiality and supervision ----------------------------------------------------
class Access:
    """How much of a session a user may read (docs/counselling.md, "Sessions and
    confidentiality")."""

    NONE = 0
    SUMMARY = 1  # the case team of the student's open case: date, length, channel, summary
    NOTES = 2  # the author and the author's supervisor: everything, the process notes included


def _supervised_session_ids(user_id: Any) -> QuerySet[Any]:
    return SupervisionRequest.sessions.through.objects.filter(
        supervisionrequest__supervisor_id=user_id
    ).values("session_id")


def _open_case(student_id: int) -> Any | None:
    """The student's open high-care case (the cases app's public model)."""
    return CaseModel.objects.open().filter(student_id=student_id).first()


def case_team_ids(case: Any) -> set[int]:
    """Who reads a session's summary for the student of `case`: its owner and its level-1 team
    (moral-education leader, psychology teachers). Level-2 and level-3 members (head teacher,
    mentors, committee members) see at most that counselling happens."""
    ids = {case.owner_id} if case.owner_id else set()
    ids |= set(
        case.team.filter(removed_at__isnull=True, tier=TeamTier.SCHOOL).values_list(
            "user_id", flat=True
        )
    )
    return ids


def session_access(principal: Principal, session: Session) -> int:
    user_id = principal.user_id
    if user_id is None:
        return Access.NONE
    if session.counsellor_id == user_id:
        return Access.NOTES
    if SupervisionRequest.objects.filter(supervisor_id=user_id, sessions=session).exists():
        return Access.NOTES
    if not principal.can(Cap.VIEW_COUNSELLING):
        return Access.NONE
    case = _open_case(session.student_id)
    if case is not None and user_id in case_team_ids(case):
        if principal.tier_for(session.student) >= Tier.T2:
            return Access.SUMMARY
    return Access.NONE


def get_session(*, principal: Principal, code: Any) -> tuple[Session, int]:
    """A session and how much of it the user reads: 404 when nothing."""
    session = (
        Session.objects.select_related(
            "student", "student__school_class", "counsellor__staff", "unit", "appointment"
        )
        .filter(code=code)
        .first()
    )
    if session is None:
        raise Http404
    access = session_access(principal, session)
    if access == Access.NONE:
        raise Http404
    return session, access


def my_sessions(principal: Principal, *, limit: int = 100) -> list[Session]:
    """The sessions the user recorded, newest first."""
    return list(
        Session.objects.filter(counsellor_id=principal.user_id).select_related(
            "student", "student__school_class", "unit"
        )[:limit]
    )


def supervised_sessions(principal: Principal, *, limit: int = 100) -> list[Session]:
    return list(
        Session.objects.filter(pk__in=_supervised_session_ids(principal.user_id))
        .select_related("student", "student__school_class", "counsellor__staff")
        .distinct()[:limit]
    )


def session_for_appointment(appointment: Appointment) -> Session | None:
    return Session.objects.filter(appointment=appointment).first()


def breaks_of(session: Session) -> list[ConfidentialityBreak]:
    return list(session.breaks.select_related("decided_by__staff"))


def leader_schools(principal: Principal) -> list[OrgUnit]:
    """The schools whose confidentiality breaks the user sees as a fact: the school leader's."""
    return [
        g.unit
        for g in principal.grants_with(Cap.VIEW_COUNSELLING)
        if g.role == Role.SCHOOL_ADMIN and g.unit.kind == Kind.SCHOOL
    ]


def school_breaks(principal: Principal, *, limit: int = 200) -> list[ConfidentialityBreak]:
    """The breaks of confidentiality at the school leader's schools: the fact (session date,
    student, who decided, the coded reason, whom it was disclosed to, when), never the notes."""
    schools = leader_schools(principal)
    if not schools:
        raise PermissionDenied
    return list(
        ConfidentialityBreak.objects.filter(school__in=schools).select_related(
            "session", "session__student", "session__student__school_class", "decided_by__staff"
        )[:limit]
    )


def counselling_fact(principal: Principal, student: Any) -> tuple[int, Any] | None:
    """(number of sessions, date of the last) for the student's head teacher and school leader:
    that counselling happens, no content. None for everyone else."""
    ok = False
    for grant in principal.grants_with(Cap.VIEW_COUNSELLING):
        if grant.role == Role.HEAD_TEACHER and grant.unit.pk == student.school_class_id:
            ok = True
        elif grant.role == Role.SCHOOL_ADMIN and grant.unit.pk == student.school_id:
            ok = True
    if not ok:
        return None
    rows = Session.objects.filter(school_id=student.school_id, student_id=student.pk)
    count = rows.count()
    if not count:
        return None
    return count, timezone.localtime(rows.order_by("-starts_at")[0].starts_at).date()


def archive_sessions(principal: Principal, student: Any) -> list[tuple[Session, int]]:
    """The student's sessions the user may read (author, supervisor, case team), newest first."""
    rows = Session.objects.filter(school_id=student.school_id, student_id=student.pk)
    rows = rows.select_related("counsellor__staff", "unit")
    out = []
    for session in rows[:200]:
        access = session_access(principal, session)
        if access != Access.NONE:
            out.append((session, access))
    return out


def supervisors_for(user: Any) -> list[Any]:
    """Who may supervise `user`: the counsellors (station counsellors, psychology teachers) of
    the stations of the districts where `user` counsels, and of the city centre — those holding
    SUPERVISE_COUNSELLING there. Not the user themself. Experts of the pool are not offered:
    their access is the case invitation (partners), not a counsellor's notes."""
    from xinqiao.access.roles import role_has
    from xinqiao.access.scope import principal_for

    units: dict[int, OrgUnit] = {}
    for grant in principal_for(user).grants_with(Cap.COUNSEL):
        unit = grant.unit
        if unit.kind == Kind.SCHOOL:
            for station in _district_stations(unit):
                units[station.pk] = station
        elif unit.kind == Kind.STATION:
            units[unit.pk] = unit
    for centre in OrgUnit.objects.filter(kind=Kind.CENTRE, is_active=True):
        units[centre.pk] = centre
    people: dict[int, Any] = {}
    for unit in units.values():
        for role in (Role.STATION_COUNSELLOR, Role.PSYCHOLOGY_TEACHER):
            if not role_has(role, Cap.SUPERVISE_COUNSELLING):
                continue
            for person in users_with_role(role, [unit]):
                if person.pk != user.pk and person.is_active:
                    people.setdefault(person.pk, person)
    return list(people.values())


def supervisions(principal: Principal) -> tuple[list[SupervisionRequest], list[SupervisionRequest]]:
    """(asked by the user, asked of the user), newest first."""
    rows = SupervisionRequest.objects.select_related("supervisee__staff", "supervisor__staff")
    return (
        list(rows.filter(supervisee_id=principal.user_id)[:100]),
        list(rows.filter(supervisor_id=principal.user_id)[:100]),
    )


def get_supervision(*, principal: Principal, code: Any) -> SupervisionRequest:
    """A supervision request: its supervisee and its supervisor only (else 404)."""
    row = (
        SupervisionRequest.objects.select_related("supervisee__staff", "supervisor__staff")
        .filter(code=code)
        .filter(Q(supervisee_id=principal.user_id) | Q(supervisor_id=principal.user_id))
        .first()
    )
    if row is None:
        raise Http404
    return row


def supervision_sessions(request: SupervisionRequest) -> list[Session]:
    return list(
        request.sessions.select_related("student", "student__school_class", "unit").order_by(
            "starts_at"
        )
    )


def supervision_hours(
    users: Iterable[Any], since: datetime.datetime, until: datetime.datetime
) -> dict[int, dict[str, float]]:
    """Supervision given and received per user, in hours, for advice recorded in [since,
    until): {user id: {"given": h, "received": h}} (every user asked about appears, zeros
    included). The workload page reads it."""
    ids = [u if isinstance(u, int) else u.pk for u in users]
    out: dict[int, dict[str, float]] = {pk: {"given": 0.0, "received": 0.0} for pk in ids}
    rows = SupervisionRequest.objects.filter(
        status=SupervisionStatus.GIVEN, given_at__gte=since, given_at__lt=until
    ).filter(Q(supervisor_id__in=ids) | Q(supervisee_id__in=ids))
    for supervisor_id, supervisee_id, minutes in rows.values_list(
        "supervisor_id", "supervisee_id", "minutes"
    ):
        hours = (minutes or 0) / 60
        if supervisor_id in out:
            out[supervisor_id]["given"] += hours
        if supervisee_id in out:
            out[supervisee_id]["received"] += hours
    return {pk: {k: round(v, 2) for k, v in row.items()} for pk, row in out.items()}
