"""The home panels of the cases area (registered in CasesConfig.ready; drawn by core's home page).

Each panel reads through selectors.boards with a fixed number of queries, and names a student
only to a user whose own board names them: the psychology teacher (their worklist), the head
teacher (their class's attention list, "needs attention" only: no level). Everyone else gets
figures: a committee member's or mentor's tasks by number only, the leader's, the station's and
the city's boards by number only."""

from __future__ import annotations

import datetime
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from xinqiao.access.roles import Cap, Role
from xinqiao.alerts.models import Level
from xinqiao.core.home import HomeCount, HomePanel, HomePanelSpec, HomeRow

from ..selectors import boards as selectors

ALERT_ROWS = 5
CLASS_ROWS = 8


def _url(name: str, anchor: str = "") -> str:
    return reverse(name) + (f"#{anchor}" if anchor else "")


def worklist_panel(principal: Any, now: datetime.datetime) -> HomePanel:
    """The psychology teacher: new alerts by deadline (nearest first), overdue follow-ups, what
    falls due today, referrals waiting for the hospital."""
    alerts = selectors.alert_counts(principal=principal, now=now)
    follow_ups = selectors.follow_up_counts(principal=principal, now=now)
    referrals = selectors.referrals_awaiting_feedback(principal=principal).count()
    rows = list(selectors.worklist_alerts(principal=principal)[:ALERT_ROWS])
    worklist = "cases:worklist"
    return HomePanel(
        title=_("What needs me now"),
        url=_url(worklist),
        counts=[
            HomeCount(_("Open alerts"), alerts["open"], _url(worklist, "alerts"), key="alerts"),
            HomeCount(
                _("Alerts past deadline"),
                alerts["late"],
                _url(worklist, "alerts"),
                alarm=True,
                key="late_alerts",
            ),
            HomeCount(
                _("Overdue follow-ups"),
                follow_ups["overdue"],
                _url(worklist, "overdue"),
                alarm=True,
                key="overdue",
            ),
            HomeCount(
                _("Follow-ups due today"), follow_ups["today"], _url(worklist, "today"), key="today"
            ),
            HomeCount(
                _("Referrals awaiting feedback"),
                referrals,
                _url(worklist, "referrals"),
                key="referrals",
            ),
        ],
        rows=[
            HomeRow(
                label=a.student.name,
                url=reverse("alerts:alert-detail", kwargs={"code": a.code}),
                due=a.next_deadline_at,  # type: ignore[attr-defined]  # annotated in SQL
                note=Level(a.level).label,
            )
            for a in rows
        ],
        empty=_("Nothing is waiting for you."),
    )


def my_class_panel(principal: Any, now: datetime.datetime) -> HomePanel:
    """The head teacher: which students of their own classes need attention (no level), and
    their tasks."""
    attention = selectors.class_attention(principal=principal)
    names = list(attention[:CLASS_ROWS])
    total = attention.count()
    tasks = selectors.my_tasks(principal=principal).count()
    url = _url("cases:my-class")
    return HomePanel(
        title=_("My class"),
        url=url,
        counts=[
            HomeCount(_("Students needing attention"), total, url, key="attention"),
            HomeCount(_("My tasks"), tasks, url, key="tasks"),
        ],
        rows=[
            HomeRow(label=s.name, url=url, note=s.school_class.name if s.school_class else "")
            for s in names
        ],
        empty=_("No student of your class needs attention now."),
    )


def my_tasks_panel(principal: Any, now: datetime.datetime) -> HomePanel | None:
    """Mentors: how many tasks they have, never whose (the tasks page shows what their tier
    allows). Committee members get no panel."""
    if principal.can(Cap.VIEW_CLASS_ATTENTION):
        return None  # the head teacher's class panel already counts them
    if selectors.only_peer_tasks(principal):
        return None  # a committee member is a child: not even how many classmates have a case
    url = _url("cases:my-tasks")
    return HomePanel(
        title=_("My tasks"),
        url=url,
        counts=[
            HomeCount(
                _("Open tasks"), selectors.my_tasks(principal=principal).count(), url, key="tasks"
            )
        ],
        empty=_("You have no task now."),
    )


def overdue_board_panel(principal: Any, now: datetime.datetime) -> HomePanel:
    """The moral-education leader (school administrator): the overdue board in figures."""
    cap = Cap.APPROVE_LEVEL_CHANGES
    levels = selectors.level_counts(principal=principal)
    alerts = selectors.alert_counts(principal=principal, cap=cap, now=now)
    follow_ups = selectors.follow_up_counts(principal=principal, cap=cap, now=now)
    step_downs = selectors.pending_step_downs(principal=principal, cap=cap).count()
    board = "cases:overdue-board"
    return HomePanel(
        title=_("Overdue board"),
        url=_url(board),
        counts=[
            HomeCount(
                _("Alerts past deadline"),
                alerts["late"],
                _url(board, "alerts"),
                alarm=True,
                key="late_alerts",
            ),
            HomeCount(
                _("Overdue follow-ups"),
                follow_ups["overdue"],
                _url(board, "overdue"),
                alarm=True,
                key="overdue",
            ),
            HomeCount(
                _("Step-downs to decide"), step_downs, _url(board, "stepdowns"), key="stepdowns"
            ),
            *[
                HomeCount(
                    _("Open %(level)s cases") % {"level": Level(level).label},
                    levels[str(level)],
                    _url(board),
                    key=str(level),
                )
                for level in selectors.LEVELS
            ],
        ],
    )


def red_board_panel(principal: Any, now: datetime.datetime) -> HomePanel:
    """The district station and the city: red cases past their deadline, in figures."""
    url = _url("cases:red-board")
    counts = []
    if principal.has_role(Role.STATION_COUNSELLOR):
        station = selectors.station_red_counts(principal=principal, now=now)
        counts += [
            HomeCount(_("Open red cases"), station["red"], url, key="red"),
            HomeCount(
                _("Red cases with follow-up overdue"),
                station["late"],
                url,
                alarm=True,
                key="red_late",
            ),
        ]
    if principal.has_role(Role.CITY_ADMIN):
        counts += [
            HomeCount(
                _("Red alerts past deadline, not verified"),
                selectors.city_red_alerts(principal=principal).count(),
                url,
                alarm=True,
                key="city_alerts",
            ),
            HomeCount(
                _("Red cases escalated to the station"),
                selectors.city_red_cases(principal=principal).count(),
                url,
                alarm=True,
                key="city_cases",
            ),
        ]
    return HomePanel(title=_("Red cases"), url=url, counts=counts)


HOME_PANELS = [
    HomePanelSpec("cases.worklist", Cap.HANDLE_CASES, worklist_panel, 10),
    HomePanelSpec("cases.my_class", Cap.VIEW_CLASS_ATTENTION, my_class_panel, 20),
    HomePanelSpec("cases.my_tasks", Cap.VIEW_CASE_TASKS, my_tasks_panel, 30),
    HomePanelSpec("cases.overdue_board", Cap.APPROVE_LEVEL_CHANGES, overdue_board_panel, 40),
    HomePanelSpec("cases.red_board", Cap.VIEW_RED_BOARD, red_board_panel, 50),
]

# The navigation's red badges (xinqiao.core.navigation.register_badge).
BADGES = {
    "cases_overdue": lambda principal: selectors.overdue_count(principal=principal),
    "school_overdue": lambda principal: selectors.overdue_count(
        principal=principal, cap=Cap.APPROVE_LEVEL_CHANGES
    ),
}
