"""Workforce reads, always from the access layer's principal (404 outside the scope, 403 for a
role that may see but not change).

School years are the project's (orgs `Term`): year Y runs from the first day of its first term to
the day before year Y+1's first term (without terms: 1 September to 31 August). A course counts
in the year its start date falls in.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xinqiao.access.roles import Cap
from xinqiao.access.scope import Principal
from xinqiao.orgs.models import Kind, OrgUnit, Term, subtree_q
from xinqiao.people.models import Position, Staff, StaffPosition

from .models import Expert, Registry, RegistryMember, ResearchActivity, TrainingRecord

# R13 (seed §6): yearly thresholds.
FULL_TIME_HOURS = Decimal(40)
KEY_TEACHER_HOURS = Decimal(10)
KEY_POSITIONS = (Position.HEAD_TEACHER, Position.MORAL_EDUCATION_LEADER)


class Category:
    FULL_TIME = "full_time"
    KEY = "key"
    OTHER = "other"


CATEGORY_LABELS = {
    Category.FULL_TIME: _("Full-time psychology teachers (≥ 40 h)"),
    Category.KEY: _("Head teachers and key moral-education teachers (≥ 10 h)"),
    Category.OTHER: _("Other teachers (at least one training)"),
}
CATEGORIES = [Category.FULL_TIME, Category.KEY, Category.OTHER]


# --- school years --------------------------------------------------------------------------------
def school_year_bounds(year: int) -> tuple[datetime.date, datetime.date]:
    starts = dict(
        Term.objects.filter(school_year_start__in=[year, year + 1])
        .values_list("school_year_start")
        .annotate(first=Min("start_date"))
    )
    start = starts.get(year) or datetime.date(year, 9, 1)
    following = starts.get(year + 1)
    end = following - datetime.timedelta(days=1) if following else datetime.date(year + 1, 8, 31)
    return start, end


def current_school_year(today: datetime.date | None = None) -> int:
    term = Term.objects.current()
    if term is not None:
        return term.school_year_start
    today = today or timezone.localdate()
    return today.year if today.month >= 9 else today.year - 1


def school_years() -> list[int]:
    """The years with terms, newest first, and the current one."""
    years = set(Term.objects.values_list("school_year_start", flat=True)) | {current_school_year()}
    return sorted(years, reverse=True)


# --- staff and training records ------------------------------------------------------------------
def get_staff(*, principal: Principal, code: Any, cap: str = Cap.VIEW_WORKFORCE) -> Staff:
    staff = principal.staff(Cap.VIEW_WORKFORCE).filter(code=code).select_related("org_unit").first()
    if staff is None:
        raise Http404
    if cap != Cap.VIEW_WORKFORCE and not principal.staff(cap).filter(pk=staff.pk).exists():
        raise PermissionDenied
    return staff


def training_records(*, principal: Principal) -> QuerySet[TrainingRecord]:
    areas = [g.area for g in principal.grants_with(Cap.VIEW_WORKFORCE)]
    return TrainingRecord.objects.filter(subtree_q(*areas, field="staff__org_unit__path"))


def list_staff_training(*, principal: Principal, staff: Staff) -> QuerySet[TrainingRecord]:
    return training_records(principal=principal).filter(staff=staff).order_by("-start_date")


def get_training(
    *, principal: Principal, code: Any, cap: str = Cap.VIEW_WORKFORCE
) -> TrainingRecord:
    record = (
        training_records(principal=principal)
        .filter(code=code)
        .select_related("staff", "staff__org_unit")
        .first()
    )
    if record is None:
        raise Http404
    if cap != Cap.VIEW_WORKFORCE and not principal.sees_unit(record.staff.org_unit, cap):
        raise PermissionDenied
    return record


def staff_for_training(*, principal: Principal, text: str = "") -> QuerySet[Staff]:
    qs = principal.staff(Cap.VIEW_WORKFORCE).filter(is_active=True).select_related("org_unit")
    if text:
        qs = qs.filter(Q(name__icontains=text) | Q(name_initials__istartswith=text))
    return qs.order_by("org_unit__path", "name")


# --- the yearly summary (R13) --------------------------------------------------------------------
def category_of(full_time: bool, key_teacher: bool) -> str:
    if full_time:
        return Category.FULL_TIME
    if key_teacher:
        return Category.KEY
    return Category.OTHER


def meets(category: str, hours: Decimal, courses: int) -> bool:
    if category == Category.FULL_TIME:
        return hours >= FULL_TIME_HOURS
    if category == Category.KEY:
        return hours >= KEY_TEACHER_HOURS
    return courses >= 1


def required_text(category: str) -> str:
    if category == Category.FULL_TIME:
        return "≥ 40 h"
    if category == Category.KEY:
        return "≥ 10 h"
    return "≥ 1"


HOURS_PLACE = Decimal("0.1")


def _teachers(staff: QuerySet[Staff], year: int) -> Any:
    """Active staff of schools, with their category facts and this year's hours and courses."""
    start, end = school_year_bounds(year)
    in_year = Q(training_records__start_date__gte=start, training_records__start_date__lte=end)
    # posts held at some time in the year (a post's end date is its last day)
    positions = StaffPosition.objects.filter(staff=OuterRef("pk")).filter(
        Q(start_date__isnull=True) | Q(start_date__lte=end),
        Q(end_date__isnull=True) | Q(end_date__gte=start),
    )
    return staff.filter(is_active=True, org_unit__school__isnull=False).annotate(
        full_time=Exists(positions.filter(position=Position.PSYCHOLOGY_TEACHER_FULL)),
        key_teacher=Exists(positions.filter(position__in=KEY_POSITIONS)),
        hours=Coalesce(
            Sum("training_records__hours", filter=in_year),
            Value(Decimal(0)),
            output_field=DecimalField(max_digits=8, decimal_places=1),
        ),
        courses=Count("training_records", filter=in_year),
    )


@dataclass
class TeacherRow:
    staff: Staff
    category: str
    hours: Decimal
    courses: int
    met: bool

    @property
    def required(self) -> str:
        return required_text(self.category)


@dataclass
class Tally:
    """Teachers and how many meet their threshold, overall and per category."""

    teachers: int = 0
    met: int = 0
    by_category: dict[str, list[int]] = field(
        default_factory=lambda: {c: [0, 0] for c in CATEGORIES}
    )

    def add(self, category: str, met: bool) -> None:
        self.teachers += 1
        self.met += int(met)
        pair = self.by_category[category]
        pair[0] += 1
        pair[1] += int(met)

    @property
    def share(self) -> int | None:
        """Percentage of teachers meeting their threshold (None without teachers)."""
        return round(100 * self.met / self.teachers) if self.teachers else None

    def categories(self) -> list[dict[str, Any]]:
        return [
            {
                "category": c,
                "label": CATEGORY_LABELS[c],
                "teachers": n,
                "met": m,
                "share": round(100 * m / n) if n else None,
            }
            for c, (n, m) in self.by_category.items()
        ]


def school_training(
    *, principal: Principal, school: OrgUnit, year: int
) -> tuple[list[TeacherRow], Tally]:
    """Each teacher of one school with this year's hours against their threshold."""
    staff = principal.staff(Cap.VIEW_WORKFORCE).filter(subtree_q(school, field="org_unit__path"))
    rows: list[TeacherRow] = []
    tally = Tally()
    for s in _teachers(staff, year).select_related("org_unit").order_by("name"):
        category = category_of(s.full_time, s.key_teacher)
        # One decimal place, as a record's hours: PostgreSQL's SUM keeps the column's scale
        # (42.0) while SQLite's drops it (42), so the page and the API would differ by database.
        hours = Decimal(s.hours).quantize(HOURS_PLACE)
        met = meets(category, hours, s.courses)
        rows.append(TeacherRow(s, category, hours, s.courses, met))
        tally.add(category, met)
    return rows, tally


@dataclass
class AreaRow:
    unit: OrgUnit
    tally: Tally


def area_training(*, principal: Principal, unit: OrgUnit, year: int) -> tuple[list[AreaRow], Tally]:
    """For a city (its districts) or a district (its schools): the tally of each part.

    One query over the area's teachers (their facts aggregated by the database), grouped here by
    the part whose path holds their school."""
    if unit.kind == Kind.CITY:
        parts = list(
            OrgUnit.objects.filter(parent=unit, kind__in=[Kind.DISTRICT, Kind.SCHOOL]).order_by(
                "sort_order", "path"
            )
        )
    else:
        parts = list(
            OrgUnit.objects.filter(subtree_q(unit), kind=Kind.SCHOOL, is_active=True).order_by(
                "sort_order", "path"
            )
        )
    staff = principal.staff(Cap.VIEW_WORKFORCE).filter(subtree_q(unit, field="org_unit__path"))
    facts = _teachers(staff, year).values_list(
        "org_unit__school__path", "full_time", "key_teacher", "hours", "courses"
    )
    by_part: dict[int, Tally] = defaultdict(Tally)
    total = Tally()
    prefixes = [(p.path, p.pk) for p in parts]
    for school_path, full_time, key_teacher, hours, courses in facts.order_by():
        category = category_of(full_time, key_teacher)
        met = meets(category, hours, courses)
        total.add(category, met)
        for prefix, pk in prefixes:
            if school_path.startswith(prefix):
                by_part[pk].add(category, met)
                break
    return [AreaRow(p, by_part[p.pk]) for p in parts], total


def default_unit(*, principal: Principal, cap: str = Cap.VIEW_WORKFORCE) -> OrgUnit | None:
    """The widest area of the user's grants (the city, their district, their school)."""
    areas = sorted((g.area for g in principal.grants_with(cap)), key=lambda u: u.depth)
    return areas[0] if areas else None


def research_unit(*, principal: Principal, code: Any) -> OrgUnit:
    """The city or district whose research indicator a user asked for (default: their widest
    area, or the district their school or station belongs to)."""
    if code:
        unit = districts(principal=principal).filter(code=code).first()
        if unit is None:
            unit = principal.get_unit(code, Cap.VIEW_WORKFORCE)
    else:
        unit = default_unit(principal=principal)
        if unit is not None and unit.kind not in (Kind.CITY, Kind.DISTRICT):
            unit = districts(principal=principal).filter(pk__in=_ancestor_ids(unit.path)).first()
    if unit is None or unit.kind not in (Kind.CITY, Kind.DISTRICT):
        raise Http404
    return unit


def summary_unit(*, principal: Principal, code: Any) -> OrgUnit:
    unit = (
        principal.get_unit(code, Cap.VIEW_WORKFORCE) if code else default_unit(principal=principal)
    )
    if unit is None or unit.kind not in (Kind.CITY, Kind.DISTRICT, Kind.SCHOOL):
        raise Http404
    return unit


# --- research activities (R17) -------------------------------------------------------------------
def districts(*, principal: Principal, cap: str = Cap.VIEW_WORKFORCE) -> QuerySet[OrgUnit]:
    """Districts in the user's area for `cap`, and — to see (never to edit) their research
    activities — the district a school's or station's staff work in."""
    inside = Q(subtree_q(*[g.area for g in principal.grants_with(cap)]))
    if cap == Cap.VIEW_WORKFORCE:
        for grant in principal.grants_with(cap):
            prefix = grant.area.path
            # the district whose path starts the grant's path: its ancestor at depth 1
            inside |= Q(kind=Kind.DISTRICT, pk__in=_ancestor_ids(prefix))
    return OrgUnit.objects.filter(inside, kind=Kind.DISTRICT).order_by("sort_order", "path")


def _ancestor_ids(path: str) -> list[int]:
    return [int(segment, 36) for segment in path.split(".") if segment]


def research_activities(*, principal: Principal) -> QuerySet[ResearchActivity]:
    return ResearchActivity.objects.filter(
        district__in=districts(principal=principal)
    ).select_related("district")


def list_research(
    *, principal: Principal, district: OrgUnit | None = None, year: int | None = None
) -> QuerySet[ResearchActivity]:
    qs = research_activities(principal=principal)
    if district is not None:
        qs = qs.filter(district=district)
    if year is not None:
        start, end = school_year_bounds(year)
        qs = qs.filter(date__gte=start, date__lte=end)
    return qs.annotate(n_participants=Count("participants")).order_by("-date", "theme")


def get_research(
    *, principal: Principal, code: Any, cap: str = Cap.VIEW_WORKFORCE
) -> ResearchActivity:
    activity = research_activities(principal=principal).filter(code=code).first()
    if activity is None:
        raise Http404
    if cap != Cap.VIEW_WORKFORCE and not principal.sees_unit(activity.district, cap):
        raise PermissionDenied
    return activity


class MonthState:
    MET = "met"
    MISSED = "missed"
    OPEN = "open"
    FUTURE = "future"


def school_year_months(year: int) -> list[datetime.date]:
    start, end = school_year_bounds(year)
    months, day = [], start.replace(day=1)
    while day <= end:
        months.append(day)
        day = (day + datetime.timedelta(days=32)).replace(day=1)
    return months


def research_indicator(
    *, principal: Principal, unit: OrgUnit, year: int, today: datetime.date | None = None
) -> tuple[list[datetime.date], list[dict[str, Any]]]:
    """Per district of `unit` (a city or one district): activities per month of the school year
    and whether the month met "at least one per month" (R17)."""
    today = today or timezone.localdate()
    months = school_year_months(year)
    start, end = school_year_bounds(year)
    if unit.kind == Kind.DISTRICT:
        units = [unit]
    else:
        units = list(districts(principal=principal).filter(subtree_q(unit)))
    counts: dict[tuple[int, datetime.date], int] = {}
    rows = (
        ResearchActivity.objects.filter(district__in=units, date__gte=start, date__lte=end)
        .annotate(month=TruncMonth("date"))
        .values_list("district_id", "month")
        .annotate(n=Count("id"))
        .order_by()
    )
    for district_id, month, n in rows:
        day = month.date() if isinstance(month, datetime.datetime) else month
        counts[(district_id, day)] = n
    this_month = today.replace(day=1)
    out = []
    for district in units:
        cells, met, due = [], 0, 0
        for month in months:
            n = counts.get((district.pk, month), 0)
            if n:
                state = MonthState.MET
            elif month < this_month:
                state = MonthState.MISSED
            elif month == this_month:
                state = MonthState.OPEN
            else:
                state = MonthState.FUTURE
            if state in (MonthState.MET, MonthState.MISSED):
                due += 1
                met += int(state == MonthState.MET)
            cells.append({"month": month, "count": n, "state": state})
        out.append({"district": district, "cells": cells, "met": met, "due": due})
    return months, out


# --- registries (R14) ----------------------------------------------------------------------------
def registries(*, principal: Principal) -> QuerySet[Registry]:
    return Registry.objects.filter(owner__in=principal.units(Cap.VIEW_WORKFORCE)).select_related(
        "owner"
    )


def list_registries(*, principal: Principal, kind: str = "") -> QuerySet[Registry]:
    qs = registries(principal=principal)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.annotate(
        n_members=Count("members", filter=Q(members__end_date__isnull=True), distinct=True),
        n_events=Count("events", distinct=True),
    ).order_by("kind", "name")


def get_registry(*, principal: Principal, code: Any, cap: str = Cap.VIEW_WORKFORCE) -> Registry:
    registry = registries(principal=principal).filter(code=code).first()
    if registry is None:
        raise Http404
    if cap != Cap.VIEW_WORKFORCE and not principal.sees_unit(registry.owner, cap):
        raise PermissionDenied
    return registry


def registry_members(registry: Registry) -> QuerySet[RegistryMember]:
    return registry.members.select_related("staff", "staff__org_unit").order_by(
        "-end_date", "start_date"
    )


def get_registry_member(
    *, principal: Principal, code: Any, cap: str = Cap.EDIT_WORKFORCE
) -> RegistryMember:
    member = (
        RegistryMember.objects.filter(code=code, registry__in=registries(principal=principal))
        .select_related("registry", "registry__owner", "staff")
        .first()
    )
    if member is None:
        raise Http404
    if not principal.sees_unit(member.registry.owner, cap):
        raise PermissionDenied
    return member


def owner_units(*, principal: Principal, cap: str) -> QuerySet[OrgUnit]:
    """Units that may own registries and expert pools: the city and districts in scope."""
    return principal.units(cap).filter(kind__in=[Kind.CITY, Kind.DISTRICT]).order_by("path")


# --- expert pool ---------------------------------------------------------------------------------
def experts(*, principal: Principal) -> QuerySet[Expert]:
    return Expert.objects.filter(owner__in=principal.units(Cap.VIEW_WORKFORCE)).select_related(
        "owner"
    )


def list_experts(
    *, principal: Principal, text: str = "", committee_only: bool = False
) -> QuerySet[Expert]:
    qs = experts(principal=principal)
    if text:
        qs = qs.filter(Q(name__icontains=text) | Q(expertise__icontains=text))
    seated = Q(committee_terms__end_date__isnull=True) & Q(committee_terms__isnull=False)
    qs = qs.annotate(on_committee=Count("committee_terms", filter=seated))
    if committee_only:
        qs = qs.filter(on_committee__gt=0)
    return qs.order_by("-is_active", "name")


def get_expert(*, principal: Principal, code: Any, cap: str = Cap.VIEW_WORKFORCE) -> Expert:
    expert = experts(principal=principal).filter(code=code).first()
    if expert is None:
        raise Http404
    if cap != Cap.VIEW_WORKFORCE and not principal.sees_unit(expert.owner, cap):
        raise PermissionDenied
    return expert


def open_expert_invitation_of(expert: Expert) -> Any:
    from django.utils import timezone

    return (
        expert.invitations.filter(
            used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )
        .order_by("-created_at")
        .first()
    )
