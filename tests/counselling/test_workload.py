"""Reminders a day before, the waitlist, room opening hours and usage (R21), workload (R28): the
services, the periodic tasks and the pages, with the refusals (another school 404, the wrong
role 403)."""

from __future__ import annotations

import datetime
import io

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from xinqiao.access.roles import Role
from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.counselling import selectors, services, tasks, workload
from xinqiao.counselling.models import (
    AppointmentStatus,
    AvailabilityKind,
    BookedAs,
    Channel,
    ExceptionKind,
    RoomKind,
    WaitlistEntry,
    WaitlistStatus,
)
from xinqiao.notifications.models import Notification
from xinqiao.people.models import Position, StaffPosition

from ..conftest import _user

WEDNESDAY = datetime.date(2026, 10, 14)  # in the world's autumn term
MONDAY = datetime.date(2026, 10, 12)
NOW = datetime.datetime(2026, 10, 12, 8, 0, tzinfo=datetime.UTC)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def w(world):
    with time_machine.travel(NOW, tick=False):
        world.psych_a2 = _user(
            "psych_a2", "甲校心理老师二", world.school_a, Role.PSYCHOLOGY_TEACHER
        )
        world.room = services.save_room(
            actor=world.school_admin,
            unit=world.school_a,
            name="个体辅导室一",
            kind=RoomKind.INDIVIDUAL,
        )
        services.publish_availability(
            actor=world.psych,
            unit=world.school_a,
            kind=AvailabilityKind.WEEKLY,
            weekday=WEDNESDAY.weekday(),
            starts=datetime.time(14, 0),
            ends=datetime.time(16, 30),
            room=world.room,
        )
        yield world


def book(w, *, actor=None, student=None, hour=14, minute=0):
    starts_at = at(WEDNESDAY, hour, minute)
    return services.book_appointment(
        actor=actor or w.head_teacher,
        booked_as=BookedAs.HEAD_TEACHER,
        unit=w.school_a,
        student=student or w.stu_a1,
        counsellor=w.psych,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=50),
        channel=Channel.FACE_TO_FACE,
        room=w.room,
    )


def starts(slots, viewer=None):
    return [timezone.localtime(s.starts_at).strftime("%H:%M") for s in slots]


# --- reminders ----------------------------------------------------------------------------------
def test_a_reminder_goes_once_a_day_before_to_the_counsellor_and_the_booker(w):
    appointment = book(w)

    assert services.send_reminders(now=at(MONDAY, 16)) == 0  # two days ahead: not yet
    first = services.send_reminders(now=at(WEDNESDAY - datetime.timedelta(days=1), 15))
    again = services.send_reminders(now=at(WEDNESDAY - datetime.timedelta(days=1), 16))

    rows = Notification.objects.filter(kind="counselling.appointment.reminder")
    assert (first, again) == (1, 0)
    assert {n.recipient_id for n in rows} == {w.psych.pk, w.head_teacher.pk}
    assert all(w.stu_a1.name not in n.subject + n.body for n in rows)
    assert all(str(appointment.code) in n.url for n in rows)


def test_a_cancelled_appointment_gets_no_reminder_and_the_tasks_are_scheduled(w):
    appointment = book(w)
    services.cancel_appointment(actor=w.head_teacher, appointment=appointment, reason="other")

    with time_machine.travel(at(WEDNESDAY, 9), tick=False):
        assert tasks.send_reminders() == 0
        assert tasks.expire_waitlist() == 0
    schedule = {spec["task"] for spec in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "xinqiao.counselling.tasks.send_reminders",
        "xinqiao.counselling.tasks.expire_waitlist",
    } <= schedule


# --- the waitlist -------------------------------------------------------------------------------
def join(w, *, student=None, actor=None, counsellor="psych"):
    return services.join_waitlist(
        actor=actor or w.head_teacher,
        booked_as=BookedAs.HEAD_TEACHER,
        unit=w.school_a,
        student=student or w.stu_a1,
        week_start=WEDNESDAY,
        counsellor=getattr(w, counsellor) if counsellor else None,
    )


def test_a_freed_time_is_offered_to_the_first_waiting_and_held_for_them(w):
    taken = book(w, actor=w.psych_a2, student=w.stu_a2)
    entry = join(w)
    assert join(w) == entry  # a second click finds the first
    assert entry.week_start == MONDAY

    services.cancel_appointment(actor=w.psych_a2, appointment=taken, reason="other")

    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
    assert entry.offered_starts_at == at(WEDNESDAY, 14)
    note = Notification.objects.get(kind="counselling.waitlist.offered")
    assert note.recipient_id == w.head_teacher.pk
    assert w.stu_a1.name not in note.subject
    others = selectors.free_slots(
        unit=w.school_a, counsellor=w.psych, day=WEDNESDAY, viewer=w.psych_a2
    )
    mine = selectors.free_slots(
        unit=w.school_a, counsellor=w.psych, day=WEDNESDAY, viewer=w.head_teacher
    )
    assert "14:00" not in starts(others)
    assert "14:00" in starts(mine)
    with pytest.raises(DomainError, match="waitlist"):
        book(w, actor=w.psych_a2, student=w.stu_a2)
    later = book(w, actor=w.psych_a2, student=w.stu_a2, hour=14, minute=50)
    with pytest.raises(DomainError, match="waitlist"):
        services.reschedule_appointment(
            actor=w.psych_a2,
            appointment=later,
            starts_at=at(WEDNESDAY, 14),
            ends_at=at(WEDNESDAY, 14, 50),
            reason="other",
        )

    book(w)  # the offeree takes it

    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.BOOKED
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "counselling.waitlist.joined",
        "counselling.waitlist.offered",
        "counselling.waitlist.booked",
    } <= actions


def test_a_moved_appointment_frees_its_time_too(w):
    taken = book(w, actor=w.psych_a2, student=w.stu_a2)
    entry = join(w, counsellor=None)  # any counsellor of the school

    services.reschedule_appointment(
        actor=w.psych_a2,
        appointment=taken,
        starts_at=at(WEDNESDAY, 15, 40),
        ends_at=at(WEDNESDAY, 16, 30),
        reason="other",
    )

    entry.refresh_from_db()
    assert (entry.status, entry.offered_starts_at) == (WaitlistStatus.OFFERED, at(WEDNESDAY, 14))


def test_an_offer_lapses_to_the_next_and_entries_expire_with_their_week(w):
    taken = book(w, actor=w.psych_a2, student=w.stu_a2)
    first = join(w)
    second = join(w, actor=w.psych_a2, student=w.stu_a2)
    services.cancel_appointment(actor=w.psych_a2, appointment=taken, reason="other")

    with time_machine.travel(at(WEDNESDAY, 9), tick=False):
        assert services.expire_waitlist() == 1
        assert services.expire_waitlist() == 0  # idempotent
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (WaitlistStatus.LAPSED, WaitlistStatus.OFFERED)

    third = join(w, student=w.stu_a2)
    with time_machine.travel(at(WEDNESDAY + datetime.timedelta(days=6), 9), tick=False):
        services.expire_waitlist()
    second.refresh_from_db()
    third.refresh_from_db()
    # the second offer lapsed at the freed time itself; nothing is offered in the past
    assert (second.status, third.status) == (WaitlistStatus.LAPSED, WaitlistStatus.EXPIRED)


def test_a_past_week_cannot_be_joined(w):
    with pytest.raises(DomainError):
        services.join_waitlist(
            actor=w.head_teacher,
            booked_as=BookedAs.HEAD_TEACHER,
            unit=w.school_a,
            student=w.stu_a1,
            week_start=MONDAY - datetime.timedelta(days=7),
        )
    assert not WaitlistEntry.objects.exists()


# --- room opening hours and usage ---------------------------------------------------------------
def test_free_times_stay_inside_the_rooms_opening_hours(w):
    services.add_room_hours(
        actor=w.psych,
        room=w.room,
        weekday=WEDNESDAY.weekday(),
        starts=datetime.time(14),
        ends=datetime.time(15, 40),
    )

    slots = selectors.free_slots(unit=w.school_a, counsellor=w.psych, day=WEDNESDAY)

    assert starts(slots) == ["14:00", "14:50"]
    with pytest.raises(DomainError, match="not open"):
        book(w, hour=15, minute=40)
    with pytest.raises(DomainError, match="overlap"):
        services.add_room_hours(
            actor=w.psych,
            room=w.room,
            weekday=WEDNESDAY.weekday(),
            starts=datetime.time(15),
            ends=datetime.time(17),
        )


def test_room_usage_is_booked_hours_over_open_hours_less_holidays(w):
    services.add_room_hours(
        actor=w.psych,
        room=w.room,
        weekday=WEDNESDAY.weekday(),
        starts=datetime.time(14),
        ends=datetime.time(16),
    )
    done = book(w)
    book(w, student=w.stu_a1, hour=14, minute=50)
    with time_machine.travel(at(WEDNESDAY, 15), tick=False):
        services.record_attendance(actor=w.psych, appointment=done, attended=True)

    week = selectors.period("week", WEDNESDAY)
    (usage,) = selectors.room_usage([w.school_a], week)[w.school_a.pk]
    holiday = selectors.period("week", datetime.date(2027, 2, 3))  # after the autumn term

    assert (round(usage.booked, 4), usage.open) == (round(100 / 60, 4), 2.0)
    assert usage.percent == "83%"
    assert selectors.room_usage([w.school_a], holiday)[w.school_a.pk][0].open == 0
    assert selectors.unit_usage([w.school_a], week)[0].booked == usage.booked


def test_periods():
    with time_machine.travel(NOW, tick=False):
        month = selectors.period("month", WEDNESDAY)
        week = selectors.period("nonsense", WEDNESDAY)
    assert (month.since, month.until) == (datetime.date(2026, 10, 1), datetime.date(2026, 11, 1))
    assert (week.kind, week.since, week.until) == ("week", MONDAY, MONDAY + datetime.timedelta(7))


def test_the_term_period_is_the_term(w):
    term = selectors.period("term", WEDNESDAY)
    assert (term.since, term.until) == (w.term.start_date, w.term.end_date + datetime.timedelta(1))


# --- workload -----------------------------------------------------------------------------------
def test_duty_hours_follow_the_roster_with_its_substitutes_and_closures(w):
    slot = services.add_duty_slot(
        actor=w.school_admin,
        unit=w.school_a,
        counsellor=w.psych,
        weekday=WEDNESDAY.weekday(),
        starts=datetime.time(12),
        ends=datetime.time(13, 30),
    )
    services.add_duty_exception(
        actor=w.school_admin,
        unit=w.school_a,
        date=WEDNESDAY,
        kind=ExceptionKind.SUBSTITUTE,
        slot=slot,
        substitute=w.psych_a2,
    )
    services.add_duty_exception(
        actor=w.school_admin,
        unit=w.school_a,
        date=WEDNESDAY + datetime.timedelta(days=7),
        kind=ExceptionKind.CLOSED,
    )
    people = [w.psych, w.psych_a2]

    this_week = selectors.duty_hours(people, MONDAY, MONDAY + datetime.timedelta(days=7))
    three_weeks = selectors.duty_hours(people, MONDAY, MONDAY + datetime.timedelta(days=21))

    assert this_week == {w.psych_a2.pk: 1.5}
    assert three_weeks == {w.psych_a2.pk: 1.5, w.psych.pk: 1.5}


def test_sessions_and_a_registered_source_appear_per_user(w):
    done = book(w)
    with time_machine.travel(at(WEDNESDAY, 15), tick=False):
        services.record_attendance(actor=w.psych, appointment=done, attended=True)
    workload.register_workload_source(
        "hotline", "热线", lambda users, since, until: {w.psych.pk: 3}
    )
    try:
        keys = [s.key for s in workload.sources()]
        (row,) = workload.per_user([w.psych], MONDAY, MONDAY + datetime.timedelta(days=7))
    finally:
        workload.unregister_workload_source("hotline")

    values = dict(zip(keys, row.values, strict=True))
    mine = {k: values[k] for k in ("sessions", "session_hours", "duty_hours", "hotline")}
    assert mine == {"sessions": 1, "session_hours": 0.83, "duty_hours": 0, "hotline": 3}
    wired = {"group_hours", "hotline_calls", "supervision_given", "mentor_talks", "cases_owned"}
    assert wired <= set(keys)


def test_a_part_time_psychology_teacher_counts_for_the_school_of_the_post(w):
    StaffPosition.objects.create(
        staff=w.psych_b.staff, position=Position.PSYCHOLOGY_TEACHER_PART, org_unit=w.school_a
    )

    people, part_time = selectors.workload_people([w.school_a])[w.school_a.pk]

    assert w.psych_b.pk in {u.pk for u in people}
    assert w.psych_b.pk in part_time
    assert {w.psych.pk, w.psych_a2.pk, w.head_teacher.pk} <= {u.pk for u in people}


# --- pages --------------------------------------------------------------------------------------
def test_the_school_leaders_workload_table_and_its_export(w, client_for):
    client = client_for(w.school_admin)
    url = reverse("counselling:workload-unit", args=[w.school_a.code])

    page = client.get(url + "?period=term")
    export = client.get(url + "?period=month&format=xlsx")

    assert page.status_code == 200
    assert "甲校心理老师" in page.content.decode()
    assert w.stu_a1.name not in page.content.decode()
    assert export.status_code == 200
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert "甲校心理老师" in [c.value for c in sheet["A"]]


def test_workload_pages_refuse_another_school_and_the_wrong_role(w, client_for):
    other = _user("school_admin_b", "乙校德育主任", w.school_b, Role.SCHOOL_ADMIN)
    url = reverse("counselling:workload-unit", args=[w.school_a.code])

    assert client_for(other).get(url).status_code == 404
    assert client_for(w.head_teacher).get(url).status_code == 403
    assert client_for(w.psych).get(url).status_code == 403
    assert client_for(w.head_teacher).get(reverse("counselling:workload-mine")).status_code == 403
    assert client_for(w.mentor).get(reverse("counselling:workload-area")).status_code == 403


def test_the_district_sees_its_schools_totals_only(w, client_for):
    response = client_for(w.district_admin).get(reverse("counselling:workload-area"))
    body = response.content.decode()

    assert response.status_code == 200
    assert w.school_a.name in body
    assert w.school_b.name not in body
    assert "甲校心理老师" not in body
    assert w.stu_a1.name not in body


def test_my_workload(w, client_for):
    response = client_for(w.psych).get(reverse("counselling:workload-mine") + "?period=month")
    assert response.status_code == 200
    assert 'data-testid="workload"' in response.content.decode()


def test_room_hours_and_usage_pages(w, client_for):
    client = client_for(w.psych)
    hours_url = reverse("counselling:room-hours", args=[w.room.code])

    added = client.post(hours_url, {"weekday": 2, "starts": "14:00", "ends": "16:00"})
    bad = client.post(hours_url, {"weekday": 2, "starts": "17:00", "ends": "16:00"})
    usage = client.get(reverse("counselling:room-usage", args=[w.school_a.code]))
    area = client_for(w.city_admin).get(reverse("counselling:area-usage") + "?period=term")

    assert (added.status_code, bad.status_code) == (302, 400)
    assert w.room.hours.count() == 1
    assert usage.status_code == 200
    assert "个体辅导室一" in usage.content.decode()
    assert area.status_code == 200
    assert w.school_a.name in area.content.decode()
    hours = w.room.hours.get()
    remove = reverse("counselling:room-hours-remove", args=[hours.code])
    assert client_for(w.psych_b).post(remove).status_code == 404
    assert client_for(w.psych_b).get(hours_url).status_code == 404
    assert client_for(w.head_teacher).get(hours_url).status_code == 403
    assert client_for(w.psych_b).get(
        reverse("counselling:room-usage", args=[w.school_a.code])
    ).status_code in (403, 404)
    assert client.post(remove).status_code == 302
    assert not w.room.hours.exists()


def test_the_waitlist_page(w, client_for):
    client = client_for(w.head_teacher)
    url = reverse("counselling:waitlist")

    joined = client.post(
        url, {"student": w.stu_a1.code, "counsellor": w.psych.pk, "week": WEDNESDAY.isoformat()}
    )
    again = client.post(
        url, {"student": w.stu_a1.code, "counsellor": w.psych.pk, "week": WEDNESDAY.isoformat()}
    )
    other_school = client.post(url, {"student": w.stu_b1.code, "week": WEDNESDAY.isoformat()})

    assert (joined.status_code, again.status_code, other_school.status_code) == (302, 302, 400)
    entry = WaitlistEntry.objects.get()
    leave = reverse("counselling:waitlist-leave", args=[entry.code])
    assert client_for(w.head_teacher_b).post(leave).status_code == 404
    assert client_for(w.committee).get(url).status_code == 403
    assert client.get(url).status_code == 200
    assert client.post(leave).status_code == 302
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.LEFT
    assert AppointmentStatus.DONE == "done"


def test_the_offeree_books_the_offered_time_on_the_booking_page(w, client_for):
    taken = book(w, actor=w.psych_a2, student=w.stu_a2)
    entry = join(w)
    services.cancel_appointment(actor=w.psych_a2, appointment=taken, reason="other")
    data = {
        "student": str(w.stu_a1.code),
        "counsellor": w.psych.pk,
        "day": WEDNESDAY.isoformat(),
        "channel": Channel.FACE_TO_FACE,
    }
    client = client_for(w.head_teacher)

    shown = client.post(reverse("counselling:book"), data)
    booked = client.post(
        reverse("counselling:book"), {**data, "slot": at(WEDNESDAY, 14).isoformat()}
    )

    assert "14:00" in shown.content.decode()
    assert booked.status_code == 302
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.BOOKED
