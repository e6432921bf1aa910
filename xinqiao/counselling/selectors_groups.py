"""Reads of group programmes, the hotline log and case conferences (docs/counselling.md, "Group
programmes, hotline, case conferences"), from the access layer's principal.

Who sees what:
- A programme: the counsellors of its unit (a COUNSEL grant there) and its facilitators keep it
  and see its members, attendance and session records; whoever sees the unit's counselling (the
  school leader, the station, the district and city) sees the programme and its counts, never its
  members; a head teacher sees the programmes their class takes part in, and only that.
- Incident group sessions (cases.Incident's GroupSession) appear in the group list as one kind
  of group session, through cases' public selector `visible_incidents` (their tables stay there).
- The hotline log: the counsellors of the station or centre that took the calls.
- A case conference: its author and its participants, nobody else.

The workload page reads `group_session_hours` and `hotline_calls` ({user_id: …}).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404

from xinqiao.access.roles import Cap
from xinqiao.access.scope import Principal
from xinqiao.orgs.models import Kind, OrgUnit

from .models import (
    COUNSELLING_UNIT_KINDS,
    CaseConference,
    GroupProgramme,
    HotlineCall,
    ProgrammeSession,
    RoomKind,
)
from .selectors import counselling_units_of, rooms_of

HOTLINE_UNIT_KINDS = frozenset({Kind.STATION, Kind.CENTRE})


# --- group programmes -------------------------------------------------------------------------
def keeper_units(principal: Principal) -> list[OrgUnit]:
    """The units whose programmes the user keeps: their own COUNSEL grants."""
    return counselling_units_of(principal, Cap.COUNSEL)


def _head_teacher_classes(principal: Principal) -> list[int]:
    return [
        g.unit.pk for g in principal.grants_with(Cap.BOOK_COUNSELLING) if g.unit.kind == Kind.CLASS
    ]


def programmes(principal: Principal) -> QuerySet[GroupProgramme]:
    """The programmes this user may see, with their member and session counts."""
    if principal.user is None or not principal.can(Cap.VIEW_COUNSELLING):
        return GroupProgramme.objects.none()
    units = principal.units(Cap.VIEW_COUNSELLING).filter(kind__in=COUNSELLING_UNIT_KINDS)
    q = Q(unit__in=units) | Q(facilitators=principal.user_id)
    classes = _head_teacher_classes(principal)
    if classes:
        q |= Q(members__student__school_class_id__in=classes)
    visible = GroupProgramme.objects.filter(q).values("pk")
    return (
        GroupProgramme.objects.filter(pk__in=visible)
        .select_related("unit")
        .annotate(
            member_count=Count("members", distinct=True),
            session_count=Count("sessions", distinct=True),
        )
    )


def get_programme(*, principal: Principal, code: Any) -> GroupProgramme:
    programme = programmes(principal).filter(code=code).first()
    if programme is None:
        raise Http404
    return programme


def may_keep(principal: Principal, programme: GroupProgramme) -> bool:
    """The unit's counsellors and the programme's facilitators keep it (members, records)."""
    if any(u.pk == programme.unit_id for u in keeper_units(principal)):
        return True
    user_id = principal.user_id
    return user_id is not None and programme.facilitators.filter(pk=user_id).exists()


def sees_counts(principal: Principal, programme: GroupProgramme) -> bool:
    """Counts are for those who see the unit's counselling (not a head teacher's class view)."""
    return principal.sees_unit(programme.unit, Cap.VIEW_COUNSELLING)


def class_takes_part(principal: Principal, programme: GroupProgramme) -> bool:
    classes = _head_teacher_classes(principal)
    return bool(classes) and programme.members.filter(student__school_class_id__in=classes).exists()


def members(programme: GroupProgramme) -> list[Any]:
    return list(
        programme.members.select_related("student", "student__school_class").order_by(
            "student__school_class__path", "student__name", "pk"
        )
    )


def sessions(programme: GroupProgramme) -> list[ProgrammeSession]:
    return list(
        programme.sessions.select_related("room").annotate(
            present_count=Count("attendance", filter=Q(attendance__present=True))
        )
    )


def get_session(*, principal: Principal, code: Any) -> ProgrammeSession:
    """A session of a programme the user keeps (404 when they do not see it, else 403)."""
    from django.core.exceptions import PermissionDenied

    session = ProgrammeSession.objects.select_related("programme", "room").filter(code=code).first()
    if session is None or not programmes(principal).filter(pk=session.programme_id).exists():
        raise Http404
    if not may_keep(principal, session.programme):
        raise PermissionDenied
    return session


def attendance_of(session: ProgrammeSession) -> dict[int, bool]:
    return dict(session.attendance.values_list("student_id", "present"))


def group_rooms(unit: OrgUnit) -> QuerySet[Any]:
    return rooms_of(unit).filter(kind=RoomKind.GROUP)


def incident_group_sessions(principal: Principal, *, limit: int = 50) -> list[Any]:
    """The incident group sessions (cases) the user sees: the incidents of the schools where
    they run cases. One kind of group session in the group list (incident support)."""
    if not principal.can(Cap.HANDLE_CASES):
        return []
    from xinqiao.cases.models import GroupSession
    from xinqiao.cases.selectors.schooling import visible_incidents

    incidents = visible_incidents(principal=principal).values("pk")
    return list(
        GroupSession.objects.filter(incident__in=incidents)
        .select_related("incident", "facilitator__staff")
        .annotate(participant_count=Count("participants"))
        .order_by("-held_at", "-id")[:limit]
    )


# --- the hotline log --------------------------------------------------------------------------
def hotline_units(principal: Principal) -> list[OrgUnit]:
    """The stations and the centre whose hotline the user answers."""
    return [u for u in counselling_units_of(principal, Cap.COUNSEL) if u.kind in HOTLINE_UNIT_KINDS]


def calls(principal: Principal) -> QuerySet[HotlineCall]:
    units = [u.pk for u in hotline_units(principal)]
    return HotlineCall.objects.filter(unit_id__in=units).select_related(
        "unit", "student", "student__school", "taken_by__staff"
    )


def get_call(*, principal: Principal, code: Any) -> HotlineCall:
    call = calls(principal).filter(code=code).first()
    if call is None:
        raise Http404
    return call


# --- case conferences -------------------------------------------------------------------------
def conferences(principal: Principal) -> QuerySet[CaseConference]:
    if principal.user is None:
        return CaseConference.objects.none()
    user_id = principal.user_id
    visible = CaseConference.objects.filter(Q(author_id=user_id) | Q(participants=user_id))
    return CaseConference.objects.filter(pk__in=visible.values("pk")).select_related(
        "unit", "author__staff"
    )


def get_conference(*, principal: Principal, code: Any) -> CaseConference:
    conference = conferences(principal).filter(code=code).first()
    if conference is None:
        raise Http404
    return conference


def conference_units(principal: Principal) -> list[OrgUnit]:
    return counselling_units_of(principal, Cap.COUNSEL)


def conference_people(conference: CaseConference) -> list[Any]:
    """The author and the participants: who may own a follow-up action."""
    people = {conference.author_id: conference.author}
    for user in conference.participants.select_related("staff"):
        people.setdefault(user.pk, user)
    return list(people.values())


# --- workload (read by the workload page) -----------------------------------------------------
def _ids(users: Iterable[Any]) -> list[int]:
    return [int(getattr(u, "pk", u)) for u in users]


def group_session_hours(
    users: Iterable[Any], since: datetime.datetime, until: datetime.datetime
) -> dict[int, float]:
    """Hours of programme sessions each user facilitated (a facilitator of the programme) that
    started in [since, until): {user_id: hours}. Incident group sessions carry no duration and
    are not counted."""
    ids = _ids(users)
    out = dict.fromkeys(ids, 0.0)
    rows = ProgrammeSession.objects.filter(
        starts_at__gte=since, starts_at__lt=until, programme__facilitators__in=ids
    ).values_list("programme__facilitators", "starts_at", "ends_at")
    for user_id, starts, ends in rows:
        out[user_id] += (ends - starts).total_seconds() / 3600
    return {k: round(v, 2) for k, v in out.items()}


def hotline_calls(
    users: Iterable[Any], since: datetime.datetime, until: datetime.datetime
) -> dict[int, dict[str, int]]:
    """Calls and chats each user took that started in [since, until): {user_id: {"count": n,
    "minutes": m}}."""
    ids = _ids(users)
    out = {pk: {"count": 0, "minutes": 0} for pk in ids}
    rows = (
        HotlineCall.objects.filter(taken_by__in=ids, started_at__gte=since, started_at__lt=until)
        .values("taken_by")
        .annotate(n=Count("pk"), m=Sum("minutes"))
    )
    for row in rows:
        out[row["taken_by"]] = {"count": row["n"], "minutes": row["m"] or 0}
    return out
