"""Availability and appointments (预约): free times from published windows less blocked time,
holidays and held appointments; booking by a head teacher on a student's behalf or by the
counsellor; confirmation per unit; cancel and reschedule with a reason; no-show; no double
booking of a counsellor or a room, refused by the database too; the calendar and its iCalendar
feed without student names. Pages: who may see an appointment (its counsellor, the unit's
counsellors, whoever booked it) and who may not (another school, a school leader, another head
teacher, a committee member, a parent)."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from xinqiao.access.roles import Role
from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.counselling import selectors, services
from xinqiao.counselling.models import (
    Appointment,
    AppointmentStatus,
    AvailabilityKind,
    BookedAs,
    Channel,
    RoomKind,
)
from xinqiao.notifications.models import Notification

from ..conftest import _user

WEDNESDAY = datetime.date(2026, 10, 14)  # in the world's autumn term
NOW = datetime.datetime(2026, 10, 12, 8, 0, tzinfo=datetime.UTC)  # the Monday before


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def booking(world, frozen):
    w = world
    w.psych_a2 = _user("psych_a2", "甲校心理老师二", w.school_a, Role.PSYCHOLOGY_TEACHER)
    w.room = services.save_room(
        actor=w.school_admin, unit=w.school_a, name="个体辅导室一", kind=RoomKind.INDIVIDUAL
    )
    # Wednesdays 14:00–16:30 in the room, 50-minute slots: 14:00, 14:50, 15:40.
    w.window = services.publish_availability(
        actor=w.psych,
        unit=w.school_a,
        kind=AvailabilityKind.WEEKLY,
        weekday=WEDNESDAY.weekday(),
        starts=datetime.time(14, 0),
        ends=datetime.time(16, 30),
        room=w.room,
    )
    return w


def book(w, *, actor=None, student=None, counsellor=None, hour=14, minute=0, minutes=50, **extra):
    starts_at = at(WEDNESDAY, hour, minute)
    values = {
        "actor": actor or w.head_teacher,
        "booked_as": BookedAs.HEAD_TEACHER if actor is None else BookedAs.COUNSELLOR,
        "unit": w.school_a,
        "student": student or w.stu_a1,
        "counsellor": counsellor or w.psych,
        "starts_at": starts_at,
        "ends_at": starts_at + datetime.timedelta(minutes=minutes),
        "channel": Channel.FACE_TO_FACE,
        "room": w.room,
    }
    return services.book_appointment(**{**values, **extra})


def starts(slots):
    return [timezone.localtime(s.starts_at).strftime("%H:%M") for s in slots]


# --- free times ------------------------------------------------------------------------------
def test_free_slots_cut_the_window_into_appointments(booking):
    slots = selectors.free_slots(unit=booking.school_a, counsellor=booking.psych, day=WEDNESDAY)

    assert starts(slots) == ["14:00", "14:50", "15:40"]
    assert {s.room for s in slots} == {booking.room}


def test_a_held_slot_and_blocked_time_are_not_free(booking):
    book(booking, hour=14)
    services.publish_availability(
        actor=booking.psych,
        unit=booking.school_a,
        kind=AvailabilityKind.BLOCKED,
        date=WEDNESDAY,
        starts=datetime.time(16, 0),
        ends=datetime.time(17, 0),
    )

    slots = selectors.free_slots(unit=booking.school_a, counsellor=booking.psych, day=WEDNESDAY)

    assert starts(slots) == ["14:50"]


def test_the_room_held_by_another_counsellor_is_not_free(booking):
    book(booking, actor=booking.psych_a2, counsellor=booking.psych_a2, hour=14, minute=50)

    slots = selectors.free_slots(unit=booking.school_a, counsellor=booking.psych, day=WEDNESDAY)

    assert starts(slots) == ["14:00", "15:40"]


def test_a_one_off_window_opens_one_day_and_holidays_close_it(booking):
    holiday = datetime.date(2027, 2, 10)  # outside every term
    for day in (WEDNESDAY + datetime.timedelta(days=1), holiday):
        services.publish_availability(
            actor=booking.psych,
            unit=booking.school_a,
            kind=AvailabilityKind.ONCE,
            date=day,
            starts=datetime.time(9, 0),
            ends=datetime.time(10, 0),
            slot_minutes=30,
        )

    thursday = selectors.free_slots(
        unit=booking.school_a, counsellor=booking.psych, day=WEDNESDAY + datetime.timedelta(days=1)
    )
    in_holiday = selectors.free_slots(unit=booking.school_a, counsellor=booking.psych, day=holiday)

    assert (starts(thursday), in_holiday) == (["09:00", "09:30"], [])


# --- booking -----------------------------------------------------------------------------------
def test_a_head_teacher_books_a_free_slot_and_the_counsellor_is_told(booking):
    appointment = book(booking)

    assert appointment.status == AppointmentStatus.CONFIRMED
    assert (appointment.school_id, appointment.booked_as) == (booking.school_a.pk, "head_teacher")
    message = Notification.objects.get(kind="counselling.appointment.booked")
    assert message.recipient_id == booking.psych.pk
    assert booking.stu_a1.name not in message.subject
    event = AuditEvent.objects.get(action="counselling.appointment.booked")
    assert (event.school_id, event.fields["student"]) == (
        booking.school_a.pk,
        str(booking.stu_a1.code),
    )


def test_a_head_teacher_cannot_book_outside_the_published_time(booking):
    with pytest.raises(DomainError) as refused:
        book(booking, hour=9)

    assert refused.value.field == "starts_at"
    assert not Appointment.objects.exists()


def test_the_counsellor_books_their_own_time_outside_the_windows(booking):
    appointment = book(booking, actor=booking.psych, hour=9, channel=Channel.PHONE)

    assert (appointment.status, appointment.room) == (AppointmentStatus.CONFIRMED, None)


def test_an_online_appointment_needs_a_link(booking):
    with pytest.raises(DomainError) as refused:
        book(booking, channel=Channel.ONLINE)

    appointment = book(booking, channel=Channel.ONLINE, meeting_link="https://meet.example/x")

    assert refused.value.field == "meeting_link"
    assert (appointment.meeting_link, appointment.room) == ("https://meet.example/x", None)


def test_an_overlapping_time_of_the_counsellor_is_refused(booking):
    book(booking, hour=14)

    with pytest.raises(DomainError) as refused:
        book(booking, actor=booking.psych, student=booking.stu_a2, hour=14, minute=30)

    assert "taken" in refused.value.message
    assert Appointment.objects.count() == 1


def test_an_overlapping_time_of_the_room_is_refused(booking):
    book(booking, actor=booking.psych_a2, counsellor=booking.psych_a2, hour=15)

    with pytest.raises(DomainError) as refused:
        book(booking, hour=14, minute=50)

    assert refused.value.field == "room"


def test_the_database_refuses_a_second_holding_row_at_the_same_start(booking):
    first = book(booking)
    twin = Appointment(
        unit=first.unit,
        school=first.school,
        student=booking.stu_a2,
        counsellor=first.counsellor,
        starts_at=first.starts_at,
        ends_at=first.ends_at,
        channel=Channel.PHONE,
        status=AppointmentStatus.CONFIRMED,
        booked_by=booking.psych,
        booked_as=BookedAs.COUNSELLOR,
        booked_at=timezone.now(),
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="exclusion constraints: PostgreSQL")
def test_postgresql_refuses_an_overlapping_row_the_service_did_not_check(booking):
    first = book(booking)
    overlapping = Appointment(
        unit=first.unit,
        school=first.school,
        student=booking.stu_a2,
        counsellor=booking.psych_a2,  # another counsellor: only the room overlaps
        room=first.room,
        starts_at=first.starts_at + datetime.timedelta(minutes=10),
        ends_at=first.ends_at + datetime.timedelta(minutes=10),
        channel=Channel.FACE_TO_FACE,
        status=AppointmentStatus.CONFIRMED,
        booked_by=booking.psych_a2,
        booked_as=BookedAs.COUNSELLOR,
        booked_at=timezone.now(),
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        overlapping.save()


def test_with_confirmation_on_a_booking_awaits_the_counsellor(booking):
    services.set_confirmation(
        actor=booking.school_admin, unit=booking.school_a, confirm_bookings=True
    )
    appointment = book(booking)

    confirmed = services.confirm_appointment(actor=booking.psych, appointment=appointment)

    assert (appointment.status, confirmed.status) == ("requested", "confirmed")
    assert Notification.objects.filter(
        kind="counselling.appointment.confirmed", recipient=booking.head_teacher
    ).exists()


def test_cancelling_frees_the_time(booking):
    appointment = book(booking)

    services.cancel_appointment(
        actor=booking.head_teacher, appointment=appointment, reason="student", note="考试"
    )
    again = book(booking, student=booking.stu_a1)

    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancel_reason) == ("cancelled", "student")
    assert again.status == "confirmed"


def test_a_cancel_or_move_needs_a_reason(booking):
    appointment = book(booking)

    with pytest.raises(DomainError):
        services.cancel_appointment(actor=booking.psych, appointment=appointment, reason="")
    with pytest.raises(DomainError):
        services.reschedule_appointment(
            actor=booking.psych,
            appointment=appointment,
            starts_at=at(WEDNESDAY, 15, 40),
            ends_at=at(WEDNESDAY, 16, 30),
            reason="",
        )


def test_rescheduling_keeps_the_old_row_and_links_the_new_one(booking):
    appointment = book(booking)

    new = services.reschedule_appointment(
        actor=booking.head_teacher,
        appointment=appointment,
        starts_at=at(WEDNESDAY, 14, 50),
        ends_at=at(WEDNESDAY, 15, 40),
        reason="student",
    )

    appointment.refresh_from_db()
    assert (appointment.status, appointment.rescheduled_to) == ("rescheduled", new)
    assert (new.status, new.student, new.room) == ("confirmed", booking.stu_a1, booking.room)


def test_rescheduling_onto_an_overlap_of_its_own_time_is_allowed(booking):
    appointment = book(booking, actor=booking.psych, hour=9)

    new = services.reschedule_appointment(
        actor=booking.psych,
        appointment=appointment,
        starts_at=at(WEDNESDAY, 9, 20),
        ends_at=at(WEDNESDAY, 10, 10),
        reason="counsellor",
    )

    assert new.is_holding


def test_attendance_is_recorded_only_once_begun(booking):
    appointment = book(booking)

    with pytest.raises(DomainError):
        services.record_attendance(actor=booking.psych, appointment=appointment, attended=False)
    with time_machine.travel(at(WEDNESDAY, 15), tick=False):
        services.record_attendance(actor=booking.psych, appointment=appointment, attended=False)

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.NO_SHOW


# --- the calendar feed -------------------------------------------------------------------------
def test_the_feed_has_the_times_and_no_student(booking, client):
    book(booking)
    token = services.create_feed(actor=booking.psych)

    response = client.get(reverse("counselling:feed", args=[token]))

    body = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in body
    assert "DTSTART" in body
    assert booking.stu_a1.name not in body
    assert str(booking.stu_a1.code) not in body


def test_a_revoked_or_renewed_feed_stops(booking, client):
    first = services.create_feed(actor=booking.psych)
    second = services.create_feed(actor=booking.psych)  # renews: the first stops
    services.revoke_feed(actor=booking.psych)

    statuses = [
        client.get(reverse("counselling:feed", args=[t])).status_code for t in (first, second)
    ]

    assert statuses == [404, 404]


# --- pages ---------------------------------------------------------------------------------------
def test_a_head_teacher_books_through_the_form(booking, client_for):
    client = client_for(booking.head_teacher)
    data = {
        "student": str(booking.stu_a1.code),
        "counsellor": booking.psych.pk,
        "day": WEDNESDAY.isoformat(),
        "channel": Channel.FACE_TO_FACE,
    }

    shown = client.post(reverse("counselling:book"), data)
    booked = client.post(
        reverse("counselling:book"), {**data, "slot": at(WEDNESDAY, 14, 50).isoformat()}
    )

    assert shown.status_code == 200
    assert "14:50" in shown.content.decode()
    assert booked.status_code == 302
    appointment = Appointment.objects.get()
    assert (appointment.booked_by, appointment.starts_at) == (
        booking.head_teacher,
        at(WEDNESDAY, 14, 50),
    )


def test_a_head_teacher_cannot_book_for_a_student_of_another_class(booking, client_for):
    response = client_for(booking.head_teacher).post(
        reverse("counselling:book"),
        {
            "student": str(booking.stu_a2.code),  # class A2
            "counsellor": booking.psych.pk,
            "day": WEDNESDAY.isoformat(),
            "slot": at(WEDNESDAY, 14).isoformat(),
            "channel": Channel.FACE_TO_FACE,
        },
    )

    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_the_counsellors_calendar_lists_the_week(booking, client_for):
    book(booking)

    response = client_for(booking.psych).get(
        reverse("counselling:calendar"), {"start": WEDNESDAY.isoformat()}
    )

    assert response.status_code == 200
    assert booking.stu_a1.name in response.content.decode()


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("psych", 200),  # the counsellor
        ("psych_a2", 200),  # a counsellor of the same school
        ("head_teacher", 200),  # booked it
        ("school_admin", 404),  # keeps the roster, does not see who comes
        ("head_teacher_b", 404),
        ("psych_b", 404),
        ("station_counsellor", 404),
        ("mentor", 404),  # books for their class too, but did not book this one
        ("committee", 403),
        ("parent", 403),
    ],
)
def test_who_sees_an_appointment(booking, client_for, persona, status):
    appointment = book(booking)

    response = client_for(getattr(booking, persona)).get(
        reverse("counselling:appointment-detail", args=[appointment.code])
    )

    assert response.status_code == status


def test_another_head_teacher_does_not_see_the_appointment_or_list_it(booking, client_for):
    other = _user(
        "head_teacher_a1b", "甲校七1副班主任", booking.school_a, Role.HEAD_TEACHER, booking.class_a1
    )
    appointment = book(booking)
    client = client_for(other)

    detail = client.get(reverse("counselling:appointment-detail", args=[appointment.code]))
    home = client.get(reverse("counselling:home"))

    assert detail.status_code == 404
    assert booking.stu_a1.name not in home.content.decode()


@pytest.mark.parametrize(
    ("persona", "status"), [("psych_b", 404), ("school_admin", 404), ("mentor", 404)]
)
def test_others_cannot_cancel(booking, client_for, persona, status):
    appointment = book(booking)

    response = client_for(getattr(booking, persona)).post(
        reverse("counselling:appointment-cancel", args=[appointment.code]), {"reason": "other"}
    )

    appointment.refresh_from_db()
    assert (response.status_code, appointment.status) == (status, "confirmed")


def test_the_booker_may_cancel_but_not_confirm_or_record_attendance(booking, client_for):
    services.set_confirmation(
        actor=booking.school_admin, unit=booking.school_a, confirm_bookings=True
    )
    appointment = book(booking)
    client = client_for(booking.head_teacher)

    confirm = client.post(reverse("counselling:appointment-confirm", args=[appointment.code]))
    cancel = client.post(
        reverse("counselling:appointment-cancel", args=[appointment.code]), {"reason": "student"}
    )

    appointment.refresh_from_db()
    assert (confirm.status_code, cancel.status_code) == (403, 302)
    assert appointment.status == "cancelled"


def test_the_calendar_and_home_pages_take_a_bounded_number_of_queries(
    booking, client_for, django_assert_max_num_queries
):
    client = client_for(booking.psych)
    client.get(reverse("counselling:calendar"))  # warm: session, principal

    def pages():
        client.get(reverse("counselling:calendar"), {"start": WEDNESDAY.isoformat()})
        client.get(reverse("counselling:home"))

    book(booking, actor=booking.psych, student=booking.stu_a2, hour=8)
    with django_assert_max_num_queries(20) as few:
        pages()
    for hour in (9, 10, 11, 12, 13):
        book(booking, actor=booking.psych, student=booking.stu_a2, hour=hour)

    with django_assert_max_num_queries(len(few.captured_queries)):
        pages()
