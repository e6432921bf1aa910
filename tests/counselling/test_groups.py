"""Group programmes, the hotline log and case conferences (issue 15): their pages, who sees
what, the room held against appointments, the hotline's alert, audited reads, the workload
selectors."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from xinqiao.alerts.models import AlertTrigger
from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.counselling import selectors_groups, services, services_groups
from xinqiao.counselling.models import (
    BookedAs,
    CaseConference,
    Channel,
    ConferenceAction,
    GroupMember,
    GroupProgramme,
    HotlineCall,
    ProgrammeSession,
    SessionAttendance,
)

NOW = datetime.datetime(2026, 10, 12, 8, 0, tzinfo=datetime.UTC)
WEDNESDAY = datetime.date(2026, 10, 14)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def w(world):
    with time_machine.travel(NOW, tick=False):
        world.group_room = services.save_room(
            actor=world.psych, unit=world.school_a, name="团辅室", kind="group", capacity=20
        )
        yield world


def _programme(w, **kw):
    return services_groups.create_programme(
        actor=w.psych,
        unit=w.school_a,
        theme=kw.get("theme", "人际交往小组"),
        kind="developmental",
        facilitators=[w.psych],
    )


def url(name, *args):
    return reverse(f"counselling:{name}", args=args)


# --- group programmes -------------------------------------------------------------------------
def test_a_psychology_teacher_creates_a_programme_adds_members_and_a_class(w, client_for):
    client = client_for(w.psych)
    response = client.post(
        url("group-create"),
        {"theme": "情绪管理", "kind": "problem_focused", "facilitators": [w.psych.staff.code]},
    )
    assert response.status_code == 302
    programme = GroupProgramme.objects.get()
    assert list(programme.facilitators.all()) == [w.psych]

    again = client.post(
        url("group-create"),
        {"theme": "情绪管理", "kind": "problem_focused", "facilitators": [w.psych.staff.code]},
    )
    assert again.status_code == 400
    assert GroupProgramme.objects.count() == 1

    client.post(url("group-members", programme.code), {"students": [w.stu_a1.code]})
    client.post(url("group-members", programme.code), {"school_class": w.class_a2.code})
    client.post(url("group-members", programme.code), {"students": [w.stu_a1.code]})
    assert set(GroupMember.objects.values_list("student_id", flat=True)) == {
        w.stu_a1.pk,
        w.stu_a2.pk,
    }

    page = client.get(url("group-detail", programme.code))
    assert "王小明" in page.content.decode()
    assert AuditEvent.objects.filter(action="counselling.group.members_viewed").exists()


def test_a_facilitator_must_be_a_counsellor_of_the_unit(w, client_for):
    response = client_for(w.psych).post(
        url("group-create"),
        {"theme": "情绪管理", "kind": "developmental", "facilitators": [w.school_admin.staff.code]},
    )
    assert response.status_code == 400
    assert not GroupProgramme.objects.exists()


def test_another_schools_student_cannot_join(w):
    programme = _programme(w)
    with pytest.raises(DomainError):
        services_groups.add_members(actor=w.psych, programme=programme, students=[w.stu_b1])
    assert not GroupMember.objects.exists()


def test_a_session_holds_its_group_room_against_appointments(w, client_for):
    programme = _programme(w)
    client = client_for(w.psych)
    response = client.post(
        url("group-session-add", programme.code),
        {"starts_at": "2026-10-14T15:00", "minutes": 60, "room": w.group_room.pk},
    )
    assert response.status_code == 302
    assert ProgrammeSession.objects.count() == 1

    # An appointment in that room then is refused, and so is a second session.
    with pytest.raises(DomainError):
        services.book_appointment(
            actor=w.psych,
            booked_as=BookedAs.COUNSELLOR,
            unit=w.school_a,
            student=w.stu_a1,
            counsellor=w.psych,
            starts_at=at(WEDNESDAY, 15, 30),
            ends_at=at(WEDNESDAY, 16, 20),
            channel=Channel.GROUP,
            room=w.group_room,
        )
    other = _programme(w, theme="学习压力")
    clash = client.post(
        url("group-session-add", other.code),
        {"starts_at": "2026-10-14T15:30", "minutes": 60, "room": w.group_room.pk},
    )
    assert clash.status_code == 400
    assert ProgrammeSession.objects.count() == 1


def test_a_session_cannot_take_a_room_an_appointment_holds(w):
    services.book_appointment(
        actor=w.psych,
        booked_as=BookedAs.COUNSELLOR,
        unit=w.school_a,
        student=w.stu_a1,
        counsellor=w.psych,
        starts_at=at(WEDNESDAY, 15),
        ends_at=at(WEDNESDAY, 15, 50),
        channel=Channel.GROUP,
        room=w.group_room,
    )
    with pytest.raises(DomainError):
        services_groups.plan_session(
            actor=w.psych,
            programme=_programme(w),
            starts_at=at(WEDNESDAY, 15, 30),
            ends_at=at(WEDNESDAY, 16, 30),
            room=w.group_room,
        )


def test_attendance_and_the_record_of_a_session(w, client_for):
    programme = _programme(w)
    services_groups.add_members(actor=w.psych, programme=programme, students=[w.stu_a1, w.stu_a2])
    session = services_groups.plan_session(
        actor=w.psych, programme=programme, starts_at=at(WEDNESDAY, 15), ends_at=at(WEDNESDAY, 16)
    )
    client = client_for(w.psych)
    early = client.post(url("group-session", session.code), {"record": "x"})
    assert early.status_code == 400
    with time_machine.travel(at(WEDNESDAY, 16, 30), tick=False):
        client = client_for(w.psych)
        response = client.post(
            url("group-session", session.code),
            {"record": "小组分享顺利", "present": [str(w.stu_a1.pk)]},
        )
        assert response["Location"] == url("group-detail", programme.code)
        assert client.get(url("group-session", session.code)).status_code == 200
    assert dict(SessionAttendance.objects.values_list("student_id", "present")) == {
        w.stu_a1.pk: True,
        w.stu_a2.pk: False,
    }
    session.refresh_from_db()
    assert session.record == "小组分享顺利"
    assert AuditEvent.objects.filter(action="counselling.group_session.viewed").exists()


def test_who_sees_what_of_a_programme(w, client_for):
    programme = _programme(w)
    services_groups.add_members(actor=w.psych, programme=programme, students=[w.stu_a1])

    leader = client_for(w.school_admin).get(url("group-detail", programme.code))
    body = leader.content.decode()
    assert leader.status_code == 200
    assert 'data-testid="counts"' in body
    assert "王小明" not in body

    head = client_for(w.head_teacher).get(url("group-detail", programme.code))
    body = head.content.decode()
    assert head.status_code == 200
    assert 'data-testid="class-takes-part"' in body
    assert "王小明" not in body
    assert 'data-testid="counts"' not in body

    # Head teacher of a class not taking part, another school's psychology teacher: not found.
    assert client_for(w.head_teacher_b).get(url("group-detail", programme.code)).status_code == 404
    assert client_for(w.psych_b).get(url("group-detail", programme.code)).status_code == 404
    # The wrong role for keeping it.
    assert client_for(w.school_admin).get(url("group-members", programme.code)).status_code == 403
    assert client_for(w.head_teacher).get(url("group-members", programme.code)).status_code == 403
    assert client_for(w.psych_b).get(url("group-members", programme.code)).status_code == 404
    session = services_groups.plan_session(
        actor=w.psych, programme=programme, starts_at=at(WEDNESDAY, 15), ends_at=at(WEDNESDAY, 16)
    )
    assert client_for(w.psych_b).get(url("group-session", session.code)).status_code == 404
    assert (
        client_for(w.station_counsellor).get(url("group-session", session.code)).status_code == 403
    )
    assert (
        client_for(w.head_teacher).get(url("group-session-add", programme.code)).status_code == 403
    )

    listed = client_for(w.head_teacher_b).get(url("group-list")).content.decode()
    assert "人际交往小组" not in listed
    assert "人际交往小组" in client_for(w.head_teacher).get(url("group-list")).content.decode()


def test_incident_group_sessions_appear_in_the_group_list(w, client_for):
    from xinqiao.cases.services.sweeps import record_group_session, record_incident

    incident = record_incident(
        actor=w.psych,
        school=w.school_a,
        title="校园意外",
        occurred_on=datetime.date(2026, 10, 10),
        description="……",
        client_key="incident-1",
        students=[w.stu_a1],
    )
    record_group_session(
        incident,
        actor=w.psych,
        held_at=NOW - datetime.timedelta(hours=1),
        facilitator=w.psych,
        topic="哀伤支持团辅",
        participants=[w.stu_a1],
        client_key="gs-1",
    )
    body = client_for(w.psych).get(url("group-list")).content.decode()
    assert "哀伤支持团辅" in body
    assert "哀伤支持团辅" not in client_for(w.psych_b).get(url("group-list")).content.decode()


# --- the hotline log --------------------------------------------------------------------------
def _call_data(**kw):
    data = {
        "client_key": "k1",
        "channel": "phone",
        "started_at": "2026-10-12T07:30",
        "minutes": 25,
        "caller_kind": "student",
        "concern_code": "emotion",
        "concern": "最近睡不好",
        "risk": "orange",
        "outcome": "school_counsellor",
    }
    data.update(kw)
    return data


def test_an_identified_call_raises_a_hotline_alert_once(w, client_for):
    client = client_for(w.station_counsellor)
    data = _call_data(student=w.stu_a1.code, raise_alert="on")
    response = client.post(url("hotline-add"), data)
    assert response.status_code == 302
    again = client.post(url("hotline-add"), data)
    assert again.status_code == 302
    call = HotlineCall.objects.get()
    assert call.student == w.stu_a1
    assert call.concern == "最近睡不好"
    trigger = AlertTrigger.objects.get(source="hotline")
    assert (trigger.alert.student, trigger.level, call.alert_id) == (
        w.stu_a1,
        "orange",
        trigger.alert_id,
    )

    page = client.get(url("hotline-list"))
    assert "王小明" in page.content.decode()
    assert AuditEvent.objects.filter(action="counselling.hotline.list_viewed").exists()
    assert client.get(url("hotline-detail", call.code)).status_code == 200
    assert AuditEvent.objects.filter(action="counselling.hotline.viewed").exists()


def test_a_student_outside_the_station_is_found_by_number_and_name(w, client_for):
    client = client_for(w.station_counsellor)
    wrong = client.post(
        url("hotline-add"),
        _call_data(student_number=w.stu_b1.student_number, student_name="别人"),
    )
    assert wrong.status_code == 400
    assert not HotlineCall.objects.exists()
    right = client.post(
        url("hotline-add"),
        _call_data(student_number=w.stu_b1.student_number, student_name="赵小刚", risk="none"),
    )
    assert right.status_code == 302
    assert HotlineCall.objects.get().student == w.stu_b1


def test_an_anonymous_call_names_nobody_and_bad_input_changes_nothing(w, client_for):
    client = client_for(w.station_counsellor)
    response = client.post(url("hotline-add"), _call_data(anonymous="on", student=w.stu_a1.code))
    assert response.status_code == 302
    assert HotlineCall.objects.get().student is None
    no_student_alert = client.post(
        url("hotline-add"), _call_data(client_key="k2", anonymous="on", raise_alert="on")
    )
    assert no_student_alert.status_code == 400
    assert HotlineCall.objects.count() == 1
    assert not AlertTrigger.objects.filter(source="hotline").exists()


def test_the_hotline_is_the_stations(w, client_for):
    call = services_groups.log_call(
        actor=w.station_counsellor,
        unit=w.station_a,
        client_key="k",
        channel="online",
        started_at=NOW - datetime.timedelta(hours=1),
        minutes=15,
        caller_kind="parent",
        concern_code="family",
        risk="none",
        outcome="advice",
    )
    for user in (w.psych, w.psych_b):  # a school's counsellor: no hotline, not found
        assert client_for(user).get(url("hotline-list")).status_code == 403
        assert client_for(user).get(url("hotline-detail", call.code)).status_code == 404
    assert client_for(w.school_admin).get(url("hotline-detail", call.code)).status_code == 403
    with pytest.raises(DomainError):
        services_groups.log_call(
            actor=w.psych,
            unit=w.school_a,
            client_key="k9",
            channel="online",
            started_at=NOW,
            minutes=15,
            caller_kind="parent",
            concern_code="family",
            risk="none",
            outcome="advice",
        )


# --- case conferences -------------------------------------------------------------------------
def test_a_case_conference_is_seen_by_its_participants_only(w, client_for):
    client = client_for(w.psych)
    response = client.post(
        url("conference-add"),
        {
            "client_key": "c1",
            "held_on": "2026-10-15",
            "participants": [w.school_admin.staff.code],
            "question": "如何与家长沟通",
            "presentation": "一名初一女生，近两周情绪低落……",
        },
    )
    assert response.status_code == 302
    conference = CaseConference.objects.get()
    assert conference.question == "如何与家长沟通"

    leader = client_for(w.school_admin).get(url("conference-detail", conference.code))
    assert leader.status_code == 200
    assert "如何与家长沟通" in leader.content.decode()
    assert AuditEvent.objects.filter(
        action="counselling.conference.viewed", actor=w.school_admin
    ).exists()
    for outsider in (w.head_teacher, w.psych_b, w.station_counsellor):
        assert (
            client_for(outsider).get(url("conference-detail", conference.code)).status_code == 404
        )
    assert (
        client_for(w.mentor).get(url("conference-detail", conference.code)).status_code == 404
    )  # a mentor sees counselling, not this conference
    assert client_for(w.head_teacher).get(url("conference-add")).status_code == 403

    # The author records the advice and a follow-up action; a participant may not.
    client.post(url("conference-advice", conference.code), {"advice": "先与班主任沟通"})
    client.post(
        url("conference-action-add", conference.code),
        {"text": "约谈家长", "owner": w.school_admin.pk, "due_on": "2026-10-20"},
    )
    action = ConferenceAction.objects.get()
    assert (action.owner, action.text) == (w.school_admin, "约谈家长")
    refused = client_for(w.school_admin).post(
        url("conference-advice", conference.code), {"advice": "改"}
    )
    assert refused.status_code == 403
    conference.refresh_from_db()
    assert conference.advice == "先与班主任沟通"
    with pytest.raises(DomainError):
        services_groups.add_action(
            actor=w.psych,
            conference=conference,
            text="x",
            owner=w.head_teacher,
            due_on=datetime.date(2026, 10, 20),
        )


# --- workload selectors -----------------------------------------------------------------------
def test_workload_selectors(w):
    programme = _programme(w)
    services_groups.plan_session(
        actor=w.psych,
        programme=programme,
        starts_at=at(WEDNESDAY, 15),
        ends_at=at(WEDNESDAY, 16, 30),
    )
    for i, minutes in enumerate((20, 40)):
        services_groups.log_call(
            actor=w.station_counsellor,
            unit=w.station_a,
            client_key=f"w{i}",
            channel="phone",
            started_at=NOW - datetime.timedelta(hours=i + 1),
            minutes=minutes,
            caller_kind="other",
            concern_code="other",
            risk="none",
            outcome="advice",
        )
    since, until = NOW - datetime.timedelta(days=7), NOW + datetime.timedelta(days=7)
    users = [w.psych, w.station_counsellor]
    assert selectors_groups.group_session_hours(users, since, until) == {
        w.psych.pk: 1.5,
        w.station_counsellor.pk: 0.0,
    }
    assert selectors_groups.hotline_calls(users, since, until) == {
        w.psych.pk: {"count": 0, "minutes": 0},
        w.station_counsellor.pk: {"count": 2, "minutes": 60},
    }
