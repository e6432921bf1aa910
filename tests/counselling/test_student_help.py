"""A student's safe way to counselling: the student page reached with the personal code (at the
school's entry or the general one) or from the end of a questionnaire; the student comes only
from the signed session (a classmate's session and tampered fields act for the classmate, never
for another student); "I need help now" goes to the counsellor on duty with the red-alert
deadline, shows the hotlines at once, escalates unacknowledged, and is answered from the
counsellor's inbox (acknowledge, book, raise an alert, close); bookings by the student, a parent
and a mentor, all shown on the student's page."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from xinqiao.access.roles import Role
from xinqiao.alerts.models import Alert
from xinqiao.audit.models import AuditEvent
from xinqiao.core.helplines import helplines_for
from xinqiao.counselling import help_services, services
from xinqiao.counselling.models import (
    Appointment,
    AppointmentStatus,
    AvailabilityKind,
    BookedAs,
    Channel,
    HelpOutcome,
    HelpRequest,
)
from xinqiao.counselling.student_session import COOKIE_NAME
from xinqiao.notifications.models import Notification
from xinqiao.people.services import give_new_personal_code

from ..conftest import _user

WEDNESDAY = datetime.date(2026, 10, 14)  # in the world's autumn term
NOW = datetime.datetime(2026, 10, 12, 2, 0, tzinfo=datetime.UTC)  # Monday 10:00 in Shanghai


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def w(world, frozen):
    cache.clear()
    world.code_a1 = give_new_personal_code(world.stu_a1)
    world.code_a2 = give_new_personal_code(world.stu_a2)
    world.code_b1 = give_new_personal_code(world.stu_b1)
    # Wednesdays 14:00–16:30, 50-minute slots: 14:00, 14:50, 15:40.
    services.publish_availability(
        actor=world.psych,
        unit=world.school_a,
        kind=AvailabilityKind.WEEKLY,
        weekday=WEDNESDAY.weekday(),
        starts=datetime.time(14, 0),
        ends=datetime.time(16, 30),
    )
    return world


def student_client(code: str, school=None) -> Client:
    client = Client()
    if school is None:
        url = reverse("counselling:student-enter")
    else:
        url = reverse("counselling:school-entry", kwargs={"code": school.code})
    response = client.post(url, {"personal_code": code})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def signed_out(client: Client) -> bool:
    """The student page shows the personal-code entry, not a student's page."""
    html = client.get(reverse("counselling:student-home")).content.decode()
    return 'data-testid="student-enter"' in html and 'data-testid="student-page"' not in html


def slot_value(w, hour=14, minute=0) -> str:
    return f"{w.psych.pk}|{at(WEDNESDAY, hour, minute).isoformat()}"


# --- signing in ------------------------------------------------------------------------------
def test_the_schools_entry_signs_the_student_in_with_the_personal_code(w):
    client = student_client(w.code_a1.lower(), school=w.school_a)

    page = client.get(reverse("counselling:student-home"))

    assert page.status_code == 200
    assert w.stu_a1.name in page.content.decode()
    assert "14:00" in page.content.decode()  # the free times of the school's counsellor


def test_another_schools_entry_or_a_wrong_code_is_refused(w):
    client = Client()
    other = client.post(
        reverse("counselling:school-entry", kwargs={"code": w.school_b.code}),
        {"personal_code": w.code_a1},
    )
    wrong = client.post(reverse("counselling:student-enter"), {"personal_code": "AAAA-AAAA"})

    assert other.status_code == 400
    assert wrong.status_code == 400
    assert COOKIE_NAME not in client.cookies or not client.cookies[COOKIE_NAME].value
    assert signed_out(client)


def test_from_the_end_of_a_questionnaire(world):
    w = world  # real time: the world's campaign is open now
    cache.clear()
    code = give_new_personal_code(w.stu_a1)
    client = Client()
    entered = client.post(reverse("take:enter"), {"code": w.sitting.code, "personal_code": code})
    assert entered.status_code == 302

    response = client.get(reverse("take-help:start"))
    page = client.get(reverse("counselling:student-home"))

    assert response.status_code == 302
    assert response["Location"] == reverse("counselling:student-home")
    assert page.status_code == 200
    assert w.stu_a1.name in page.content.decode()


def test_the_questionnaire_end_without_a_sign_in_asks_for_the_code(w):
    response = Client().get(reverse("take-help:start"))

    assert 'data-testid="student-enter"' in response.content.decode()
    assert COOKIE_NAME not in response.cookies


def test_the_done_page_links_to_the_counselling_page(w):
    html = Client().get(reverse("take:done")).content.decode()

    assert reverse("take-help:start") in html


def test_a_forged_or_reissued_session_is_signed_out(w):
    client = student_client(w.code_a1)
    give_new_personal_code(w.stu_a1)  # a new slip: every session of the old code ends

    assert signed_out(client)
    forged = Client()
    forged.cookies[COOKIE_NAME] = "eyJzIjoxLCJmIjoibm9uZSJ9:forged"
    assert signed_out(forged)


# --- a classmate cannot act in another student's name --------------------------------------
def test_a_classmates_session_with_tampered_fields_acts_only_for_the_classmate(w):
    classmate = student_client(w.code_a2)

    classmate.post(
        reverse("counselling:student-help"),
        {
            "urgent": "1",
            "key": "k1",
            "student": str(w.stu_a1.code),
            "student_id": w.stu_a1.pk,
            "personal_code": w.code_a1,
            "school": str(w.school_b.code),
        },
    )
    classmate.post(
        reverse("counselling:student-book") + f"?student={w.stu_a1.code}",
        {"slot": slot_value(w), "student": str(w.stu_a1.code)},
    )

    help_request = HelpRequest.objects.get()
    appointment = Appointment.objects.get()
    assert (help_request.student_id, help_request.school_id) == (w.stu_a2.pk, w.school_a.pk)
    assert appointment.student_id == w.stu_a2.pk
    assert appointment.booked_as == BookedAs.STUDENT


def test_a_classmate_cannot_cancel_another_students_appointment(w):
    appointment = services.book_appointment(
        actor=w.head_teacher,
        booked_as=BookedAs.HEAD_TEACHER,
        unit=w.school_a,
        student=w.stu_a1,
        counsellor=w.psych,
        starts_at=at(WEDNESDAY, 14),
        ends_at=at(WEDNESDAY, 14, 50),
        channel=Channel.FACE_TO_FACE,
    )
    classmate = student_client(w.code_a2)

    response = classmate.post(
        reverse("counselling:student-cancel", kwargs={"code": appointment.code})
    )

    assert response.status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED
    page = classmate.get(reverse("counselling:student-home")).content.decode()
    assert 'data-testid="my-appointment"' not in page  # not listed for the classmate either


def test_without_a_session_nothing_is_written(w):
    client = Client()
    client.post(reverse("counselling:student-help"), {"urgent": "1", "key": "k"})
    client.post(reverse("counselling:student-book"), {"slot": slot_value(w)})

    assert not HelpRequest.objects.exists()
    assert not Appointment.objects.exists()


# --- bookings on the student's page ----------------------------------------------------------
def test_the_student_books_a_free_time_sees_bookings_for_them_and_cancels(w):
    services.book_appointment(
        actor=w.head_teacher,
        booked_as=BookedAs.HEAD_TEACHER,
        unit=w.school_a,
        student=w.stu_a1,
        counsellor=w.psych,
        starts_at=at(WEDNESDAY, 15, 40),
        ends_at=at(WEDNESDAY, 16, 30),
        channel=Channel.FACE_TO_FACE,
    )
    client = student_client(w.code_a1)

    client.post(reverse("counselling:student-book"), {"slot": slot_value(w)})
    again = client.post(reverse("counselling:student-book"), {"slot": slot_value(w)})
    page = client.get(reverse("counselling:student-home")).content.decode()

    own = Appointment.objects.get(booked_as=BookedAs.STUDENT)
    assert (own.student_id, own.counsellor_id) == (w.stu_a1.pk, w.psych.pk)
    assert Appointment.objects.filter(booked_as=BookedAs.STUDENT).count() == 1  # double click
    assert again.status_code == 302
    assert page.count('data-testid="my-appointment"') == 2  # theirs and the head teacher's
    assert "班主任" in page or "Head teacher" in page
    subjects = Notification.objects.filter(kind="counselling.appointment.booked")
    assert subjects.count() == 2  # the head teacher's booking and the student's
    assert all(w.stu_a1.name not in n.subject for n in subjects)

    client.post(reverse("counselling:student-cancel", kwargs={"code": own.code}))
    own.refresh_from_db()
    assert own.status == AppointmentStatus.CANCELLED
    event = AuditEvent.objects.filter(action="counselling.appointment.cancelled").get()
    assert event.fields["by"] == "student"


def test_a_time_not_free_is_refused_with_a_message(w):
    client = student_client(w.code_a1)

    response = client.post(
        reverse("counselling:student-book"), {"slot": f"{w.psych.pk}|{at(WEDNESDAY, 9)}"}
    )

    assert response.status_code == 302
    assert not Appointment.objects.exists()


# --- "I need help now" -------------------------------------------------------------------------
def test_help_now_goes_to_the_counsellor_on_duty_with_the_red_deadline(w):
    client = student_client(w.code_a1)

    first = client.post(
        reverse("counselling:student-help"), {"urgent": "1", "key": "abc", "message": "我很难受"}
    )
    second = client.post(reverse("counselling:student-help"), {"urgent": "1", "key": "abc"})
    page = client.get(first["Location"]).content.decode()

    help_request = HelpRequest.objects.get()  # the double click made one
    assert second.status_code == 302
    assert help_request.owner_id == w.psych.pk
    assert help_request.urgent is True
    assert help_request.respond_by == help_request.created_at + datetime.timedelta(hours=1)
    assert help_request.message == "我很难受"
    note = Notification.objects.get(kind="counselling.help.requested", recipient=w.psych)
    assert w.stu_a1.name not in note.subject
    assert "我很难受" not in note.subject
    assert 'data-testid="help-sent-urgent"' in page
    assert helplines_for([w.school_a])[0][0] in page  # the hotlines at once
    event = AuditEvent.objects.get(action="counselling.help.requested")
    assert event.fields["urgent"] is True
    assert "message" not in event.fields


def test_the_message_is_encrypted_at_rest(w):
    from django.db import connection

    client = student_client(w.code_a1)
    client.post(
        reverse("counselling:student-help"), {"urgent": "1", "key": "x", "message": "秘密心事"}
    )

    with connection.cursor() as cursor:
        cursor.execute("SELECT message FROM counselling_helprequest")
        (raw,) = cursor.fetchone()
    assert "秘密心事" not in raw


def unacknowledged(w) -> HelpRequest:
    help_request, _created = help_services.ask_for_help(
        student=w.stu_a1, urgent=True, request_key="esc"
    )
    return help_request


def test_unacknowledged_it_escalates_like_a_red_alert(w):
    w.psych_a2 = _user("psych_a2", "甲校心理老师二", w.school_a, Role.PSYCHOLOGY_TEACHER)
    help_request = unacknowledged(w)
    start = help_request.created_at

    assert help_services.run_help_escalations(now=start + datetime.timedelta(minutes=59)) == 0
    assert help_services.run_help_escalations(now=start + datetime.timedelta(minutes=61)) == 1
    assert help_services.run_help_escalations(now=start + datetime.timedelta(minutes=62)) == 0
    escalated = Notification.objects.filter(kind="counselling.help.escalated")
    assert {n.recipient_id for n in escalated} == {w.psych.pk, w.psych_a2.pk}
    assert help_services.run_help_escalations(now=start + datetime.timedelta(hours=2)) == 1
    assert escalated.filter(recipient=w.school_admin).exists()
    assert help_services.run_help_escalations(now=start + datetime.timedelta(hours=24)) == 1
    assert escalated.filter(recipient=w.station_counsellor).exists()
    help_request.refresh_from_db()
    assert help_request.escalation_step == 3
    assert AuditEvent.objects.filter(action="counselling.help.escalated").count() == 3


def test_acknowledged_in_time_it_does_not_escalate(w):
    help_request = unacknowledged(w)
    help_services.acknowledge_help(actor=w.psych, help_request=help_request)

    later = help_request.created_at + datetime.timedelta(hours=30)
    assert help_services.run_help_escalations(now=later) == 0


# --- the counsellor's inbox ------------------------------------------------------------------
def test_the_inbox_acknowledge_book_alert_and_close(w, client_for):
    help_request = unacknowledged(w)
    client = client_for(w.psych)
    detail = reverse("counselling:help-detail", kwargs={"code": help_request.code})

    inbox = client.get(reverse("counselling:help-inbox"))
    page = client.get(detail)
    client.post(reverse("counselling:help-acknowledge", kwargs={"code": help_request.code}))
    booked = client.post(
        reverse("counselling:help-book", kwargs={"code": help_request.code}),
        {
            "book-starts_at": "2026-10-13T10:00",
            "book-minutes": "50",
            "book-channel": Channel.FACE_TO_FACE,
        },
    )
    client.post(
        reverse("counselling:help-alert", kwargs={"code": help_request.code}), {"level": "orange"}
    )
    closed = client.post(
        reverse("counselling:help-close", kwargs={"code": help_request.code}),
        {"outcome": HelpOutcome.SESSION_BOOKED},
    )

    assert inbox.status_code == 200
    assert w.stu_a1.name in inbox.content.decode()
    assert page.status_code == 200
    assert booked.status_code == 302
    assert closed.status_code == 302
    help_request.refresh_from_db()
    assert help_request.acknowledged_by_id == w.psych.pk
    assert help_request.appointment.booked_as == BookedAs.STUDENT
    assert help_request.appointment.student_id == w.stu_a1.pk
    alert = Alert.objects.get(pk=help_request.alert_id)
    assert alert.triggers.filter(source="help_request").exists()
    assert (help_request.outcome, help_request.closed_by_id) == ("session_booked", w.psych.pk)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "counselling.help.listed",
        "counselling.help.viewed",
        "counselling.help.acknowledged",
        "counselling.help.session_booked",
        "counselling.help.alert_raised",
        "counselling.help.closed",
    } <= actions
    # the student sees the session booked for them
    student = student_client(w.code_a1)
    assert (
        'data-testid="my-appointment"'
        in student.get(reverse("counselling:student-home")).content.decode()
    )


def test_bad_input_changes_nothing(w, client_for):
    help_request = unacknowledged(w)
    client = client_for(w.psych)

    response = client.post(
        reverse("counselling:help-close", kwargs={"code": help_request.code}), {"outcome": "x"}
    )

    assert response.status_code == 400
    help_request.refresh_from_db()
    assert help_request.closed_at is None


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("psych_b", 404),  # another school's counsellor
        ("head_teacher", 403),  # the wrong role
        ("committee", 403),
        ("parent", 403),
        ("school_admin", 404),  # a school leader sees it only once escalated to them
        ("station_counsellor", 404),  # the station only once escalated to it
    ],
)
def test_who_may_not_open_a_help_request(w, client_for, who, status):
    help_request = unacknowledged(w)
    client = client_for(getattr(w, who))

    detail = client.get(reverse("counselling:help-detail", kwargs={"code": help_request.code}))
    ack = client.post(reverse("counselling:help-acknowledge", kwargs={"code": help_request.code}))

    assert (detail.status_code, ack.status_code) == (status, status)
    help_request.refresh_from_db()
    assert help_request.acknowledged_at is None


def test_the_school_leader_and_the_station_see_it_once_escalated(w, client_for):
    help_request = unacknowledged(w)
    help_services.run_help_escalations(now=help_request.created_at + datetime.timedelta(hours=25))
    url = reverse("counselling:help-detail", kwargs={"code": help_request.code})

    assert client_for(w.school_admin).get(url).status_code == 200
    assert client_for(w.station_counsellor).get(url).status_code == 200
    assert client_for(w.psych_b).get(url).status_code == 404


# --- parents and mentors book ------------------------------------------------------------------
def test_a_parent_books_for_their_own_child(w, client_for):
    client = client_for(w.parent)
    url = reverse("counselling:family-book", kwargs={"code": w.stu_a1.code})

    page = client.get(url)
    booked = client.post(url, {"slot": slot_value(w), "student": str(w.stu_a2.code)})

    assert page.status_code == 200
    assert booked.status_code == 302
    appointment = Appointment.objects.get()
    assert (appointment.student_id, appointment.booked_as) == (w.stu_a1.pk, BookedAs.PARENT)
    assert appointment.booked_by_id == w.parent.pk
    student = student_client(w.code_a1)
    assert (
        'data-testid="my-appointment"'
        in student.get(reverse("counselling:student-home")).content.decode()
    )
    cancelled = client.post(
        reverse("counselling:family-cancel", kwargs={"code": appointment.code}),
        {"reason": "not_needed"},
    )
    appointment.refresh_from_db()
    assert cancelled.status_code == 302
    assert appointment.status == AppointmentStatus.CANCELLED


def test_a_parent_cannot_book_for_another_child_and_staff_cannot_use_the_parent_page(w, client_for):
    other_child = reverse("counselling:family-book", kwargs={"code": w.stu_a2.code})
    own_child = reverse("counselling:family-book", kwargs={"code": w.stu_a1.code})

    assert client_for(w.parent).get(other_child).status_code == 404
    assert client_for(w.parent).post(other_child, {"slot": slot_value(w)}).status_code == 404
    assert client_for(w.head_teacher).get(own_child).status_code == 403
    assert client_for(w.psych_b).get(own_child).status_code == 403
    assert not Appointment.objects.exists()


def test_a_mentor_books_for_a_student_in_their_scope(w, client_for):
    client = client_for(w.mentor)
    data = {
        "student": str(w.stu_a1.code),
        "counsellor": str(w.psych.pk),
        "day": WEDNESDAY.isoformat(),
        "slot": at(WEDNESDAY, 14).isoformat(),
        "channel": Channel.FACE_TO_FACE,
    }

    response = client.post(reverse("counselling:book"), data)
    outside = client.post(reverse("counselling:book"), {**data, "student": str(w.stu_a2.code)})

    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert (appointment.booked_as, appointment.booked_by_id) == (BookedAs.MENTOR, w.mentor.pk)
    assert outside.status_code == 400  # stu_a2 is in class A2, outside the mentor's class
    assert Appointment.objects.count() == 1


def test_code_guessing_is_limited_per_address(w):
    client = Client()
    url = reverse("counselling:student-enter")
    for _attempt in range(20):
        client.post(url, {"personal_code": "AAAA-AAAA"})

    blocked = client.post(url, {"personal_code": w.code_a1})  # even the right code, for now

    assert blocked.status_code == 429
    assert signed_out(client)


def test_the_school_entry_is_only_a_schools(w):
    for unit in (w.station_a, w.class_a1):
        url = reverse("counselling:school-entry", kwargs={"code": unit.code})
        assert Client().get(url).status_code == 404


def test_the_roster_page_shows_the_schools_student_entry(w, client_for):
    html = (
        client_for(w.school_admin)
        .get(reverse("counselling:unit", kwargs={"code": w.school_a.code}))
        .content.decode()
    )

    assert reverse("counselling:school-entry", kwargs={"code": w.school_a.code}) in html


def test_in_chinese_the_status_and_outcome_words_are_the_help_requests_own(w, client_for):
    """Found by the acceptance walk: the student's "Sent" read 提交时间 (a referral's time sent)
    and the request's and a call's "Outcome" read 复核结论 (an alert's verification)."""
    help_request, _created = help_services.ask_for_help(
        student=w.stu_a1, urgent=True, message="", request_key="zh-words"
    )
    student = student_client(w.code_a1)
    html = student.get(
        reverse("counselling:student-home"), HTTP_ACCEPT_LANGUAGE="zh-CN"
    ).content.decode()
    assert 'data-testid="my-request"' in html
    assert "已发送" in html
    assert "提交时间" not in html

    staff = client_for(w.psych)
    detail = reverse("counselling:help-detail", kwargs={"code": help_request.code})
    html = staff.get(detail, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "处理结果" in html
    assert "复核结论" not in html
    staff.post(
        reverse("counselling:help-close", kwargs={"code": help_request.code}),
        {"outcome": HelpOutcome.TALKED},
    )
    html = staff.get(detail, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "处理结果" in html
    assert "复核结论" not in html
