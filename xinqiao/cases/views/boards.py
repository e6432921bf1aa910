"""The boards: each role's working list (issue 5). Thin: scope and rows come from
selectors.boards; the views paginate (each section of a page has its own page parameter) and
render. Nothing here writes, and nothing here shows a note."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from xinqiao.access.decorators import requires
from xinqiao.access.roles import Cap, Role
from xinqiao.access.scope import Principal, PrincipalRequest
from xinqiao.analytics.disclosure import SMALL_CELL
from xinqiao.audit.services import record_list_read
from xinqiao.cases.panels import Panel
from xinqiao.core import navigation
from xinqiao.core.navigation import NavItem

from ..models import ReferralStatus
from ..selectors import boards as selectors

PAGE_SIZE = 20


@dataclass
class Section:
    key: str  # the section's page parameter and its anchor
    title: str | Promise
    page: Page
    rows: str  # template of the rows
    empty: str | Promise
    hint: str | Promise = ""

    @property
    def count(self) -> int:
        return self.page.paginator.count


def _page(request: HttpRequest, rows: Any, key: str) -> Page:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get(key))


def _audit_sections(request: PrincipalRequest, action: str, sections: list[Section]) -> None:
    """The board lists named students with their level: an audited read of what was shown."""
    rows = [row for section in sections for row in section.page]
    shown = [section.key for section in sections if len(section.page.object_list)]
    record_list_read(
        actor=request.user,
        action=action,
        rows=rows,
        read=["name", "level"],
        fields={"sections": shown},
    )


def _link_cases(rows: Any, get_code: Any) -> None:
    selectors.with_attrs(rows, case_url=lambda row: selectors.case_link(get_code(row)))


@requires(Cap.HANDLE_CASES)
def worklist(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    now = timezone.now()
    sections = [
        Section(
            "alerts",
            _("Alerts to acknowledge and verify, by deadline"),
            _page(request, selectors.worklist_alerts(principal=principal), "alerts"),
            "cases/boards/_rows_alerts.html",
            _("No open alerts."),
        ),
        Section(
            "overdue",
            _("Overdue follow-ups"),
            _page(request, selectors.overdue_follow_ups(principal=principal, now=now), "overdue"),
            "cases/boards/_rows_follow_ups.html",
            _("No follow-up is overdue."),
        ),
        Section(
            "today",
            _("Follow-ups due today"),
            _page(request, selectors.follow_ups_due_today(principal=principal, now=now), "today"),
            "cases/boards/_rows_follow_ups.html",
            _("No more follow-ups due today."),
        ),
        Section(
            "referrals",
            _("Referrals awaiting feedback"),
            _page(request, selectors.referrals_awaiting_feedback(principal=principal), "referrals"),
            "cases/boards/_rows_referrals.html",
            _("No referral is waiting for feedback."),
        ),
        Section(
            "acks",
            _("Red cases without the guardian's signed acknowledgement"),
            _page(request, selectors.red_without_acknowledgement(principal=principal), "acks"),
            "cases/boards/_rows_acks.html",
            _("Every red case has the guardian's signed acknowledgement."),
        ),
        Section(
            "stepdowns",
            _("Step-down requests awaiting the leader's decision"),
            _page(request, selectors.pending_step_downs(principal=principal), "stepdowns"),
            "cases/boards/_rows_step_downs.html",
            _("No step-down request is pending."),
        ),
        Section(
            "transfers",
            _("Transfers pending"),
            _page(request, selectors.pending_transfers(principal=principal), "transfers"),
            "cases/boards/_rows_transfers.html",
            _("No transfer is pending."),
        ),
    ]
    by_key = {s.key: s for s in sections}
    selectors.with_attrs(
        by_key["overdue"].page,
        days=lambda c: selectors.days_since(c.next_follow_up_due, now),
    )
    selectors.with_attrs(
        by_key["referrals"].page, days=lambda r: selectors.days_since(r.sent_at, now)
    )
    selectors.with_attrs(
        by_key["acks"].page, days=lambda c: selectors.days_since(c.level_since, now)
    )
    selectors.with_attrs(
        by_key["transfers"].page, incoming=lambda t: selectors.is_incoming(principal, t)
    )
    for key in ("overdue", "today", "acks"):
        _link_cases(by_key[key].page, lambda c: c.code)
    for key in ("referrals", "stepdowns", "transfers"):
        _link_cases(by_key[key].page, lambda row: row.case.code)
    _audit_sections(request, "cases.worklist.viewed", sections)
    return render(request, "cases/boards/worklist.html", {"sections": sections, "now": now})


@requires(Cap.VIEW_CLASS_ATTENTION)
def my_class(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    students = _page(request, selectors.class_attention(principal=principal), "page")
    tasks = _page(request, selectors.my_tasks(principal=principal), "tasks")
    families = _page(request, selectors.class_family_circumstances(principal=principal), "family")
    record_list_read(
        actor=request.user,
        action="cases.class_attention.viewed",
        rows=[*students, *tasks, *families],
        read=["name", "needs_attention", "family_flags"],
    )
    return render(
        request,
        "cases/boards/my_class.html",
        {
            "students": students,
            "tasks": tasks,
            "families": families,
            "peers_only": False,
            "can_open_profile": principal.can(Cap.VIEW_STUDENTS),
        },
    )


@requires(Cap.VIEW_CASE_TASKS)
def my_tasks(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    peers_only = selectors.only_peer_tasks(principal)
    # A committee member (a child) is never shown which classmate has a case, nor how many.
    tasks = None if peers_only else _page(request, selectors.my_tasks(principal=principal), "tasks")
    if tasks is not None:
        record_list_read(
            actor=request.user, action="cases.tasks.viewed", rows=tasks, read=["name", "level"]
        )
    return render(
        request,
        "cases/boards/my_tasks.html",
        {
            "tasks": tasks,
            "peers_only": peers_only,
            "can_open_profile": principal.can(Cap.VIEW_STUDENTS),
            "can_report": principal.can(Cap.FILE_CONCERN),
        },
    )


@requires(Cap.APPROVE_LEVEL_CHANGES)
def overdue_board(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    now = timezone.now()
    cap = Cap.APPROVE_LEVEL_CHANGES
    sections = [
        Section(
            "stepdowns",
            _("Step-down requests to decide"),
            _page(request, selectors.pending_step_downs(principal=principal, cap=cap), "stepdowns"),
            "cases/boards/_rows_step_downs.html",
            _("No step-down request is pending."),
        ),
        Section(
            "overdue",
            _("Overdue follow-ups"),
            _page(
                request,
                selectors.overdue_follow_ups(principal=principal, cap=cap, now=now),
                "overdue",
            ),
            "cases/boards/_rows_follow_ups.html",
            _("No follow-up is overdue."),
        ),
        Section(
            "alerts",
            _("Alerts past their deadline"),
            _page(request, selectors.overdue_alerts(principal=principal, now=now), "alerts"),
            "cases/boards/_rows_alerts.html",
            _("No alert is past its deadline."),
        ),
        Section(
            "escalations",
            _("Escalations received"),
            _page(
                request, selectors.escalations_received(principal=principal, now=now), "escalations"
            ),
            "cases/boards/_rows_escalations.html",
            _("No escalation in the last 30 days."),
        ),
    ]
    by_key = {s.key: s for s in sections}
    selectors.with_attrs(
        by_key["overdue"].page,
        days=lambda c: selectors.days_since(c.next_follow_up_due, now),
    )
    _link_cases(by_key["overdue"].page, lambda c: c.code)
    _link_cases(by_key["stepdowns"].page, lambda r: r.case.code)
    _audit_sections(request, "cases.overdue_board.viewed", sections)
    return render(
        request,
        "cases/boards/overdue_board.html",
        {
            "sections": sections,
            "counts": selectors.level_counts(principal=principal),
            "now": now,
        },
    )


@requires(Cap.VIEW_RED_BOARD)
def red_board(request: PrincipalRequest) -> HttpResponse:
    principal = request.principal
    now = timezone.now()
    context: dict[str, Any] = {
        "aggregates": selectors.case_aggregates(principal=principal),
        "threshold": SMALL_CELL,
        "station": None,
        "city": None,
    }
    if principal.has_role(Role.STATION_COUNSELLOR):
        page = _page(request, selectors.station_red_cases(principal=principal), "page")
        selectors.with_attrs(
            page,
            days=lambda c: selectors.days_since(c.level_since, now),
            last_follow_up_days=lambda c: selectors.days_since(c.last_follow_up_at, now),
            referral_label=lambda c: (
                ReferralStatus(c.referral_status).label if c.referral_status else ""
            ),
        )
        _link_cases(page, lambda c: c.code)
        context["station"] = page
    if principal.has_role(Role.CITY_ADMIN):
        cases = _page(request, selectors.city_red_cases(principal=principal), "page")
        selectors.with_attrs(
            cases,
            days=lambda c: selectors.days_since(c.escalated_at, now),
            days_at_red=lambda c: selectors.days_since(c.level_since, now),
        )
        alerts = _page(request, selectors.city_red_alerts(principal=principal), "alerts")
        selectors.with_attrs(alerts, days=lambda e: selectors.days_since(e.escalated_at, now))
        context["city"] = cases
        context["city_alerts"] = alerts
    listed = [*(context["station"] or []), *(context["city"] or [])]
    listed += list(context.get("city_alerts") or [])
    record_list_read(
        actor=request.user, action="cases.red_board.viewed", rows=listed, read=["name", "level"]
    )
    return render(request, "cases/boards/red_board.html", context)


urlpatterns: list[Any] = [
    path("worklist/", worklist, name="worklist"),
    path("my-class/", my_class, name="my-class"),
    path("my-tasks/", my_tasks, name="my-tasks"),
    path("overdue/", overdue_board, name="overdue-board"),
    path("red-board/", red_board, name="red-board"),
]

NAV_ITEMS: list[NavItem] = [
    NavItem(
        "cases:worklist",
        _("My worklist"),
        Cap.HANDLE_CASES,
        "list-check",
        _(
            "New alerts by deadline, overdue follow-ups, referrals awaiting feedback and what "
            "else waits for you."
        ),
        order=10,  # the psychology teacher's first tile
        group=navigation.CASES,
        badge="cases_overdue",
        badge_alarm=True,
    ),
    NavItem(
        "cases:my-class",
        _("My class"),
        Cap.VIEW_CLASS_ATTENTION,
        "people",
        _("Which students of your class need attention, and your tasks."),
        group=navigation.CASES,
    ),
    NavItem(
        "cases:my-tasks",
        _("My tasks"),
        Cap.VIEW_CASE_TASKS,
        "check2-square",
        _("What you have been asked to do for students who need support."),
        group=navigation.CASES,
    ),
    NavItem(
        "cases:overdue-board",
        _("Overdue board"),
        Cap.APPROVE_LEVEL_CHANGES,
        "alarm",
        _(
            "Open cases by level, overdue follow-ups and alerts, escalations, and step-downs "
            "to approve."
        ),
        group=navigation.CASES,
        badge="school_overdue",
        badge_alarm=True,
    ),
    NavItem(
        "cases:red-board",
        _("Red-case board"),
        Cap.VIEW_RED_BOARD,
        "exclamation-octagon",
        _("Red and escalated cases, and open cases per level (small counts hidden)."),
        group=navigation.INDICATORS,
    ),
]


def panel(principal: Principal, case: Any) -> Panel | None:
    return None
