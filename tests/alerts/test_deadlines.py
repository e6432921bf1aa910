"""School-day deadlines from the term calendar (deadlines.deadlines_for) and escalation due
times, beyond the weekend and winter-holiday cases in test_flows / test_escalation_once."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.factories import TermFactory
from xinqiao.alerts.deadlines import SchoolCalendar, deadlines_for, escalation_due
from xinqiao.orgs.services import create_term

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
H = datetime.timedelta(hours=1)


def end_of(day: str) -> datetime.datetime:
    return datetime.datetime.combine(
        datetime.date.fromisoformat(day), datetime.time(23, 59, 59), tzinfo=SH
    )


def at(day: str, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(
        datetime.date.fromisoformat(day), datetime.time(hour, minute), tzinfo=SH
    )


@pytest.fixture
def autumn():
    """The autumn term Tue 2026-09-01 … Fri 2027-01-22."""
    return TermFactory()


@pytest.fixture
def spring(autumn):
    """The spring term after the winter holiday: Mon 2027-02-22 … Fri 2027-07-02."""
    return create_term(
        actor=None,
        school_year_start=2026,
        season="spring",
        start_date=datetime.date(2027, 2, 22),
        end_date=datetime.date(2027, 7, 2),
    )


def test_without_any_term_every_weekday_is_a_school_day():
    wednesday = at("2026-12-30")
    assert deadlines_for("red", wednesday).verify_by == end_of("2026-12-30")
    # Thu, Fri, then Mon: only the weekend is skipped
    assert deadlines_for("orange", wednesday).verify_by == end_of("2027-01-04")


def test_red_raised_in_the_winter_holiday_is_due_the_first_day_of_the_next_term(spring):
    holiday = at("2027-02-03")
    d = deadlines_for("red", holiday)
    assert d.verify_by == end_of("2027-02-22")
    assert d.guardian_informed_by == end_of("2027-02-22")
    # acknowledging is counted in hours, holiday or not
    assert d.acknowledge_by == holiday + H


def test_a_count_from_a_day_without_school_starts_from_the_next_school_day(spring):
    # Raised in the holiday, the alert counts as raised on the first day of term (as the red
    # "same school day" does), so its three school days are Tue, Wed, Thu.
    assert deadlines_for("orange", at("2027-02-03")).verify_by == end_of("2027-02-25")
    saturday = at("2026-11-28")
    assert deadlines_for("orange", saturday).verify_by == end_of("2026-12-03")


def test_past_the_last_planned_term_weekdays_count(autumn):
    thursday = at("2027-01-21")  # the autumn term ends Fri 1/22 and no spring term is planned
    assert deadlines_for("orange", thursday).verify_by == end_of("2027-01-26")  # Fri, Mon, Tue
    saturday_after = at("2027-01-23")
    assert deadlines_for("red", saturday_after).verify_by == end_of("2027-01-25")


def test_weekdays_before_the_first_term_wait_for_it(autumn):
    # Thu 8/27 and Mon 8/31 are summer holiday: the term starts Tue 9/1.
    assert deadlines_for("red", at("2026-08-27")).verify_by == end_of("2026-09-01")
    assert deadlines_for("orange", at("2026-08-31")).verify_by == end_of("2026-09-04")


def test_yellow_ten_school_days_span_the_term_break(spring):
    # Mon 1/18: Tue 1/19 … Fri 1/22 (4), then from Mon 2/22 six more: Mon 3/1.
    assert deadlines_for("yellow", at("2027-01-18")).verify_by == end_of("2027-03-01")


def test_the_school_day_is_the_day_in_shanghai_not_in_utc(autumn):
    late_friday = datetime.datetime(2026, 11, 27, 15, 59, tzinfo=datetime.UTC)  # 23:59 in SH
    saturday_early = datetime.datetime(2026, 11, 27, 16, 30, tzinfo=datetime.UTC)  # 00:30 Sat
    assert deadlines_for("red", late_friday).verify_by == end_of("2026-11-27")
    assert deadlines_for("red", saturday_early).verify_by == end_of("2026-11-30")


def test_deadlines_are_stored_in_utc(autumn):
    d = deadlines_for("red", at("2026-11-30", 9))
    assert d.verify_by.tzinfo == datetime.UTC
    assert d.verify_by == datetime.datetime(2026, 11, 30, 15, 59, 59, tzinfo=datetime.UTC)
    assert d.acknowledge_by is not None
    assert d.acknowledge_by.tzinfo == datetime.UTC


def test_only_red_has_an_acknowledge_and_a_guardian_deadline(autumn):
    for level in ("orange", "yellow"):
        d = deadlines_for(level, at("2026-11-30"))
        assert (d.acknowledge_by, d.guardian_informed_by) == (None, None)


def test_configured_deadlines_override_only_the_keys_given(autumn, settings):
    settings.ALERT_DEADLINES = {
        "orange": {"verify_school_days": 1},
        "yellow": {"acknowledge_hours": 4},
    }
    friday = at("2026-11-27")
    assert deadlines_for("orange", friday).verify_by == end_of("2026-11-30")
    yellow = deadlines_for("yellow", friday)
    assert yellow.acknowledge_by == friday + 4 * H
    assert yellow.verify_by == end_of("2026-12-11")  # still 10 school days
    red = deadlines_for("red", friday)
    assert (red.acknowledge_by, red.verify_by) == (friday + H, end_of("2026-11-27"))


def test_a_shared_calendar_reads_the_terms_once(spring, django_assert_num_queries):
    with django_assert_num_queries(1):
        calendar = SchoolCalendar()
    with django_assert_num_queries(0):
        for day in ("2027-01-21", "2027-02-03", "2027-03-01"):
            deadlines_for("yellow", at(day), calendar)


def test_escalation_due_times_count_hours_not_school_days():
    friday_night = at("2026-11-27", 22)
    assert escalation_due("red_leader", friday_night) == friday_night + 2 * H
    assert escalation_due("red_station", friday_night) == at("2026-11-28", 22)


def test_configured_escalation_hours_keep_the_other_defaults(settings):
    settings.ALERT_ESCALATION_HOURS = {"red_station": 12}
    start = at("2026-11-30", 9)
    assert escalation_due("red_station", start) == start + 12 * H
    assert escalation_due("red_leader", start) == start + 2 * H
