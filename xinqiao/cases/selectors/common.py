"""Which cases a user may see, and how much of them: the one place the case scope is decided.

- psychology teacher: every case of their school (T3: notes included);
- moral-education leader (school admin): the school's cases — level, owner, team, plan dates,
  overdue follow-ups, step-down requests — never notes;
- district station: red and escalated cases of its district, notes included;
- everyone else: no case page (head teachers, mentors and committee members see their tasks,
  the city its red board, a psychiatrist their referrals, through their own views).
Scope follows the case's school (`Case.school`), which changes only through a transfer.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from xinqiao.access.roles import Cap, Role
from xinqiao.access.scope import Principal
from xinqiao.alerts.models import OWNER_STEPS, Escalation, Level
from xinqiao.orgs.models import subtree_q

from ..models import Case, CaseQuerySet

NOTE_ROLES = (Role.PSYCHOLOGY_TEACHER, Role.STATION_COUNSELLOR)


def escalated_q() -> Q:
    """The case's student had an alert escalated upwards while this case was open (reminders
    that stay with the owner do not count)."""
    return Q(
        Exists(
            Escalation.objects.filter(
                alert__student_id=OuterRef("student_id"), escalated_at__gte=OuterRef("opened_at")
            ).exclude(step__in=OWNER_STEPS)
        )
    )


def _grant_q(grant: Any) -> Q:
    area_q = subtree_q(grant.area, field="school__path")
    if grant.role == Role.STATION_COUNSELLOR:
        return area_q & (Q(level=Level.RED) | escalated_q())
    return area_q


def visible_cases(*, principal: Principal, cap: str = Cap.VIEW_CASES) -> CaseQuerySet:
    q = Q(pk__in=[])
    for grant in principal.grants_with(cap):
        q |= _grant_q(grant)
    return Case.objects.filter(q)


def get_case(*, principal: Principal, code: Any, cap: str = Cap.VIEW_CASES) -> Case:
    """A case by code: 403 without the capability, 404 when it is outside the user's scope."""
    principal.require(cap)
    case = (
        visible_cases(principal=principal, cap=cap)
        .filter(code=code)
        .select_related("student", "student__school_class", "school", "owner")
        .first()
    )
    if case is None:
        raise Http404
    return case


def can_read_notes(principal: Principal, case: Case) -> bool:
    """T3 (notes, guardian contacts, referral details): the school's psychology teachers and the
    district station for the cases it sees. Callers audit the read (record_read)."""
    return any(
        g.role in NOTE_ROLES and g.area.contains(case.school)
        for g in principal.grants_with(Cap.VIEW_CASES)
    )


def can_handle(principal: Principal, case: Case) -> bool:
    """Writes on a case (follow-ups, contacts, referrals, plan, team): the school's psychology
    teachers."""
    return any(
        g.role == Role.PSYCHOLOGY_TEACHER and g.area.contains(case.school)
        for g in principal.grants_with(Cap.HANDLE_CASES)
    )


def require_handle(principal: Principal, case: Case) -> None:
    if not can_handle(principal, case):
        raise PermissionDenied


def case_link_for_alert(principal: Principal, alert: Any) -> tuple[str, str] | None:
    """(url, label) of the case the alert opened or joined, when the user may see it (the alert
    page links to it through `alerts.hooks.alert_links`)."""
    from django.urls import reverse
    from django.utils.translation import gettext as _

    if not principal.can(Cap.VIEW_CASES):
        return None
    case = (
        visible_cases(principal=principal)
        .filter(level_changes__alert=alert)
        .order_by("-opened_at", "-id")
        .first()
    )
    if case is None:
        return None
    return (
        reverse("cases:case-detail", kwargs={"code": case.code}),
        _("High-care case (%(level)s, %(status)s)")
        % {"level": case.get_level_display(), "status": case.get_status_display()},
    )
