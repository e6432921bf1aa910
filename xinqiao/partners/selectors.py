"""Reads of the partners app, each through the authorization layer (docs/partners.md).

- Department officers read aggregates only: every count is built from
  `principal.students(tier=T0, cap=VIEW_DEPARTMENT_FIGURES)` (their area's students) and published
  through `analytics.disclosure.suppress_table`; no row names a child.
- An expert reads one case while their invitation holds: their student scope (registered with the
  access layer) is the students of their active invitations, and the case page checks it.
- Hospital areas and the referral summary read the units of the reader's area.
"""

from __future__ import annotations

import datetime
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, Model, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from xinqiao.access.models import RoleAssignment
from xinqiao.access.roles import Cap, Role, Tier
from xinqiao.access.scope import Grant, Principal
from xinqiao.analytics.disclosure import SMALL_CELL, suppress_table
from xinqiao.cases.models import Case, FollowUp, Referral, ReferralStatus, SupportPlan
from xinqiao.cases.selectors.common import can_handle, can_read_notes, get_case
from xinqiao.orgs.models import Kind, OrgUnit, subtree_q
from xinqiao.people.models import StudentStatus

from .models import (
    Department,
    DepartmentPost,
    ExpertGrant,
    HospitalArea,
    HospitalAreaQuerySet,
    PlanAdvice,
)

_M = TypeVar("_M", bound=Model)


# --- experts
def expert_students_q(principal: Principal, unit: Any) -> Q:
    """The students an expert's role covers: those of their unexpired, unrevoked invitations."""
    if principal.user is None:
        return Q(pk__in=[])
    granted = ExpertGrant.objects.active().filter(expert=principal.user, student=OuterRef("pk"))
    return Q(Exists(granted))


def my_invitations(*, principal: Principal) -> QuerySet[ExpertGrant]:
    principal.require(Cap.VIEW_GRANTED_CASES)
    return (
        ExpertGrant.objects.active()
        .filter(expert=principal.user)
        .select_related("case", "case__school", "student")
        .order_by("expires_at", "id")
    )


def _by_code(qs: QuerySet[_M], code: Any) -> _M:
    try:
        found = qs.filter(code=code).first()
    except (ValueError, ValidationError):
        found = None
    if found is None:
        raise Http404
    return found


@dataclass
class ExpertCase:
    grant: ExpertGrant
    case: Case
    plan: SupportPlan | None
    follow_ups: list[FollowUp]
    advice: list[PlanAdvice]


def get_expert_case(*, principal: Principal, code: Any) -> ExpertCase:
    """The case of one of the expert's active invitations: 403 without the role, 404 for another
    expert's, an expired or a revoked invitation (the access layer decides the student)."""
    grant = _by_code(my_invitations(principal=principal), code)
    # The authorization layer's word on the student (Http404 once the invitation has lapsed).
    principal.get_student(grant.student.code, tier=Tier.T3, cap=Cap.VIEW_GRANTED_CASES)
    case = grant.case
    return ExpertCase(
        grant=grant,
        case=case,
        plan=SupportPlan.objects.filter(case=case).order_by("-created_at", "-id").first(),
        follow_ups=list(FollowUp.objects.filter(case=case).order_by("-done_at", "-id")[:10]),
        advice=list(case_advice(case)),
    )


def pool_experts(*, case: Case) -> QuerySet[Any]:
    """The experts a case may invite: members of the expert pool (workforce.Expert, in the pool
    and not unavailable) of the city or the case's district — any ancestor of the school —
    whose account (made by the pool's invitation) is active and holds the expert role."""
    from xinqiao.workforce.models import Availability, Expert

    held = RoleAssignment.objects.active().filter(user=OuterRef("user"), role=Role.EXPERT)
    return (
        Expert.objects.filter(
            Exists(held),
            owner__in=case.school.ancestors(),
            is_active=True,
            user__is_active=True,
        )
        .exclude(availability=Availability.UNAVAILABLE)
        .select_related("user", "owner")
        .order_by("name", "pk")
    )


def expert_users(*, case: Case) -> QuerySet[Any]:
    """The accounts of the pool experts a case may invite (ExpertGrant.expert is the user)."""
    users = pool_experts(case=case).values("user")
    return get_user_model().objects.filter(pk__in=users).order_by("first_name", "username")


def case_for_inviting(*, principal: Principal, code: Any) -> Case:
    """A case whose owner side may invite experts: the school's psychology teachers and the
    station for the cases it sees (403 otherwise, 404 outside the case scope)."""
    principal.require(Cap.INVITE_EXPERTS)
    case = get_case(principal=principal, code=code)
    if not (can_handle(principal, case) or can_read_notes(principal, case)):
        raise PermissionDenied
    return case


def case_invitations(case: Case) -> QuerySet[ExpertGrant]:
    return ExpertGrant.objects.filter(case=case).select_related("expert", "granted_by")


def case_advice(case: Case) -> QuerySet[PlanAdvice]:
    return PlanAdvice.objects.filter(case=case).select_related("author", "referral__hospital")


def get_invitation(*, case: Case, code: Any) -> ExpertGrant:
    return _by_code(ExpertGrant.objects.filter(case=case), code)


# --- department officers
@dataclass
class DepartmentArea:
    grant: Grant
    departments: list[str]
    students: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    circumstances: list[dict[str, Any]] = field(default_factory=list)

    @property
    def department_labels(self) -> list[str]:
        return [str(Department(d).label) for d in self.departments]

    @property
    def is_civil_affairs(self) -> bool:
        return Department.CIVIL_AFFAIRS in self.departments


CASE_COLUMNS = ["red", "orange", "yellow", "total"]
CARE_COLUMNS = ["followed", "not_followed", "total"]


def _row_units(area: OrgUnit) -> list[OrgUnit]:
    """The rows of an area's tables: a city's districts, a district's schools."""
    kind = Kind.DISTRICT if area.kind == Kind.CITY else Kind.SCHOOL
    return list(
        OrgUnit.objects.filter(parent=area, kind=kind, is_active=True).order_by(
            "sort_order", "name", "pk"
        )
    )


def _rows_for(
    units: list[OrgUnit], by_school: dict[int, dict[str, int]], columns: list[str]
) -> list[dict[str, Any]]:
    paths = {u.pk: u.path for u in units}
    school_paths = dict(OrgUnit.objects.filter(pk__in=list(by_school)).values_list("pk", "path"))
    rows: list[dict[str, Any]] = []
    for unit in units:
        row: dict[str, Any] = {"unit": unit.name, **dict.fromkeys(columns, 0)}
        for school_id, counts in by_school.items():
            if school_paths.get(school_id, "").startswith(paths[unit.pk]):
                for c in columns:
                    row[c] += counts.get(c, 0)
        rows.append(row)
    total: dict[str, Any] = {"unit": None, **dict.fromkeys(columns, 0)}
    for counts in by_school.values():
        for c in columns:
            total[c] += counts.get(c, 0)
    # Schools hung directly under the city: one more row, so the rows add up to the total.
    rest = {c: total[c] - sum(r[c] for r in rows) for c in columns}
    if any(rest.values()):
        rows.append({"unit": "", "other": True, **rest})
    rows.append(total)
    return suppress_table(rows, columns)


def department_areas(*, principal: Principal) -> list[DepartmentArea]:
    """The department officer's areas and their protected tables: students, open high-care cases
    by level, and — for civil affairs — orphaned and de-facto unsupported children and how many
    of them are followed as high-care. Never a name, never a list of students."""
    principal.require(Cap.VIEW_DEPARTMENT_FIGURES)
    grants = principal.grants_with(Cap.VIEW_DEPARTMENT_FIGURES)
    posts = DepartmentPost.objects.current().filter(user=principal.user)
    out = []
    for grant in grants:
        departments = sorted({p.department for p in posts if p.org_unit_id == grant.unit.pk})
        students = principal.students(tier=Tier.T0, cap=Cap.VIEW_DEPARTMENT_FIGURES).filter(
            subtree_q(grant.area, field="school__path"), status=StudentStatus.ENROLLED
        )
        units = _row_units(grant.area)
        counted = {
            r["school_id"]: {"students": r["n"]}
            for r in students.values("school_id").annotate(n=Count("id"))
        }
        area = DepartmentArea(grant=grant, departments=departments)
        area.students = _rows_for(units, counted, ["students"])
        open_cases = Case.objects.open().filter(student__in=students.values("pk"))
        by_school: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for r in open_cases.values("school_id", "level").annotate(n=Count("id")):
            by_school[r["school_id"]][r["level"]] += r["n"]
            by_school[r["school_id"]]["total"] += r["n"]
        area.cases = _rows_for(units, by_school, CASE_COLUMNS)
        if area.is_civil_affairs:
            flagged = students.filter(orphan_or_unsupported=True)
            followed = Case.objects.open().filter(student=OuterRef("pk"))
            care: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            rows = flagged.annotate(followed=Exists(followed)).values("school_id", "followed")
            for school_id, is_followed, n in rows.annotate(n=Count("id")).values_list(
                "school_id", "followed", "n"
            ):
                key = "followed" if is_followed else "not_followed"
                care[school_id][key] += n
                care[school_id]["total"] += n
            area.circumstances = _rows_for(units, care, CARE_COLUMNS)
        out.append(area)
    return out


def department_posts(*, principal: Principal) -> QuerySet[DepartmentPost]:
    """Department accounts in the city administrator's area, current and ended."""
    principal.require(Cap.MANAGE_DEPARTMENT_ACCOUNTS)
    units = principal.units(Cap.MANAGE_DEPARTMENT_ACCOUNTS)
    return (
        DepartmentPost.objects.filter(org_unit__in=units)
        .select_related("user", "org_unit")
        .order_by("ended_on", "org_unit__path", "department", "id")
    )


def get_department_post(*, principal: Principal, code: Any) -> DepartmentPost:
    return _by_code(department_posts(principal=principal), code)


def department_units(*, principal: Principal) -> QuerySet[OrgUnit]:
    return (
        principal.units(Cap.MANAGE_DEPARTMENT_ACCOUNTS)
        .filter(kind__in=[Kind.CITY, Kind.DISTRICT], is_active=True)
        .order_by("path")
    )


# --- hospital areas
def area_hospitals_for_case(case: Case) -> dict[int, list[int]]:
    """{hospital id: [psychiatrist ids]} of the current areas covering the case's school (the
    school itself or a unit above it): the referral form lists them first."""
    school = case.school
    covering = HospitalArea.objects.current().filter(
        Q(area=school) | Q(area__in=school.ancestors())
    )
    out: dict[int, list[int]] = {}
    for hospital_id, psychiatrist_id in covering.values_list("hospital_id", "psychiatrist_id"):
        out.setdefault(hospital_id, [])
        if psychiatrist_id is not None:
            out[hospital_id].append(psychiatrist_id)
    return out


def area_units(*, principal: Principal, cap: str) -> QuerySet[OrgUnit]:
    return principal.units(cap).filter(kind__in=[Kind.DISTRICT, Kind.SCHOOL], is_active=True)


def hospital_areas(
    *, principal: Principal, cap: str = Cap.VIEW_HOSPITAL_AREAS
) -> HospitalAreaQuerySet:
    """Area assignments whose area lies in the reader's area, current first."""
    principal.require(cap)
    return (
        HospitalArea.objects.filter(area__in=area_units(principal=principal, cap=cap))
        .select_related("hospital", "psychiatrist", "area")
        .order_by("ended_on", "hospital__name", "area__path", "id")
    )


def get_hospital_area(*, principal: Principal, code: Any) -> HospitalArea:
    return _by_code(hospital_areas(principal=principal, cap=Cap.MANAGE_HOSPITAL_AREAS), code)


@dataclass
class Served:
    hospital: OrgUnit
    psychiatrist: Any
    schools: list[str]


def served_schools(*, principal: Principal) -> list[Served]:
    """Which schools each hospital (and psychiatrist) serves today, within the reader's area."""
    today = timezone.localdate()
    visible = area_units(principal=principal, cap=Cap.VIEW_HOSPITAL_AREAS)
    schools_in_scope = principal.units(Cap.VIEW_HOSPITAL_AREAS).filter(
        kind=Kind.SCHOOL, is_active=True
    )
    grouped: dict[tuple[int, int | None], Served] = {}
    for area in hospital_areas(principal=principal).current(today).filter(area__in=visible):
        key = (area.hospital_id, area.psychiatrist_id)
        entry = grouped.setdefault(key, Served(area.hospital, area.psychiatrist, []))
        names = schools_in_scope.filter(subtree_q(area.area)).order_by("path")
        entry.schools.extend(n for n in names.values_list("name", flat=True))
    return list(grouped.values())


def hospitals_in(*, principal: Principal) -> QuerySet[OrgUnit]:
    """Partner hospitals an area may be given to: under the city or the manager's district."""
    units = principal.units(Cap.MANAGE_HOSPITAL_AREAS)
    above = OrgUnit.objects.filter(kind__in=[Kind.CITY], is_active=True)
    return (
        OrgUnit.objects.filter(kind=Kind.HOSPITAL, is_active=True)
        .filter(Q(pk__in=units.values("pk")) | Q(parent__in=above))
        .order_by("name", "pk")
    )


def psychiatrists_in(hospitals: QuerySet[OrgUnit]) -> QuerySet[Any]:
    held = RoleAssignment.objects.active().filter(
        user=OuterRef("pk"), role=Role.PSYCHIATRIST, org_unit__in=hospitals
    )
    return get_user_model().objects.filter(Exists(held)).order_by("first_name", "username")


# --- the de-identified referral summary
SUMMARY_COLUMNS = ["waiting", "seen", "feedback", "cancelled", "total"]


@dataclass
class ReferralSummary:
    area: OrgUnit
    rows: list[dict[str, Any]]


def referral_summary(*, principal: Principal, months: int = 12) -> list[ReferralSummary]:
    """Referrals of students in each of the reader's areas by month sent: how many wait, were
    seen, got feedback or were cancelled, and the median days to the first visit (shown only
    when at least SMALL_CELL were seen that month). Counts only: no name, no diagnosis."""
    principal.require(Cap.VIEW_REFERRAL_SUMMARY)
    since = timezone.now() - datetime.timedelta(days=31 * months)
    out = []
    for grant in principal.grants_with(Cap.VIEW_REFERRAL_SUMMARY):
        referrals = Referral.objects.filter(
            subtree_q(grant.area, field="student__school__path"), sent_at__gte=since
        ).values_list("sent_at", "status", "seen_at", "feedback_at")
        by_month: dict[str, dict[str, Any]] = {}
        days: dict[str, list[float]] = defaultdict(list)
        for sent_at, status, seen_at, feedback_at in referrals:
            month = timezone.localtime(sent_at).strftime("%Y-%m")
            row = by_month.setdefault(month, {"unit": month, **dict.fromkeys(SUMMARY_COLUMNS, 0)})
            if status == ReferralStatus.CANCELLED:
                row["cancelled"] += 1
            elif feedback_at is not None or status == ReferralStatus.FEEDBACK:
                row["feedback"] += 1
            elif seen_at is not None or status == ReferralStatus.SEEN:
                row["seen"] += 1
            else:
                row["waiting"] += 1
            row["total"] += 1
            if seen_at is not None:
                days[month].append((seen_at - sent_at).total_seconds() / 86400)
        rows = [by_month[m] for m in sorted(by_month)]
        total: dict[str, Any] = {"unit": None, **dict.fromkeys(SUMMARY_COLUMNS, 0)}
        for row in rows:
            for c in SUMMARY_COLUMNS:
                total[c] += row[c]
        rows = suppress_table([*rows, total], SUMMARY_COLUMNS)
        all_days = [d for month_days in days.values() for d in month_days]
        for row in rows:
            seen = days.get(row["unit"], []) if row["unit"] else all_days
            row["median_days"] = (
                round(statistics.median(seen), 1) if len(seen) >= SMALL_CELL else None
            )
        out.append(ReferralSummary(area=grant.area, rows=rows))
    return out


# --- the psychiatrist's plan advice
def referral_for_advice(*, principal: Principal, code: Any) -> Referral:
    """A referral the psychiatrist may add plan advice to (their need-to-know scope)."""
    from xinqiao.cases.selectors.referrals import get_referral_for_psychiatrist

    principal.require(Cap.CONTRIBUTE_TO_PLAN)
    return get_referral_for_psychiatrist(principal=principal, code=code)


def referral_advice(referral: Referral) -> QuerySet[PlanAdvice]:
    return PlanAdvice.objects.filter(referral=referral).select_related("author")


# --- online-monitoring tips (网信, R7) -----------------------------------------------------------
def monitoring_areas(*, principal: Principal) -> list[OrgUnit]:
    """The areas of the user's current cyberspace-office (网信) posts: the only department whose
    officers file online-monitoring tips."""
    from .models import Department, DepartmentPost

    if principal.user is None or not principal.can(Cap.FILE_MONITORING_TIP):
        return []
    posts = DepartmentPost.objects.current().filter(
        user=principal.user, department=Department.CYBERSPACE
    )
    return [post.org_unit for post in posts.select_related("org_unit")]


def tip_schools(*, principal: Principal) -> QuerySet[OrgUnit]:
    """Schools a 网信 officer may name in a tip: active schools of their posts' areas (also
    bounded by their role grants)."""
    areas = monitoring_areas(principal=principal)
    if not areas:
        return OrgUnit.objects.none()
    return principal.units(Cap.FILE_MONITORING_TIP).filter(
        subtree_q(*areas), kind=Kind.SCHOOL, is_active=True
    )
