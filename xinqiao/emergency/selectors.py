"""Reads, always from the access layer's principal.

A team, plan or drill is *seen* by a user whose VIEW_EMERGENCY area contains its unit or lies
below it (a school sees its district's and the city's teams and plans: they are the ones that
serve it); it is *kept* (EDIT_EMERGENCY) only inside the area (a district keeps its own, never
the city's). Outside what one sees: 404; seen but not kept: 403.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import F, Prefetch, Q, QuerySet
from django.http import Http404

from xinqiao.access.roles import Cap
from xinqiao.access.scope import Principal
from xinqiao.orgs.models import SEGMENT_WIDTH, Kind, OrgUnit, subtree_q
from xinqiao.people.models import Staff
from xinqiao.screening.models import Campaign

from .models import (
    CampaignArrangement,
    CrisisTeam,
    Drill,
    EmergencyPlan,
    Hotline,
    PlanVersion,
    TeamMember,
)


def ancestor_paths(path: str) -> list[str]:
    step = SEGMENT_WIDTH + 1
    return [path[:i] for i in range(step, len(path), step)]


def seen_q(principal: Principal, cap: str = Cap.VIEW_EMERGENCY, field: str = "unit") -> Q:
    """Rows whose unit is in one of the user's areas, or above one of them."""
    q = Q(pk__in=[])
    for grant in principal.grants_with(cap):
        q |= subtree_q(grant.area, field=f"{field}__path")
        q |= Q(**{f"{field}__path__in": ancestor_paths(grant.area.path)})
    return q


def kept_q(principal: Principal, field: str = "unit") -> Q:
    """Rows whose unit is inside one of the areas the user keeps (EDIT_EMERGENCY)."""
    areas = [g.area for g in principal.grants_with(Cap.EDIT_EMERGENCY)]
    return subtree_q(*areas, field=f"{field}__path") if areas else Q(pk__in=[])


def can_keep(principal: Principal, unit: OrgUnit) -> bool:
    return principal.sees_unit(unit, Cap.EDIT_EMERGENCY)


def _get(principal: Principal, queryset: QuerySet[Any], code: Any, *, keep: bool) -> Any:
    obj = queryset.filter(seen_q(principal)).filter(code=code).first()
    if obj is None:
        raise Http404
    if keep and not can_keep(principal, obj.unit):
        raise PermissionDenied
    return obj


# --- teams ----------------------------------------------------------------------------------------
def list_teams(*, principal: Principal) -> QuerySet[CrisisTeam]:
    current = TeamMember.objects.filter(ended_on__isnull=True).select_related("staff__org_unit")
    return (
        CrisisTeam.objects.filter(seen_q(principal))
        .select_related("unit")
        .prefetch_related(Prefetch("members", queryset=current, to_attr="current_members"))
        .order_by("unit__path", "pk")
    )


def get_team(*, principal: Principal, code: Any, keep: bool = False) -> CrisisTeam:
    team: CrisisTeam = _get(principal, CrisisTeam.objects.select_related("unit"), code, keep=keep)
    return team


def team_members(*, team: CrisisTeam) -> list[TeamMember]:
    return list(team.members.select_related("staff").order_by("ended_on", "role", "pk"))


def get_member(*, principal: Principal, code: Any) -> TeamMember:
    member = (
        TeamMember.objects.select_related("team__unit", "staff")
        .filter(seen_q(principal, field="team__unit"))
        .filter(code=code)
        .first()
    )
    if member is None:
        raise Http404
    if not can_keep(principal, member.team.unit):
        raise PermissionDenied
    return member


def staff_choices(*, principal: Principal, unit: OrgUnit) -> QuerySet[Staff]:
    """Staff a team of `unit` may take: active staff of the unit's subtree the user sees."""
    return (
        principal.staff()
        .filter(is_active=True)
        .filter(subtree_q(unit, field="org_unit__path"))
        .select_related("org_unit")
        .order_by("name")
    )


# --- plans and drills -----------------------------------------------------------------------------
def list_plans(*, principal: Principal) -> QuerySet[EmergencyPlan]:
    return (
        EmergencyPlan.objects.filter(seen_q(principal))
        .select_related("unit")
        .prefetch_related("versions")
        .order_by("unit__path", "title")
    )


def get_plan(*, principal: Principal, code: Any, keep: bool = False) -> EmergencyPlan:
    plan: EmergencyPlan = _get(
        principal, EmergencyPlan.objects.select_related("unit"), code, keep=keep
    )
    return plan


def plan_versions(*, plan: EmergencyPlan) -> list[PlanVersion]:
    return list(plan.versions.select_related("uploaded_by").order_by("-number"))


def get_version(*, principal: Principal, code: Any) -> PlanVersion:
    version = (
        PlanVersion.objects.select_related("plan__unit")
        .filter(seen_q(principal, field="plan__unit"))
        .filter(code=code)
        .first()
    )
    if version is None:
        raise Http404
    return version


def list_drills(*, principal: Principal, plan: EmergencyPlan | None = None) -> QuerySet[Drill]:
    drills = Drill.objects.filter(seen_q(principal)).select_related("unit", "plan")
    if plan is not None:
        drills = drills.filter(plan=plan)
    return drills.order_by("-held_on", "-pk")


def plans_of(*, unit: OrgUnit) -> QuerySet[EmergencyPlan]:
    return EmergencyPlan.objects.filter(unit=unit, is_active=True).order_by("title")


def keepable_units(*, principal: Principal) -> QuerySet[OrgUnit]:
    """Units the user may add a plan or a drill to: the areas they keep and their stations."""
    areas = [g.area for g in principal.grants_with(Cap.EDIT_EMERGENCY)]
    if not areas:
        return OrgUnit.objects.none()
    kinds = [Kind.CITY, Kind.DISTRICT, Kind.CENTRE, Kind.STATION]
    q = Q(pk__in=[a.pk for a in areas]) | (subtree_q(*areas) & Q(kind__in=kinds))
    return OrgUnit.objects.filter(q, is_active=True).order_by("path")


# --- campaigns ------------------------------------------------------------------------------------
def arrangement_of(*, campaign: Campaign) -> CampaignArrangement | None:
    return (
        CampaignArrangement.objects.filter(campaign=campaign)
        .select_related("plan", "team", "set_by")
        .order_by("-set_at", "-pk")
        .first()
    )


def campaigns_under(
    *, plan: EmergencyPlan | None = None, team: CrisisTeam | None = None
) -> list[Campaign]:
    """Campaigns that were arranged under this plan (or team), most recent first."""
    rows = (
        CampaignArrangement.objects.filter(Q(plan=plan) if plan is not None else Q(team=team))
        .select_related("campaign")
        .order_by("-set_at", "-pk")
    )
    seen: dict[int, Campaign] = {}
    for row in rows:
        seen.setdefault(row.campaign_id, row.campaign)
    return list(seen.values())


# --- helplines ------------------------------------------------------------------------------------
def list_hotlines(*, principal: Principal) -> QuerySet[Hotline]:
    """The lines a helpline editor sees: the city's, and those of the districts they keep (a
    district admin also sees the city's lines, read-only)."""
    return (
        Hotline.objects.filter(Q(unit__isnull=True) | seen_q(principal, Cap.EDIT_HOTLINES))
        .select_related("unit")
        .order_by("-is_active", F("unit__path").asc(nulls_first=True), "order", "pk")
    )


def get_hotline(*, principal: Principal, code: Any) -> Hotline:
    line = list_hotlines(principal=principal).filter(code=code).first()
    if line is None:
        raise Http404
    if not can_edit_hotline(principal, line):
        raise PermissionDenied
    return line


def can_edit_hotline(principal: Principal, line: Hotline) -> bool:
    """The city's lines by the city's editors; a district's by its own and the city's."""
    if line.unit is None:
        return any(g.area.kind == Kind.CITY for g in principal.grants_with(Cap.EDIT_HOTLINES))
    return principal.sees_unit(line.unit, Cap.EDIT_HOTLINES)


def hotline_units(*, principal: Principal) -> list[OrgUnit]:
    """The units whose lines the user edits: the city for the city admin, their district."""
    return [
        g.area
        for g in principal.grants_with(Cap.EDIT_HOTLINES)
        if g.area.kind in (Kind.CITY, Kind.DISTRICT)
    ]
