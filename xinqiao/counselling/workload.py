"""Workload (R28): per counsellor and teacher, per week / month / term, from sources other parts
of the system add to a small registry.

A source is `fn(users, since, until) -> {user_id: number}` over the days [since, until). The
sources registered below are the columns of every workload page and export: individual sessions
held and their hours (recorded sessions, and appointments that took place without a record yet),
duty hours from the roster with its exceptions, group-session hours, hotline calls and minutes,
supervision given and received, mentor talks (the mentoring app's selector) and high-care cases
owned. Another part adds one with `register_workload_source`. No source returns anything about a
child: a number per user.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from xinqiao.mentoring.selectors import mentor_talks

from . import selectors, selectors_groups, selectors_sessions

SourceFn = Callable[[list[Any], datetime.date, datetime.date], Mapping[Any, float]]


@dataclass(frozen=True)
class WorkloadSource:
    key: str
    label: str | Promise
    fn: SourceFn


_SOURCES: dict[str, WorkloadSource] = {}


def register_workload_source(key: str, label: str | Promise, fn: SourceFn) -> None:
    """Add (or replace, by key) a column of the workload pages."""
    _SOURCES[key] = WorkloadSource(key, label, fn)


def unregister_workload_source(key: str) -> None:
    _SOURCES.pop(key, None)


def sources() -> list[WorkloadSource]:
    return list(_SOURCES.values())


@dataclass
class WorkloadRow:
    """One person's (or one unit's) numbers, in the order of `sources()`."""

    label: str
    values: list[float | int] = field(default_factory=list)
    user: Any = None
    unit: Any = None
    part_time: bool = False

    @property
    def any(self) -> bool:
        return any(self.values)


def _number(value: float | int) -> float | int:
    return round(value, 2) if isinstance(value, float) else value


def _name(user: Any) -> str:
    staff = getattr(user, "staff", None)
    return str(staff.name) if staff is not None else user.get_full_name() or user.username


def per_user(
    users: Iterable[Any],
    since: datetime.date,
    until: datetime.date,
    part_time: frozenset[Any] = frozenset(),
) -> list[WorkloadRow]:
    """One row per user: every source's number over [since, until)."""
    people = list({u.pk: u for u in users}.values())
    columns = [s.fn(people, since, until) for s in sources()] if people else []
    return [
        WorkloadRow(
            _name(u),
            [_number(col.get(u.pk, 0)) for col in columns],
            user=u,
            part_time=u.pk in part_time,
        )
        for u in people
    ]


def total(label: str, rows: list[WorkloadRow], unit: Any = None) -> WorkloadRow:
    width = len(sources())
    sums = [_number(sum(r.values[i] for r in rows)) for i in range(width)]
    return WorkloadRow(label, sums, unit=unit)


register_workload_source("sessions", _("Sessions held"), selectors.sessions_held)
register_workload_source("session_hours", _("Session hours"), selectors.session_hours)
register_workload_source("duty_hours", _("Duty hours"), selectors.duty_hours)


def _moments(since: datetime.date, until: datetime.date) -> tuple[datetime.datetime, ...]:
    """The days [since, until) as aware datetimes, for the selectors that take moments."""
    return tuple(
        timezone.make_aware(datetime.datetime.combine(day, datetime.time(0)))
        for day in (since, until)
    )


def _group_hours(users: list[Any], since: datetime.date, until: datetime.date) -> dict[Any, float]:
    return selectors_groups.group_session_hours(users, *_moments(since, until))


def _hotline(key: str) -> SourceFn:
    def fn(users: list[Any], since: datetime.date, until: datetime.date) -> dict[Any, float]:
        calls = selectors_groups.hotline_calls(users, *_moments(since, until))
        return {pk: row[key] for pk, row in calls.items()}

    return fn


def _supervision(key: str) -> SourceFn:
    def fn(users: list[Any], since: datetime.date, until: datetime.date) -> dict[Any, float]:
        hours = selectors_sessions.supervision_hours(users, *_moments(since, until))
        return {pk: row[key] for pk, row in hours.items()}

    return fn


def _mentor_talks(users: list[Any], since: datetime.date, until: datetime.date) -> dict[Any, int]:
    # mentor_talks counts both ends; the workload period ends before `until`.
    return mentor_talks(users, since, until - datetime.timedelta(days=1))


register_workload_source("group_hours", _("Group session hours"), _group_hours)
register_workload_source("hotline_calls", _("Hotline calls"), _hotline("count"))
register_workload_source("hotline_minutes", _("Hotline minutes"), _hotline("minutes"))
register_workload_source("supervision_given", _("Supervision given (h)"), _supervision("given"))
register_workload_source(
    "supervision_received", _("Supervision received (h)"), _supervision("received")
)
register_workload_source("mentor_talks", _("Mentor talks"), _mentor_talks)
register_workload_source("cases_owned", _("High-care cases owned"), selectors.cases_owned)
