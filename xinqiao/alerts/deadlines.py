"""Every alert deadline comes from `deadlines_for` (architecture: "deadlines computed by one
function"). Times are stored in UTC and shown in Asia/Shanghai.

School days are Monday to Friday inside the dates of the current term (orgs.Term with
is_current). Outside a term (holidays) the next term's first weekday counts, and when no term
covers the date at all every weekday counts, so a deadline always exists. "Same school day"
means by the end (23:59:59 Asia/Shanghai) of the day the alert was raised, or of the next school
day when it was raised on a day without school. Counting N school days starts the day after.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings

from xinqiao.orgs.models import Term

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Defaults (issue 5); override with settings.ALERT_DEADLINES (same keys).
DEFAULTS: dict[str, dict[str, float]] = {
    "red": {"acknowledge_hours": 1, "verify_school_days": 0, "guardian_school_days": 0},
    "orange": {"verify_school_days": 3},
    "yellow": {"verify_school_days": 10},
}
# Escalation offsets of a red alert from the moment it was raised to red (Alert.level_since);
# override with settings.ALERT_ESCALATION_HOURS (same keys). The other steps escalate when a
# deadline above is missed (see services.run_escalations and docs/alert-rules.md).
ESCALATION_HOURS: dict[str, float] = {"red_leader": 2, "red_station": 24}


def rules() -> dict[str, dict[str, float]]:
    configured = getattr(settings, "ALERT_DEADLINES", None) or {}
    return {level: {**DEFAULTS[level], **configured.get(level, {})} for level in DEFAULTS}


@dataclass(frozen=True)
class Deadlines:
    acknowledge_by: datetime.datetime | None
    verify_by: datetime.datetime
    guardian_informed_by: datetime.datetime | None


class SchoolCalendar:
    """Mon–Fri within the terms' dates (terms loaded once per calculation)."""

    def __init__(self) -> None:
        self.terms = list(Term.objects.order_by("start_date").values_list("start_date", "end_date"))

    def is_school_day(self, day: datetime.date) -> bool:
        if day.weekday() >= 5:
            return False
        if not self.terms:
            return True
        return any(start <= day <= end for start, end in self.terms)

    def next_school_day(self, day: datetime.date, *, include: bool) -> datetime.date:
        """The first school day on or after (include) / after `day`; weekdays past all terms."""
        d = day if include else day + datetime.timedelta(days=1)
        last_term_end = self.terms[-1][1] if self.terms else None
        for _ in range(400):
            if self.is_school_day(d):
                return d
            if last_term_end is not None and d > last_term_end and d.weekday() < 5:
                return d  # no term planned yet: weekdays count
            d += datetime.timedelta(days=1)
        return d

    def add_school_days(self, day: datetime.date, n: int) -> datetime.date:
        """The n-th school day after `day` (n = 0: `day` itself if a school day, else the next)."""
        d = self.next_school_day(day, include=True)
        for _ in range(n):
            d = self.next_school_day(d, include=False)
        return d


def end_of_day(day: datetime.date) -> datetime.datetime:
    local = datetime.datetime.combine(day, datetime.time(23, 59, 59), tzinfo=SHANGHAI)
    return local.astimezone(datetime.UTC)


def deadlines_for(
    level: str, start: datetime.datetime, calendar: SchoolCalendar | None = None
) -> Deadlines:
    """The deadlines of an alert that reached `level` at `start` (aware datetime). Pass a
    `calendar` to share one reading of the terms between many alerts."""
    conf = rules()[level]
    calendar = calendar or SchoolCalendar()
    local_day = start.astimezone(SHANGHAI).date()

    def by_school_days(n: float) -> datetime.datetime:
        return end_of_day(calendar.add_school_days(local_day, int(n)))

    ack = conf.get("acknowledge_hours")
    guardian = conf.get("guardian_school_days")
    return Deadlines(
        acknowledge_by=(start + datetime.timedelta(hours=ack)).astimezone(datetime.UTC)
        if ack is not None
        else None,
        verify_by=by_school_days(conf["verify_school_days"]),
        guardian_informed_by=by_school_days(guardian) if guardian is not None else None,
    )


def escalation_hours() -> dict[str, float]:
    configured = getattr(settings, "ALERT_ESCALATION_HOURS", None) or {}
    return {**ESCALATION_HOURS, **configured}


def escalation_due(step: str, level_since: datetime.datetime) -> datetime.datetime:
    """When a red alert raised to red at `level_since` escalates by `step` (red_leader: +2 h,
    red_station: +24 h by default)."""
    return level_since + datetime.timedelta(hours=escalation_hours()[step])
