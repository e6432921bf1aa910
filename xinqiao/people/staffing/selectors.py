"""Reads of staff records for the staff pages and the API, through the access layer: a record
outside the user's staff scope is a 404; in their view scope but not their edit scope a 403."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404

from xinqiao.access.roles import Cap
from xinqiao.access.scope import Principal
from xinqiao.orgs.models import Kind, OrgUnit, subtree_q

from ..models import CoverageArrangement, Position, Qualification, Staff, StaffPosition
from ..selectors import RatioRow, psychology_ratio

STAFF_UNIT_KINDS = (Kind.SCHOOL, Kind.STATION, Kind.CENTRE, Kind.DISTRICT, Kind.CITY)


def get_staff(*, principal: Principal, code: Any, cap: str = Cap.VIEW_STAFF) -> Staff:
    staff = (
        principal.staff(Cap.VIEW_STAFF)
        .filter(code=code)
        .select_related("org_unit", "user")
        .prefetch_related(
            Prefetch(
                "positions",
                queryset=StaffPosition.objects.select_related("org_unit").order_by(
                    "end_date", "-start_date", "pk"
                ),
            ),
            Prefetch("qualifications", queryset=Qualification.objects.order_by("kind", "pk")),
        )
        .first()
    )
    if staff is None:
        raise Http404
    if cap != Cap.VIEW_STAFF and not principal.staff(cap).filter(pk=staff.pk).exists():
        raise PermissionDenied
    return staff


def editable_units(*, principal: Principal) -> QuerySet[OrgUnit]:
    """Units a staff record may be placed at by this user (their edit scope)."""
    return (
        principal.units(Cap.EDIT_STAFF)
        .filter(kind__in=STAFF_UNIT_KINDS, is_active=True)
        .order_by("path")
    )


def can_edit(*, principal: Principal, staff: Staff) -> bool:
    return principal.staff(Cap.EDIT_STAFF).filter(pk=staff.pk).exists()


def open_invitation_of(staff: Staff) -> Any:
    from django.utils import timezone

    return (
        staff.invitations.filter(
            used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )
        .order_by("-created_at")
        .first()
    )


# --- coverage -------------------------------------------------------------------------------
# Coverage rules of the seed (§5, R12), computed from entered posts (StaffPosition, current ones):
#
# - schools: 1 psychology teacher per 800 students; over 800 students at least one full-time one;
#   a smaller school without its own is covered by a named supporting school or station
#   (CoverageArrangement, current) — people.selectors.psychology_ratio / RatioRow;
# - districts: each counselling station has full-time staff (a current station-counsellor or
#   full-time psychology-teacher post at the station); the district's teacher-development centre
#   has at least one research teacher (心理教研员: a current research-teacher post at the district
#   office or below it).
STATION_FULL_TIME = (Position.STATION_COUNSELLOR, Position.PSYCHOLOGY_TEACHER_FULL)


def school_coverage(*, principal: Principal, limit: int = 500) -> list[RatioRow]:
    return psychology_ratio(principal=principal, limit=limit)


@dataclass
class DistrictRow:
    district: OrgUnit
    stations: list[tuple[OrgUnit, int]] = field(default_factory=list)  # station, full-time staff
    research_teachers: int = 0

    @property
    def stations_without_staff(self) -> list[OrgUnit]:
        return [s for s, n in self.stations if n == 0]

    @property
    def short(self) -> bool:
        return not self.stations or bool(self.stations_without_staff) or not self.research_teachers


def district_coverage(*, principal: Principal, limit: int = 100) -> list[DistrictRow]:
    units = principal.units(Cap.VIEW_STAFF)
    districts = list(units.filter(kind=Kind.DISTRICT, is_active=True).order_by("path")[:limit])
    if not districts:
        return []
    rows = {d.pk: DistrictRow(d) for d in districts}
    stations = list(
        OrgUnit.objects.filter(subtree_q(*districts), kind=Kind.STATION, is_active=True).order_by(
            "path"
        )
    )
    staffed = dict(
        StaffPosition.objects.current()
        .filter(org_unit__in=stations, position__in=STATION_FULL_TIME, staff__is_active=True)
        .order_by()
        .values_list("org_unit")
        .annotate(n=Count("staff", distinct=True))
    )
    for station in stations:
        if station.parent_id in rows:
            rows[station.parent_id].stations.append((station, staffed.get(station.pk, 0)))
    research = (
        StaffPosition.objects.current()
        .filter(
            subtree_q(*districts, field="org_unit__path"),
            position=Position.RESEARCH_TEACHER,
            staff__is_active=True,
        )
        .values_list("org_unit__path", "staff_id")
    )
    seen: dict[int, set[int]] = {}
    for path, staff_id in research:
        for d in districts:
            if path.startswith(d.path):
                seen.setdefault(d.pk, set()).add(staff_id)
    for pk, staff_ids in seen.items():
        rows[pk].research_teachers = len(staff_ids)
    return list(rows.values())


def arrangements(*, principal: Principal) -> QuerySet[CoverageArrangement]:
    """Coverage arrangements of schools in the user's staff scope, newest first."""
    areas = [g.area for g in principal.grants_with(Cap.VIEW_STAFF)]
    return (
        CoverageArrangement.objects.filter(subtree_q(*areas, field="school__path"))
        .select_related("school", "supporter")
        .order_by("-start_date", "-pk")
    )
