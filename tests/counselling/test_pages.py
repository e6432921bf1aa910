"""The counselling forms through their pages: a roster change, a room, the booking setting, a
counsellor's availability and own booking, cancel and move, the calendar feed's address."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from xinqiao.counselling import services
from xinqiao.counselling.models import (
    Appointment,
    Availability,
    Channel,
    DutyException,
    Room,
    UnitSettings,
)

WEDNESDAY = datetime.date(2026, 10, 14)
NOW = datetime.datetime(2026, 10, 12, 8, 0, tzinfo=datetime.UTC)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def pages(world):
    with time_machine.travel(NOW, tick=False):
        yield world


def test_a_substitute_is_recorded_through_the_form(pages, client_for):
    slot = services.add_duty_slot(
        actor=pages.school_admin,
        unit=pages.school_a,
        counsellor=pages.psych,
        weekday=WEDNESDAY.weekday(),
        starts=datetime.time(12),
        ends=datetime.time(13),
    )

    response = client_for(pages.psych).post(
        reverse("counselling:exception-add", args=[pages.school_a.code]),
        {
            "date": WEDNESDAY.isoformat(),
            "kind": "substitute",
            "slot": slot.pk,
            "substitute": pages.psych.pk,
            "reason": "培训",
        },
    )

    assert response.status_code == 302
    change = DutyException.objects.get()
    assert (change.slot, change.substitute, change.reason) == (slot, pages.psych, "培训")


def test_a_room_and_the_booking_setting_through_their_forms(pages, client_for):
    client = client_for(pages.school_admin)

    room = client.post(
        reverse("counselling:room-add", args=[pages.school_a.code]),
        {"name": "沙盘室", "kind": "sand_play", "capacity": 2},
    )
    setting = client.post(
        reverse("counselling:settings", args=[pages.school_a.code]), {"confirm_bookings": "on"}
    )

    assert (room.status_code, setting.status_code) == (302, 302)
    assert Room.objects.get().name == "沙盘室"
    assert UnitSettings.objects.get(unit=pages.school_a).confirm_bookings is True


def test_a_counsellor_publishes_and_removes_time(pages, client_for):
    client = client_for(pages.psych)

    weekly = client.post(
        reverse("counselling:availability"),
        {"kind": "weekly", "weekday": 2, "starts": "14:00", "ends": "16:00", "slot_minutes": 40},
    )
    no_date = client.post(
        reverse("counselling:availability"),
        {"kind": "once", "starts": "14:00", "ends": "16:00", "slot_minutes": 40},
    )
    row = Availability.objects.get()
    removed = client.post(reverse("counselling:availability-remove", args=[row.code]))

    assert (weekly.status_code, no_date.status_code, removed.status_code) == (302, 400, 302)
    assert not Availability.objects.exists()


def test_another_counsellors_time_cannot_be_removed(pages, client_for):
    row = services.publish_availability(
        actor=pages.psych,
        unit=pages.school_a,
        kind="weekly",
        weekday=2,
        starts=datetime.time(14),
        ends=datetime.time(16),
    )

    response = client_for(pages.psych_b).post(
        reverse("counselling:availability-remove", args=[row.code])
    )

    assert response.status_code == 404
    assert Availability.objects.filter(pk=row.pk).exists()


def test_a_counsellor_books_moves_and_cancels_through_the_pages(pages, client_for):
    client = client_for(pages.psych)

    booked = client.post(
        reverse("counselling:book-own"),
        {
            "student": str(pages.stu_a2.code),
            "starts_at": "2026-10-14T10:00",
            "minutes": 45,
            "channel": Channel.PHONE,
        },
    )
    appointment = Appointment.objects.get()
    moved = client.post(
        reverse("counselling:appointment-reschedule", args=[appointment.code]),
        {"starts_at": "2026-10-14T11:00", "reason": "counsellor"},
    )
    new = Appointment.objects.get(status="confirmed")
    cancelled = client.post(
        reverse("counselling:appointment-cancel", args=[new.code]),
        {"reason": "not_needed", "note": ""},
    )

    assert (booked.status_code, moved.status_code, cancelled.status_code) == (302, 302, 302)
    assert (appointment.starts_at, new.starts_at) == (at(WEDNESDAY, 10), at(WEDNESDAY, 11))
    assert new.ends_at - new.starts_at == datetime.timedelta(minutes=45)
    assert sorted(Appointment.objects.values_list("status", flat=True)) == [
        "cancelled",
        "rescheduled",
    ]


def test_a_student_of_another_school_cannot_be_booked(pages, client_for):
    response = client_for(pages.psych).post(
        reverse("counselling:book-own"),
        {
            "student": str(pages.stu_b1.code),
            "starts_at": "2026-10-14T10:00",
            "minutes": 45,
            "channel": Channel.PHONE,
        },
    )

    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_the_feed_address_is_shown_once_and_works(pages, client_for, client):
    response = client_for(pages.psych).post(
        reverse("counselling:feed-manage"), {"action": "create"}
    )

    body = response.content.decode()
    start = body.index("/counselling/feed/")
    path = body[start : body.index(".ics", start) + 4]
    again = client_for(pages.psych).get(reverse("counselling:feed-manage"))
    assert response.status_code == 200
    assert client.get(path).status_code == 200
    assert path not in again.content.decode()
