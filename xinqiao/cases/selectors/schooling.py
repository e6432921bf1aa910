"""Reads for suspension and return (R10), transfers through the district station, special-period
sweeps (R7) and incidents (R8).

Scope rules (the views never filter by hand):
- schooling changes belong to a case: whoever sees the case (selectors.common.get_case) sees that
  they happened; the texts (reason, medical opinion, assessment, plan) only with can_read_notes;
- sweeps and incidents belong to a school: the school's psychology teachers (`handle_cases`);
- a transfer is seen by the sending school's psychology teachers (through the case), by the
  counselling station of the receiving school's district (`forward_transfers`) and, once the
  station has forwarded it, by the receiving school's psychology teachers — who see the case itself
  only after they accept it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.http import Http404

from xinqiao.access.roles import Cap, Role
from xinqiao.access.scope import Principal
from xinqiao.orgs.models import Kind, OrgUnit, subtree_q
from xinqiao.people.models import Student, StudentStatus
from xinqiao.people.search import number_hash

from ..models import (
    Case,
    CaseStatus,
    CaseTransfer,
    Incident,
    SchoolingChange,
    SchoolingChangeKind,
    Sweep,
    SweepReview,
    TransferStatus,
)
from .common import visible_cases

PENDING_TRANSFER = (TransferStatus.REQUESTED, TransferStatus.FORWARDED)


# --- who may act where ------------------------------------------------------------------------


def handler_areas(principal: Principal) -> list[OrgUnit]:
    """Areas where the user runs cases: their psychology-teacher grants."""
    return [
        g.area for g in principal.grants_with(Cap.HANDLE_CASES) if g.role == Role.PSYCHOLOGY_TEACHER
    ]


def can_handle_school(principal: Principal, school: OrgUnit) -> bool:
    return any(area.contains(school) for area in handler_areas(principal))


def handled_schools(principal: Principal) -> QuerySet[OrgUnit]:
    """Schools where the user may start a sweep or record an incident."""
    areas = handler_areas(principal)
    return OrgUnit.objects.filter(subtree_q(*areas), kind=Kind.SCHOOL, is_active=True).order_by(
        "path"
    )


def station_areas(principal: Principal) -> list[OrgUnit]:
    """Districts whose transfers the user forwards: station-counsellor grants at a station."""
    return [
        g.area for g in principal.grants_with(Cap.FORWARD_TRANSFERS) if g.unit.kind == Kind.STATION
    ]


def can_forward(principal: Principal, transfer: CaseTransfer) -> bool:
    return any(area.contains(transfer.station) for area in station_areas(principal))


def station_for(school: OrgUnit) -> OrgUnit | None:
    """The counselling station of the school's district (the nearest district above it)."""
    districts = [u for u in school.ancestors() if u.kind == Kind.DISTRICT]
    if not districts:
        return None
    return (
        OrgUnit.objects.filter(parent=districts[-1], kind=Kind.STATION, is_active=True)
        .order_by("sort_order", "path")
        .first()
    )


# --- suspension and return --------------------------------------------------------------------


def schooling_history(case: Case) -> list[SchoolingChange]:
    return list(
        SchoolingChange.objects.filter(case=case)
        .select_related("recorded_by__staff")
        .prefetch_related("documents")
        .order_by("-effective_on", "-id")
    )


def open_suspension(case: Case) -> SchoolingChange | None:
    """The suspension the student is in now (the latest one, when the student is suspended)."""
    if case.student.status != StudentStatus.SUSPENDED:
        return None
    return (
        SchoolingChange.objects.filter(
            student_id=case.student_id, kind=SchoolingChangeKind.SUSPENSION
        )
        .order_by("-effective_on", "-id")
        .first()
    )


# --- transfers --------------------------------------------------------------------------------


def pending_transfer(case: Case) -> CaseTransfer | None:
    return (
        CaseTransfer.objects.filter(case=case, status__in=PENDING_TRANSFER)
        .select_related("to_school", "station")
        .first()
    )


def case_transfers(case: Case) -> list[CaseTransfer]:
    return list(
        CaseTransfer.objects.filter(case=case).select_related(
            "from_school", "to_school", "station", "requested_by__staff", "accepted_by__staff"
        )
    )


def needs_transfer(*, principal: Principal) -> QuerySet[Case]:
    """Open cases the user's schools hold for students the roster has moved to another school,
    with no transfer under way: the sending psychology teacher's to-do list."""
    pending = CaseTransfer.objects.filter(case=OuterRef("pk"), status__in=PENDING_TRANSFER)
    return (
        visible_cases(principal=principal, cap=Cap.HANDLE_CASES)
        .filter(status=CaseStatus.OPEN)
        .exclude(student__school_id=F("school_id"))
        .exclude(Exists(pending))
        .select_related("student__school", "student__school_class", "school")
        .order_by("student__name", "pk")
    )


def _with_parties(qs: QuerySet[CaseTransfer]) -> QuerySet[CaseTransfer]:
    return qs.select_related(
        "case",
        "case__student",
        "case__student__school_class",
        "from_school",
        "to_school",
        "station",
        "requested_by__staff",
        "forwarded_by__staff",
        "accepted_by__staff",
    )


def outgoing_transfers(*, principal: Principal) -> QuerySet[CaseTransfer]:
    """Transfers under way of cases the user's schools still hold."""
    areas = handler_areas(principal)
    return _with_parties(
        CaseTransfer.objects.filter(
            subtree_q(*areas, field="from_school__path"), status__in=PENDING_TRANSFER
        )
    )


def incoming_transfers(*, principal: Principal) -> QuerySet[CaseTransfer]:
    """Transfers the station has forwarded to the user's schools, waiting for acceptance."""
    areas = handler_areas(principal)
    return _with_parties(
        CaseTransfer.objects.filter(
            subtree_q(*areas, field="to_school__path"), status=TransferStatus.FORWARDED
        )
    )


def station_transfers(*, principal: Principal) -> QuerySet[CaseTransfer]:
    """Every transfer routed through the user's station(s), newest first."""
    areas = station_areas(principal)
    return _with_parties(CaseTransfer.objects.filter(subtree_q(*areas, field="station__path")))


def get_transfer_to_forward(*, principal: Principal, code: Any) -> CaseTransfer:
    """The case's transfer waiting at the user's station: 403 without the capability, 404 when
    there is none in the user's scope."""
    principal.require(Cap.FORWARD_TRANSFERS)
    transfer = (
        station_transfers(principal=principal)
        .filter(case__code=code, status=TransferStatus.REQUESTED)
        .first()
    )
    if transfer is None:
        raise Http404
    return transfer


def get_transfer_to_accept(*, principal: Principal, code: Any) -> CaseTransfer:
    """The case's forwarded transfer to one of the user's schools (the case itself stays out of
    their scope until they accept it)."""
    principal.require(Cap.HANDLE_CASES)
    transfer = incoming_transfers(principal=principal).filter(case__code=code).first()
    if transfer is None:
        raise Http404
    return transfer


# --- sweeps -----------------------------------------------------------------------------------


def visible_sweeps(*, principal: Principal) -> QuerySet[Sweep]:
    areas = handler_areas(principal)
    reviewed = Count("reviews", filter=Q(reviews__reviewed_at__isnull=False))
    return (
        Sweep.objects.filter(subtree_q(*areas, field="school__path"))
        .select_related("school", "campaign", "started_by__staff")
        .annotate(total=Count("reviews"), reviewed=reviewed)
        .order_by("-started_at", "-id")
    )


def get_sweep(*, principal: Principal, code: Any) -> Sweep:
    principal.require(Cap.HANDLE_CASES)
    sweep = visible_sweeps(principal=principal).filter(code=code).first()
    if sweep is None:
        raise Http404
    return sweep


def sweep_reviews(sweep: Sweep) -> QuerySet[SweepReview]:
    """The sweep's reviews of cases the school still holds (a case transferred away since has
    left the school's scope)."""
    return (
        SweepReview.objects.filter(sweep=sweep, case__school_id=sweep.school_id)
        .select_related("case__student__school_class", "reviewed_by__staff")
        .order_by(
            F("reviewed_at").asc(nulls_first=True),
            "case__student__school_class__path",
            "case__student__name",
        )
    )


def sweep_progress(sweep: Sweep) -> dict[str, int]:
    counts = SweepReview.objects.filter(sweep=sweep, case__school_id=sweep.school_id).aggregate(
        total=Count("pk"), reviewed=Count("pk", filter=Q(reviewed_at__isnull=False))
    )
    total, reviewed = counts["total"] or 0, counts["reviewed"] or 0
    return {
        "total": total,
        "reviewed": reviewed,
        "percent": round(reviewed * 100 / total) if total else 100,
    }


def get_sweep_review(*, sweep: Sweep, case_code: Any) -> SweepReview:
    review = sweep_reviews(sweep).filter(case__code=case_code).first()
    if review is None:
        raise Http404
    return review


# --- incidents --------------------------------------------------------------------------------


def visible_incidents(*, principal: Principal) -> QuerySet[Incident]:
    areas = handler_areas(principal)
    return (
        Incident.objects.filter(subtree_q(*areas, field="school__path"))
        .select_related("school", "campaign", "recorded_by__staff")
        .annotate(affected_count=Count("affected", distinct=True))
        .order_by("-occurred_on", "-id")
    )


def get_incident(*, principal: Principal, code: Any) -> Incident:
    principal.require(Cap.HANDLE_CASES)
    incident = visible_incidents(principal=principal).filter(code=code).first()
    if incident is None:
        raise Http404
    return incident


def affected_students(incident: Incident) -> QuerySet[Student]:
    return incident.affected.select_related("school_class").order_by(
        "school_class__path", "name", "pk"
    )


def group_sessions(incident: Incident) -> list[Any]:
    return list(
        incident.group_sessions.select_related("facilitator__staff")
        .annotate(participant_count=Count("participants"))
        .order_by("-held_at", "-id")
    )


# --- picking a group of students in a school --------------------------------------------------


def school_classes(school: OrgUnit) -> QuerySet[OrgUnit]:
    return (
        OrgUnit.objects.filter(subtree_q(school), kind=Kind.CLASS, is_active=True)
        .select_related("parent")
        .order_by("path")
    )


def school_classes_of(schools: QuerySet[OrgUnit]) -> QuerySet[OrgUnit]:
    """Active classes of the given schools (for the group pickers)."""
    return (
        OrgUnit.objects.filter(kind=Kind.CLASS, is_active=True, school__in=schools)
        .select_related("parent")
        .order_by("path")
    )


def students_by_number(school: OrgUnit, numbers: list[str]) -> tuple[list[Student], list[str]]:
    """Students of the school by national student number; also the numbers not found there."""
    wanted = [n.strip().upper() for n in numbers if n.strip()]
    found = {
        s.student_number.upper(): s
        for s in Student.objects.filter(
            school=school,
            student_number_hash__in=[number_hash(n) for n in wanted],
            status__in=[StudentStatus.ENROLLED, StudentStatus.SUSPENDED],
        ).select_related("school")
    }
    missing = [n for n in dict.fromkeys(wanted) if n not in found]
    return list(found.values()), missing


def facilitators(school: OrgUnit) -> QuerySet[Any]:
    """Who may lead a group session for the school: its staff and its district's station."""
    from django.contrib.auth import get_user_model

    from xinqiao.access.models import RoleAssignment

    station = station_for(school)
    units = subtree_q(school, field="org_unit__path")
    if station is not None:
        units |= Q(org_unit=station)
    assignments = RoleAssignment.objects.active().filter(
        units,
        role__in=[
            Role.PSYCHOLOGY_TEACHER,
            Role.SCHOOL_ADMIN,
            Role.HEAD_TEACHER,
            Role.MENTOR,
            Role.STATION_COUNSELLOR,
        ],
    )
    return (
        get_user_model()
        .objects.filter(is_active=True, pk__in=assignments.values("user_id"))
        .select_related("staff")
        .order_by("username")
    )
