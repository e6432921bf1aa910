"""The lists each role works from, and the student's high-care archive (issue 5).

Every list starts from the scope layer: `visible_cases(principal=, cap=)` for cases (and so for
their referrals, step-down requests, transfers and guardian contacts), `list_alerts` for alerts,
`principal.students(...)` for a class, `principal.units(...)` for aggregates. Every function returns
a queryset (or a fixed number of them) with its joins selected, so a page costs the same number
of queries whatever the number of rows; the views paginate.

- psychology teacher (`handle_cases`): the worklist — new alerts by deadline, overdue follow-ups,
  follow-ups due today, referrals awaiting feedback, step-down requests awaiting the leader,
  transfers pending, red cases without the guardian's signed acknowledgement;
- head teacher (`view_class_attention`): which students of their classes need attention — never a
  level, score, answer or note — and their own tasks;
- mentor / head teacher / committee member (`view_case_tasks`): their own tasks;
- moral-education leader (`approve_level_changes`): the school's open cases by level, overdue
  follow-ups and alerts, escalations received, step-down requests to decide;
- district station and city (`view_red_board`): the station sees the red and escalated cases of
  its district; the city only red cases whose alert went to the district station (+24 h), without
  names or notes, and aggregates with cells under 5 suppressed.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Case as When_
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, When
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from xinqiao.access.roles import Cap, Role, Tier
from xinqiao.access.scope import Principal
from xinqiao.alerts.models import (
    LEADER_STEPS,
    OPEN_STATUSES,
    Alert,
    Escalation,
    EscalationStep,
    Level,
    Status,
)
from xinqiao.alerts.selectors import list_alerts
from xinqiao.analytics.disclosure import suppress_table
from xinqiao.orgs.models import Kind, OrgUnit, subtree_q
from xinqiao.people.models import Student
from xinqiao.people.profile import ProfileSection

from ..models import (
    Case,
    CaseStatus,
    CaseTeamMember,
    CaseTransfer,
    FollowUp,
    GuardianContact,
    LevelChange,
    Referral,
    ReferralStatus,
    RequestStatus,
    StepDownRequest,
    TeamTier,
    TransferStatus,
)
from .common import visible_cases

LEVELS = (Level.RED, Level.ORANGE, Level.YELLOW)
AWAITING_FEEDBACK = (ReferralStatus.SENT, ReferralStatus.RECEIVED, ReferralStatus.SEEN)
PENDING_TRANSFER = (TransferStatus.REQUESTED, TransferStatus.FORWARDED)
# The leader's board also lists escalations of alerts verified in the last days (for the record).
RECENT_ESCALATION_DAYS = 30

_STUDENT = ("student", "student__school_class")


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def end_of_today(now: datetime.datetime) -> datetime.datetime:
    """Midnight after `now` in the local time zone (Beijing time)."""
    local = timezone.localtime(now)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + datetime.timedelta(days=1)


_PLACEHOLDER = uuid.UUID(int=0)


def case_link(code: Any) -> str | None:
    """The case page's address, or None while no case page is installed (the lifecycle area owns
    it). No query."""
    try:
        pattern = reverse("cases:case-detail", kwargs={"code": _PLACEHOLDER})
    except NoReverseMatch:
        return None
    return pattern.replace(str(_PLACEHOLDER), str(code))


def days_since(moment: datetime.datetime | None, now: datetime.datetime) -> int | None:
    return None if moment is None else max((now - moment).days, 0)


# --- the psychology teacher's worklist -------------------------------------------------------


def handled_cases(*, principal: Principal, cap: str = Cap.HANDLE_CASES) -> QuerySet[Case]:
    return visible_cases(principal=principal, cap=cap)


def worklist_alerts(*, principal: Principal) -> QuerySet[Alert]:
    """Open alerts by their next deadline (acknowledge-by while new, else verify-by), in SQL."""
    return (
        list_alerts(principal=principal)
        .select_related("owner__staff")
        .annotate(
            next_deadline_at=When_(
                When(status=Status.NEW, acknowledge_by__isnull=False, then=F("acknowledge_by")),
                default=F("verify_by"),
            )
        )
        .order_by("next_deadline_at", "id")
    )


def overdue_follow_ups(
    *, principal: Principal, cap: str = Cap.HANDLE_CASES, now: datetime.datetime | None = None
) -> QuerySet[Case]:
    """Open cases whose next follow-up was due before now, most overdue first."""
    return (
        visible_cases(principal=principal, cap=cap)
        .filter(status=CaseStatus.OPEN)
        .filter(next_follow_up_due__lt=_now(now))
        .select_related(*_STUDENT, "owner", "owner__staff")
        .order_by("next_follow_up_due", "id")
    )


def follow_ups_due_today(
    *, principal: Principal, cap: str = Cap.HANDLE_CASES, now: datetime.datetime | None = None
) -> QuerySet[Case]:
    """Open cases whose next follow-up falls between now and midnight (Beijing time)."""
    now = _now(now)
    return (
        visible_cases(principal=principal, cap=cap)
        .filter(status=CaseStatus.OPEN)
        .filter(next_follow_up_due__gte=now, next_follow_up_due__lt=end_of_today(now))
        .select_related(*_STUDENT, "owner", "owner__staff")
        .order_by("next_follow_up_due", "id")
    )


def referrals_awaiting_feedback(
    *, principal: Principal, cap: str = Cap.HANDLE_CASES
) -> QuerySet[Referral]:
    """Referrals sent, received or seen but without feedback yet, oldest first."""
    return (
        Referral.objects.filter(
            case__in=visible_cases(principal=principal, cap=cap), status__in=AWAITING_FEEDBACK
        )
        .select_related("case", *_STUDENT, "hospital")
        .order_by("sent_at", "id")
    )


def pending_step_downs(
    *, principal: Principal, cap: str = Cap.HANDLE_CASES
) -> QuerySet[StepDownRequest]:
    """Step-down (or closure) requests waiting for the moral-education leader, oldest first."""
    return (
        StepDownRequest.objects.filter(
            case__in=visible_cases(principal=principal, cap=cap), status=RequestStatus.PENDING
        )
        .select_related(
            "case", "case__student", "case__student__school_class", "requested_by__staff"
        )
        .order_by("requested_at", "id")
    )


def pending_transfers(
    *, principal: Principal, cap: str = Cap.HANDLE_CASES
) -> QuerySet[CaseTransfer]:
    """Transfers not yet accepted: outgoing ones of the user's cases, and incoming ones the station
    has forwarded to a school of the user's (the case is not theirs until they accept it)."""
    incoming = Q(
        to_school__in=principal.units(cap),
        status=TransferStatus.FORWARDED,
    )
    return (
        CaseTransfer.objects.filter(
            Q(case__in=visible_cases(principal=principal, cap=cap)) | incoming,
            status__in=PENDING_TRANSFER,
        )
        .select_related(
            "case", "case__student", "case__student__school_class", "from_school", "to_school"
        )
        .order_by("requested_at", "id")
    )


def is_incoming(principal: Principal, transfer: CaseTransfer, cap: str = Cap.HANDLE_CASES) -> bool:
    return principal.sees_unit(transfer.to_school, cap) and not principal.sees_unit(
        transfer.from_school, cap
    )


def red_without_acknowledgement(
    *, principal: Principal, cap: str = Cap.HANDLE_CASES
) -> QuerySet[Case]:
    """Open red cases with no guardian contact that informed of red and carries the signed
    acknowledgement (R: the guardian of a red case signs that they were told)."""
    acknowledged = GuardianContact.objects.filter(
        case=OuterRef("pk"), informed_of_level=Level.RED, acknowledgement__isnull=False
    )
    return (
        visible_cases(principal=principal, cap=cap)
        .filter(status=CaseStatus.OPEN)
        .filter(level=Level.RED)
        .filter(~Exists(acknowledged))
        .select_related(*_STUDENT, "owner", "owner__staff")
        .order_by("level_since", "id")
    )


# --- head teacher, mentor, committee member: attention and tasks ------------------------------


def class_attention(*, principal: Principal) -> QuerySet[Student]:
    """Students of the head teacher's classes with an open case or an open alert. The rows carry
    nothing else: no level, score, answer or note (T2 "needs attention" only)."""
    open_case = Case.objects.filter(student=OuterRef("pk"), status=CaseStatus.OPEN)
    open_alert = Alert.objects.filter(student=OuterRef("pk"), status__in=OPEN_STATUSES)
    return (
        principal.students(tier=Tier.T2, cap=Cap.VIEW_CLASS_ATTENTION)
        .filter(Q(Exists(open_case)) | Q(Exists(open_alert)))
        .select_related("school_class", "school_class__parent")
        .only("code", "name", "school_class__name", "school_class__parent__name")
        .order_by("school_class__path", "name", "id")
    )


def class_family_circumstances(*, principal: Principal) -> QuerySet[Student]:
    """Students of the head teacher's classes whose family circumstances raise attention (R26:
    left-behind, orphaned, …): the flags only, which the class roster shows already."""
    from xinqiao.people.models import FAMILY_FLAGS

    flagged = Q(pk__in=[])
    for flag in FAMILY_FLAGS:
        flagged |= Q(**{flag: True})
    return (
        principal.students(tier=Tier.T2, cap=Cap.VIEW_CLASS_ATTENTION)
        .enrolled()
        .filter(flagged)
        .select_related("school_class", "school_class__parent")
        .order_by("school_class__path", "name", "id")
    )


def my_tasks(*, principal: Principal) -> QuerySet[CaseTeamMember]:
    """The user's active team tasks on open cases of students in their scope (a membership left
    over after the user changed class shows nothing)."""
    return (
        CaseTeamMember.objects.filter(
            user=principal.user,
            removed_at__isnull=True,
            case__status=CaseStatus.OPEN,
            case__student__in=principal.students(tier=Tier.NONE, cap=Cap.VIEW_CASE_TASKS),
        )
        .select_related("case__student", "case__student__school_class")
        .only(
            "tier",
            "task",
            "added_at",
            "case__code",
            "case__student__code",
            "case__student__name",
            "case__student__school_class__name",
        )
        .order_by("added_at", "id")
    )


def only_peer_tasks(principal: Principal) -> bool:
    """A committee member (and nobody else of the class team) sees only "keep an eye"."""
    return not principal.has_role(Role.HEAD_TEACHER, Role.MENTOR)


def is_peer_task(member: CaseTeamMember) -> bool:
    return member.tier == TeamTier.PEERS


# --- the moral-education leader's overdue board -----------------------------------------------


def level_counts(*, principal: Principal, cap: str = Cap.APPROVE_LEVEL_CHANGES) -> dict[str, int]:
    """Open cases per level in one query."""
    rows = (
        visible_cases(principal=principal, cap=cap)
        .filter(status=CaseStatus.OPEN)
        .order_by()
        .values("level")
        .annotate(n=Count("id"))
    )
    counts = {str(level): 0 for level in LEVELS}
    for row in rows:
        counts[row["level"]] = row["n"]
    return counts


def _areas_q(principal: Principal, cap: str, field: str) -> Q:
    return subtree_q(*[g.area for g in principal.grants_with(cap)], field=field)


def overdue_alerts(
    *,
    principal: Principal,
    cap: str = Cap.APPROVE_LEVEL_CHANGES,
    now: datetime.datetime | None = None,
) -> QuerySet[Alert]:
    """Open alerts past their deadline (acknowledge-by while new, or verify-by)."""
    now = _now(now)
    late = Q(status=Status.NEW, acknowledge_by__lt=now) | Q(verify_by__lt=now)
    return (
        list_alerts(principal=principal)
        .filter(_areas_q(principal, cap, "school__path"))
        .filter(late)
        .select_related("owner__staff")
    )


def escalations_received(
    *,
    principal: Principal,
    cap: str = Cap.APPROVE_LEVEL_CHANGES,
    now: datetime.datetime | None = None,
) -> QuerySet[Escalation]:
    """Escalations to the moral-education leader: all of alerts still open, and those of the last
    RECENT_ESCALATION_DAYS days; newest first."""
    now = _now(now)
    alerts = list_alerts(principal=principal, open_only=False)
    recent = Q(alert__status__in=OPEN_STATUSES) | Q(
        escalated_at__gte=now - datetime.timedelta(days=RECENT_ESCALATION_DAYS)
    )
    return (
        Escalation.objects.filter(alert__in=alerts, step__in=LEADER_STEPS)
        .filter(_areas_q(principal, cap, "school__path"))
        .filter(recent)
        .select_related("alert", "alert__student", "alert__student__school_class")
        .order_by("-escalated_at", "-id")
    )


# --- the red-case boards ----------------------------------------------------------------------


def _sub_principal(principal: Principal, *roles: str) -> Principal:
    """The same user with only the VIEW_RED_BOARD grants of these roles (a user may hold both)."""
    grants = [g for g in principal.grants_with(Cap.VIEW_RED_BOARD) if g.role in roles]
    return Principal(user=principal.user, grants=grants)


def station_red_cases(*, principal: Principal) -> QuerySet[Case]:
    """Red and escalated open cases of the station's district (visible_cases decides which),
    red first and longest at red first; with the last follow-up and the latest referral status."""
    station = _sub_principal(principal, Role.STATION_COUNSELLOR)
    last_follow_up = FollowUp.objects.filter(case=OuterRef("pk")).order_by("-done_at", "-id")
    last_referral = (
        Referral.objects.filter(case=OuterRef("pk"))
        .exclude(status=ReferralStatus.CANCELLED)
        .order_by("-sent_at", "-id")
    )
    return (
        visible_cases(principal=station, cap=Cap.VIEW_RED_BOARD)
        .filter(status=CaseStatus.OPEN)
        .annotate(
            last_follow_up_at=Subquery(last_follow_up.values("done_at")[:1]),
            referral_status=Subquery(last_referral.values("status")[:1]),
            red_first=When_(When(level=Level.RED, then=0), default=1),
        )
        .select_related(*_STUDENT, "school", "owner", "owner__staff")
        .order_by("red_first", "level_since", "id")
    )


def red_station_q() -> Q:
    """The case's alert (one that opened, raised or joined it) went to the district station at
    +24 h, or one of the student's alerts did while the case was open."""
    via_history = LevelChange.objects.filter(
        case=OuterRef("pk"), alert__escalations__step=EscalationStep.RED_STATION
    )
    while_open = Escalation.objects.filter(
        step=EscalationStep.RED_STATION,
        alert__student_id=OuterRef("student_id"),
        escalated_at__gte=OuterRef("opened_at"),
    )
    return Q(Exists(via_history)) | Q(Exists(while_open))


def city_red_cases(*, principal: Principal) -> QuerySet[Case]:
    """For the city: only open red cases escalated to the station (+24 h). The page shows school,
    class and days — no name, no notes, no link (the city has no case page)."""
    city = _sub_principal(principal, Role.CITY_ADMIN)
    last_escalation = Escalation.objects.filter(
        step=EscalationStep.RED_STATION, alert__student_id=OuterRef("student_id")
    ).order_by("-escalated_at")
    return (
        visible_cases(principal=city, cap=Cap.VIEW_RED_BOARD)
        .filter(status=CaseStatus.OPEN)
        .filter(level=Level.RED)
        .filter(red_station_q())
        .annotate(escalated_at=Subquery(last_escalation.values("escalated_at")[:1]))
        .select_related("school", "student__school_class")
        .only("level_since", "opened_at", "school__name", "student__school_class__name")
        .order_by("escalated_at", "id")
    )


def city_red_alerts(*, principal: Principal) -> QuerySet[Escalation]:
    """Red alerts escalated to the station (+24 h) and still not verified (no case yet)."""
    city = _sub_principal(principal, Role.CITY_ADMIN)
    areas = subtree_q(*[g.area for g in city.grants], field="school__path")
    return (
        Escalation.objects.filter(
            areas,
            step=EscalationStep.RED_STATION,
            alert__status__in=OPEN_STATUSES,
            alert__level=Level.RED,
        )
        .select_related("school", "alert__student__school_class")
        .only("escalated_at", "school__name", "alert__student__school_class__name")
        .order_by("escalated_at", "id")
    )


# --- aggregates with small cells suppressed ---------------------------------------------------

AGG_COLUMNS = (*[str(level) for level in LEVELS], "total")


@dataclass
class AggregateTable:
    area: OrgUnit
    by: str  # "district" or "school"
    rows: list[dict[str, Any]]  # {"unit": OrgUnit | None, "cells": [red, orange, yellow, total]}
    total: dict[str, Any]


def _aggregate_units(area: OrgUnit, by: str) -> list[OrgUnit]:
    if by == "district":
        units = OrgUnit.objects.filter(parent=area, kind=Kind.DISTRICT)
    else:
        units = OrgUnit.objects.filter(subtree_q(area), kind=Kind.SCHOOL)
    return list(units.order_by("path"))


def case_aggregates(*, principal: Principal) -> list[AggregateTable]:
    """Open cases per level per district (a city-wide grant) or per school (a district's), for each
    area the user's red-board grants cover: two queries per area, cells under 5 suppressed."""
    tables = []
    seen: set[int] = set()
    for grant in principal.grants_with(Cap.VIEW_RED_BOARD):
        area = grant.area
        if area.pk in seen:
            continue
        seen.add(area.pk)
        by = "district" if area.kind == Kind.CITY else "school"
        group = "school__parent_id" if by == "district" else "school_id"
        counts = (
            Case.objects.open()
            .filter(subtree_q(area, field="school__path"))
            .order_by()
            .values(group, "level")
            .annotate(n=Count("id"))
        )
        units = _aggregate_units(area, by)
        by_unit: dict[int | None, dict[str, int]] = {u.pk: {} for u in units}
        for row in counts:
            by_unit.setdefault(row[group], {})[row["level"]] = row["n"]
        unit_of = {u.pk: u for u in units}
        raw: list[dict[str, Any]] = []
        for pk, cells in by_unit.items():
            row = {str(level): cells.get(str(level), 0) for level in LEVELS}
            row["total"] = sum(row.values())
            # Schools right under the city (no district) are grouped under the city itself.
            row["unit"] = unit_of.get(pk) if pk is not None else None
            if pk == area.pk:
                row["unit"] = area
            raw.append(row)
        total = {c: sum(r[c] for r in raw) for c in AGG_COLUMNS}
        total["unit"] = area
        safe = suppress_table([*raw, total], AGG_COLUMNS)
        for row in safe:
            row["cells"] = [row[c] for c in AGG_COLUMNS]
        tables.append(AggregateTable(area=area, by=by, rows=safe[:-1], total=safe[-1]))
    return tables


# --- the student's archive (profile section) --------------------------------------------------


@dataclass
class ArchivedCase:
    case: Case
    history: list[LevelChange]
    alerts: list[Alert]


def archive_cases(*, principal: Principal, student: Student) -> list[Case]:
    return list(
        visible_cases(principal=principal)
        .filter(student=student)
        .select_related("school", "owner__staff")
        .prefetch_related("level_changes", "level_changes__changed_by__staff")
        .order_by("opened_at", "id")
    )


def archive_section(principal: Principal, student: Any) -> ProfileSection | None:
    """All cases of the student across years (the level history of each, opened and closed dates,
    how it ended) and all alerts with their outcome, for roles that see cases (T2 or above) of
    this student. Levels only: reasons and notes stay on the case page."""
    if not principal.can(Cap.VIEW_CASES) or principal.tier_for(student) < Tier.T2:
        return None
    cases = archive_cases(principal=principal, student=student)
    alerts = list(
        list_alerts(principal=principal, open_only=False)
        .filter(student=student)
        .order_by("created_at", "id")
    )
    alert_case: dict[int, Case] = {}
    for case in cases:
        for change in case.level_changes.all():
            if change.alert_id is not None:
                alert_case.setdefault(change.alert_id, case)
    archived = [
        ArchivedCase(
            case=case,
            history=list(case.level_changes.all()),
            alerts=[a for a in alerts if alert_case.get(a.pk) is case],
        )
        for case in cases
    ]
    for alert in alerts:
        alert.archive_case = alert_case.get(alert.pk)  # type: ignore[attr-defined]
    for case in cases:
        case.case_url = case_link(case.code)  # type: ignore[attr-defined]
    return ProfileSection(
        template="cases/boards/_archive.html",
        context={"archived_cases": archived, "archive_alerts": alerts},
        fields_read=("cases", "cases.level_history", "alerts"),
    )


def with_attrs(rows: Iterable[Any], **computed: Any) -> None:
    """Set computed attributes on each row of a page (days overdue and the like): computed maps
    an attribute name to a function of the row."""
    for row in rows:
        for name, fn in computed.items():
            setattr(row, name, fn(row))


# --- counts for the home page and the navigation ----------------------------------------------
# Each is one query (an aggregate), whatever the number of rows.


def _late_alert_q(now: datetime.datetime) -> Q:
    return Q(status=Status.NEW, acknowledge_by__lt=now) | Q(verify_by__lt=now)


def alert_counts(
    *, principal: Principal, cap: str = Cap.HANDLE_CASES, now: datetime.datetime | None = None
) -> dict[str, int]:
    """Open alerts in scope ("open") and those past their deadline ("late"), in one query."""
    return (
        list_alerts(principal=principal)
        .filter(_areas_q(principal, cap, "school__path"))
        .order_by()
        .aggregate(open=Count("id"), late=Count("id", filter=_late_alert_q(_now(now))))
    )


def follow_up_counts(
    *, principal: Principal, cap: str = Cap.HANDLE_CASES, now: datetime.datetime | None = None
) -> dict[str, int]:
    """Open cases ("open"), their follow-ups overdue ("overdue") and due later today ("today")."""
    now = _now(now)
    return (
        visible_cases(principal=principal, cap=cap)
        .filter(status=CaseStatus.OPEN)
        .order_by()
        .aggregate(
            open=Count("id"),
            overdue=Count("id", filter=Q(next_follow_up_due__lt=now)),
            today=Count(
                "id",
                filter=Q(next_follow_up_due__gte=now, next_follow_up_due__lt=end_of_today(now)),
            ),
        )
    )


def overdue_count(
    *, principal: Principal, cap: str = Cap.HANDLE_CASES, now: datetime.datetime | None = None
) -> int:
    """Alerts past their deadline plus follow-ups overdue (the navigation's red badge): two
    queries."""
    now = _now(now)
    late = alert_counts(principal=principal, cap=cap, now=now)["late"]
    return late + follow_up_counts(principal=principal, cap=cap, now=now)["overdue"]


def station_red_counts(
    *, principal: Principal, now: datetime.datetime | None = None
) -> dict[str, int]:
    """The station's open red cases ("red") and those whose follow-up is overdue ("late")."""
    station = _sub_principal(principal, Role.STATION_COUNSELLOR)
    return (
        visible_cases(principal=station, cap=Cap.VIEW_RED_BOARD)
        .filter(status=CaseStatus.OPEN, level=Level.RED)
        .order_by()
        .aggregate(red=Count("id"), late=Count("id", filter=Q(next_follow_up_due__lt=_now(now))))
    )
