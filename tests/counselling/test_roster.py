"""The duty roster (值班表): weekly slots with their validity, exceptions (a closed day or slot,
a substitute), the term calendar's holidays, and `on_duty`'s fallback chain (roster → the
unit's psychology teachers → the district station). Pages: another school's roster is 404, a
role without the capability 403."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from xinqiao.access.roles import Role
from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.counselling import selectors, services
from xinqiao.counselling.models import DutySlot, ExceptionKind
from xinqiao.orgs.services import create_unit

from ..conftest import _user

WEDNESDAY = datetime.date(2026, 10, 14)  # in the world's autumn term
WINTER_HOLIDAY_WEDNESDAY = datetime.date(2027, 2, 10)  # after the term's end (2027-01-22)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def duty(world):
    w = world
    w.psych_a2 = _user("psych_a2", "甲校心理老师二", w.school_a, Role.PSYCHOLOGY_TEACHER)
    w.slot = services.add_duty_slot(
        actor=w.school_admin,
        unit=w.school_a,
        counsellor=w.psych_a2,
        weekday=WEDNESDAY.weekday(),
        starts=datetime.time(12, 0),
        ends=datetime.time(14, 0),
    )
    return w


# --- on_duty ------------------------------------------------------------------------------------
def test_the_slot_covering_the_time_names_who_is_on_duty(duty):
    answer = selectors.on_duty(duty.school_a, at(WEDNESDAY, 12, 30))

    assert (answer.source, [u.pk for u in answer.users]) == ("roster", [duty.psych_a2.pk])


def test_outside_every_slot_the_units_psychology_teachers_answer(duty):
    answer = selectors.on_duty(duty.school_a, at(WEDNESDAY, 14, 0))  # the slot ends at 14:00

    assert answer.source == "unit"
    assert [u.pk for u in answer.users] == [duty.psych.pk, duty.psych_a2.pk]


def test_a_substitute_takes_the_slot_on_that_date_only(duty):
    services.add_duty_exception(
        actor=duty.school_admin,
        unit=duty.school_a,
        date=WEDNESDAY,
        kind=ExceptionKind.SUBSTITUTE,
        slot=duty.slot,
        substitute=duty.psych,
        reason="调课",
    )

    today = selectors.on_duty(duty.school_a, at(WEDNESDAY, 13))
    next_week = selectors.on_duty(duty.school_a, at(WEDNESDAY + datetime.timedelta(days=7), 13))

    assert (today.source, [u.pk for u in today.users]) == ("roster", [duty.psych.pk])
    assert today.duties[0].substitute is True
    assert [u.pk for u in next_week.users] == [duty.psych_a2.pk]


def test_a_closed_day_has_no_duty(duty):
    services.add_duty_exception(
        actor=duty.school_admin, unit=duty.school_a, date=WEDNESDAY, kind=ExceptionKind.CLOSED
    )

    assert selectors.duties_on(duty.school_a, WEDNESDAY) == []
    assert selectors.on_duty(duty.school_a, at(WEDNESDAY, 13)).source == "unit"


def test_a_closed_slot_leaves_the_other_slots_of_the_day(duty):
    other = services.add_duty_slot(
        actor=duty.school_admin,
        unit=duty.school_a,
        counsellor=duty.psych,
        weekday=WEDNESDAY.weekday(),
        starts=datetime.time(16, 0),
        ends=datetime.time(17, 30),
    )
    services.add_duty_exception(
        actor=duty.school_admin,
        unit=duty.school_a,
        date=WEDNESDAY,
        kind=ExceptionKind.CLOSED,
        slot=duty.slot,
    )

    assert [d.slot.pk for d in selectors.duties_on(duty.school_a, WEDNESDAY)] == [other.pk]


def test_a_school_day_outside_every_term_is_a_holiday(duty):
    assert selectors.is_holiday(duty.school_a, WINTER_HOLIDAY_WEDNESDAY) is True
    assert selectors.duties_on(duty.school_a, WINTER_HOLIDAY_WEDNESDAY) == []
    assert selectors.on_duty(duty.school_a, at(WINTER_HOLIDAY_WEDNESDAY, 13)).source == "unit"


def test_a_station_keeps_its_roster_in_the_holidays(duty):
    slot = services.add_duty_slot(
        actor=duty.station_counsellor,
        unit=duty.station_a,
        counsellor=duty.station_counsellor,
        weekday=WINTER_HOLIDAY_WEDNESDAY.weekday(),
        starts=datetime.time(9, 0),
        ends=datetime.time(17, 0),
    )

    assert [d.slot.pk for d in selectors.duties_on(duty.station_a, WINTER_HOLIDAY_WEDNESDAY)] == [
        slot.pk
    ]


def test_a_slot_counts_only_within_its_validity(duty):
    services.add_duty_slot(
        actor=duty.school_admin,
        unit=duty.school_a,
        counsellor=duty.psych,
        weekday=WEDNESDAY.weekday(),
        starts=datetime.time(8, 0),
        ends=datetime.time(9, 0),
        valid_from=WEDNESDAY + datetime.timedelta(days=1),
    )

    assert [d.slot.pk for d in selectors.duties_on(duty.school_a, WEDNESDAY)] == [duty.slot.pk]


def test_a_school_without_a_counsellor_falls_back_to_the_district_station(duty):
    school = create_unit(
        actor=None, parent=duty.district_a, kind="school", name="甲区第三小学", stage="primary"
    )

    answer = selectors.on_duty(school, at(WEDNESDAY, 10))

    assert answer.source == "station"
    assert answer.station == duty.station_a
    assert [u.pk for u in answer.users] == [duty.station_counsellor.pk]


def test_the_station_fallback_follows_the_stations_own_roster(duty):
    school = create_unit(
        actor=None, parent=duty.district_a, kind="school", name="甲区第三小学", stage="primary"
    )
    other = _user("station_counsellor_a2", "甲区辅导员二", duty.station_a, Role.STATION_COUNSELLOR)
    services.add_duty_slot(
        actor=duty.station_counsellor,
        unit=duty.station_a,
        counsellor=other,
        weekday=WEDNESDAY.weekday(),
        starts=datetime.time(9, 0),
        ends=datetime.time(11, 0),
    )

    answer = selectors.on_duty(school, at(WEDNESDAY, 10))

    assert (answer.source, [u.pk for u in answer.users]) == ("station", [other.pk])


def test_nobody_when_the_district_has_no_station_either(duty):
    school = create_unit(
        actor=None, parent=duty.district_b, kind="school", name="乙区第三小学", stage="primary"
    )

    assert selectors.on_duty(school, at(WEDNESDAY, 10)).source == "nobody"


# --- services' refusals and audit -------------------------------------------------------------
def test_a_substitute_needs_a_slot_and_a_person(duty):
    with pytest.raises(DomainError) as no_slot:
        services.add_duty_exception(
            actor=duty.school_admin,
            unit=duty.school_a,
            date=WEDNESDAY,
            kind=ExceptionKind.SUBSTITUTE,
            substitute=duty.psych,
        )
    with pytest.raises(DomainError) as no_person:
        services.add_duty_exception(
            actor=duty.school_admin,
            unit=duty.school_a,
            date=WEDNESDAY,
            kind=ExceptionKind.SUBSTITUTE,
            slot=duty.slot,
        )

    assert (no_slot.value.field, no_person.value.field) == ("slot", "substitute")


def test_an_exception_on_another_weekday_or_twice_is_refused(duty):
    with pytest.raises(DomainError) as wrong_day:
        services.add_duty_exception(
            actor=duty.school_admin,
            unit=duty.school_a,
            date=WEDNESDAY + datetime.timedelta(days=1),
            kind=ExceptionKind.CLOSED,
            slot=duty.slot,
        )
    services.add_duty_exception(
        actor=duty.school_admin,
        unit=duty.school_a,
        date=WEDNESDAY,
        kind=ExceptionKind.CLOSED,
        slot=duty.slot,
    )
    with pytest.raises(DomainError) as twice:
        services.add_duty_exception(
            actor=duty.school_admin,
            unit=duty.school_a,
            date=WEDNESDAY,
            kind=ExceptionKind.SUBSTITUTE,
            slot=duty.slot,
            substitute=duty.psych,
        )

    assert (wrong_day.value.field, twice.value.field) == ("date", "date")


def test_a_slot_must_end_after_it_starts(duty):
    with pytest.raises(DomainError):
        services.add_duty_slot(
            actor=duty.school_admin,
            unit=duty.school_a,
            counsellor=duty.psych,
            weekday=0,
            starts=datetime.time(12, 0),
            ends=datetime.time(12, 0),
        )


def test_roster_changes_are_audited(duty):
    services.remove_duty_slot(actor=duty.school_admin, slot=duty.slot)

    actions = list(
        AuditEvent.objects.filter(action__startswith="counselling.duty.")
        .order_by("seq")
        .values_list("action", "school_id")
    )
    assert actions == [
        ("counselling.duty.added", duty.school_a.pk),
        ("counselling.duty.removed", duty.school_a.pk),
    ]


# --- pages --------------------------------------------------------------------------------------
def test_the_unit_page_shows_the_roster_and_who_is_on_duty(duty, client_for):
    response = client_for(duty.school_admin).get(
        reverse("counselling:unit", args=[duty.school_a.code])
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="on-duty"' in body
    assert "甲校心理老师二" in body  # on the roster
    assert reverse("counselling:duty-add", args=[duty.school_a.code]) in body


def test_the_school_admin_adds_a_duty_through_the_form(duty, client_for):
    response = client_for(duty.school_admin).post(
        reverse("counselling:duty-add", args=[duty.school_a.code]),
        {"counsellor": duty.psych.pk, "weekday": 0, "starts": "12:00", "ends": "13:00"},
    )

    assert response.status_code == 302
    assert DutySlot.objects.filter(unit=duty.school_a, counsellor=duty.psych, weekday=0).exists()


def test_a_counsellor_of_another_school_cannot_be_put_on_duty(duty, client_for):
    response = client_for(duty.school_admin).post(
        reverse("counselling:duty-add", args=[duty.school_a.code]),
        {"counsellor": duty.psych_b.pk, "weekday": 0, "starts": "12:00", "ends": "13:00"},
    )

    assert response.status_code == 400
    assert not DutySlot.objects.filter(counsellor=duty.psych_b).exists()


@pytest.mark.parametrize(
    ("persona", "status"),
    [("psych_b", 404), ("head_teacher", 404), ("mentor", 404), ("committee", 403), ("parent", 403)],
)
def test_other_schools_and_wrong_roles_do_not_see_the_roster(duty, client_for, persona, status):
    response = client_for(getattr(duty, persona)).get(
        reverse("counselling:unit", args=[duty.school_a.code])
    )

    assert response.status_code == status


@pytest.mark.parametrize(
    ("persona", "status"), [("psych_b", 404), ("head_teacher", 403), ("district_admin", 403)]
)
def test_only_the_schools_own_keepers_change_the_roster(duty, client_for, persona, status):
    client = client_for(getattr(duty, persona))

    add = client.post(
        reverse("counselling:duty-add", args=[duty.school_a.code]),
        {"counsellor": duty.psych.pk, "weekday": 0, "starts": "12:00", "ends": "13:00"},
    )
    remove = client.post(reverse("counselling:duty-remove", args=[duty.slot.code]))

    assert (add.status_code, remove.status_code) == (status, status)
    assert DutySlot.objects.filter(unit=duty.school_a).count() == 1


def test_the_unit_page_takes_the_same_queries_for_a_longer_roster(
    duty, client_for, django_assert_max_num_queries
):
    client = client_for(duty.school_admin)
    url = reverse("counselling:unit", args=[duty.school_a.code])
    client.get(url)  # warm: session, principal
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    for weekday in range(5):
        services.add_duty_slot(
            actor=duty.school_admin,
            unit=duty.school_a,
            counsellor=duty.psych,
            weekday=weekday,
            starts=datetime.time(8, 0),
            ends=datetime.time(9, 0),
        )

    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)
