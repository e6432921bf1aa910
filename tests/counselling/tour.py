"""Every page of the counselling service and the mentor system, with data on it, per role that
works it: the phone test (tests/e2e/test_counselling_responsive.py) and the Chinese test
(tests/counselling/test_chinese.py) open each of them."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.urls import reverse
from django.utils import timezone

NOTES = "过程记录：学生谈到与父母的冲突，情绪低落"


def build(world: Any) -> dict[str, list[str]]:
    """Records of every kind in school A (and the district station), then {persona: paths}.
    `world.personal_code` is stu_a1's personal code (the student's own page)."""
    from xinqiao.counselling import help_services, services, services_groups, services_sessions
    from xinqiao.counselling.models import AvailabilityKind, BookedAs, Channel, RoomKind
    from xinqiao.mentoring import services as mentoring
    from xinqiao.people.services import give_new_personal_code

    now = timezone.now()
    today = timezone.localdate()
    room = services.save_room(
        actor=world.school_admin, unit=world.school_a, name="个体辅导室", kind=RoomKind.INDIVIDUAL
    )
    group_room = services.save_room(
        actor=world.psych, unit=world.school_a, name="团体辅导室", kind=RoomKind.GROUP, capacity=20
    )
    for weekday in range(7):
        services.publish_availability(
            actor=world.psych,
            unit=world.school_a,
            kind=AvailabilityKind.WEEKLY,
            weekday=weekday,
            starts=datetime.time(14),
            ends=datetime.time(16),
            room=room,
        )
    starts = timezone.make_aware(
        datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time(9))
    )
    appointment = services.book_appointment(
        actor=world.psych,
        booked_as=BookedAs.COUNSELLOR,
        unit=world.school_a,
        student=world.stu_a1,
        counsellor=world.psych,
        starts_at=starts,
        ends_at=starts + datetime.timedelta(minutes=50),
        channel=Channel.FACE_TO_FACE,
        room=room,
    )
    services.join_waitlist(
        actor=world.head_teacher,
        booked_as=BookedAs.HEAD_TEACHER,
        unit=world.school_a,
        student=world.stu_a1,
        week_start=today + datetime.timedelta(days=7),
    )
    session = services_sessions.record_session(
        actor=world.psych,
        client_key=uuid.uuid4().hex,
        unit=world.school_a,
        student=world.stu_a1,
        starts_at=now - datetime.timedelta(hours=2),
        minutes=50,
        channel="face_to_face",
        concerns=["family", "emotion"],
        concern_text="和父母吵架",
        risk_found=True,
        risk_level="orange",
        interventions=["supportive"],
        plan="每周一次",
        summary="摘要：建立关系，评估风险，约定下次咨询",
        notes=NOTES,
    )
    supervision = services_sessions.ask_supervision(
        actor=world.psych,
        supervisor=world.station_counsellor,
        sessions=[session],
        question="如何处理学生的阻抗？",
        client_key=uuid.uuid4().hex,
    )
    programme = services_groups.create_programme(
        actor=world.psych,
        unit=world.school_a,
        theme="人际交往小组",
        kind="developmental",
        facilitators=[world.psych],
    )
    services_groups.add_members(
        actor=world.psych, programme=programme, students=[world.stu_a1, world.stu_a2]
    )
    group_session = services_groups.plan_session(
        actor=world.psych,
        programme=programme,
        starts_at=now - datetime.timedelta(days=3),
        ends_at=now - datetime.timedelta(days=3) + datetime.timedelta(hours=1),
        room=group_room,
    )
    services_groups.record_session(
        actor=world.psych,
        session=group_session,
        record="小组讨论了同伴关系",
        present=[world.stu_a1.pk],
    )
    call = services_groups.log_call(
        actor=world.station_counsellor,
        unit=world.station_a,
        client_key=uuid.uuid4().hex,
        channel="phone",
        started_at=now - datetime.timedelta(hours=5),
        minutes=25,
        caller_kind="student",
        concern_code="emotion",
        concern="最近睡不好",
        risk="orange",
        outcome="school_counsellor",
        anonymous=False,
        student=world.stu_a1,
    )
    conference = services_groups.create_conference(
        actor=world.psych,
        unit=world.school_a,
        client_key=uuid.uuid4().hex,
        held_on=today,
        participants=[world.school_admin],
        question="如何与家长沟通",
        presentation="一名初一女生，近两周情绪低落……",
    )
    services_groups.add_action(
        actor=world.psych,
        conference=conference,
        text="约见家长",
        owner=world.school_admin,
        due_on=today + datetime.timedelta(days=7),
    )
    help_request, _ = help_services.ask_for_help(
        student=world.stu_a2, urgent=False, message="我想找老师聊聊", request_key="tour"
    )
    mentoring.assign_mentor(actor=world.school_admin, student=world.stu_a1, mentor=world.mentor)
    talk = mentoring.log_talk(
        actor=world.mentor,
        student=world.stu_a1,
        held_on=today,
        topic="family",
        note="父母最近在闹离婚",
        worried=False,
        client_key="tour",
    )
    world.personal_code = give_new_personal_code(world.stu_a1)

    def c(name: str, *args: Any) -> str:
        return reverse(f"counselling:{name}", args=args)

    def m(name: str, *args: Any) -> str:
        return reverse(f"mentoring:{name}", args=args)

    school = world.school_a.code
    return {
        "psych": [
            c("home"),
            c("help-inbox"),
            c("help-detail", help_request.code),
            c("appointment-detail", appointment.code),
            c("appointment-reschedule", appointment.code),
            c("appointment-cancel", appointment.code),
            c("availability"),
            c("calendar"),
            c("book-own"),
            c("feed-manage"),
            c("sessions"),
            c("session-add"),
            c("session-add") + f"?appointment={appointment.code}",
            c("session-detail", session.code),
            c("session-break", session.code),
            c("supervision"),
            c("supervision-add"),
            c("supervision-detail", supervision.code),
            c("group-list"),
            c("group-create"),
            c("group-detail", programme.code),
            c("group-members", programme.code),
            c("group-session-add", programme.code),
            c("group-session", group_session.code),
            c("conference-list"),
            c("conference-add"),
            c("conference-detail", conference.code),
            c("workload-mine"),
            c("room-usage", school),
            c("room-hours", room.code),
            c("waitlist"),
            m("school-talks"),
            m("talk-detail", talk.code),
        ],
        "station_counsellor": [
            c("hotline-list"),
            c("hotline-add"),
            c("hotline-detail", call.code),
            c("sessions"),
            c("supervision"),
            c("supervision-detail", supervision.code),
            c("supervision-advice", supervision.code),
            c("workload-mine"),
        ],
        "school_admin": [
            c("unit", school),
            c("duty-add", school),
            c("exception-add", school),
            c("room-add", school),
            c("settings", school),
            c("workload-unit", school),
            c("confidentiality"),
            c("conference-detail", conference.code),
            m("coverage"),
            m("class", world.class_a1.code),
            m("class-assign", world.class_a1.code),
            m("assign"),
        ],
        "head_teacher": [
            c("book"),
            c("waitlist"),
            m("home"),
            m("class", world.class_a1.code),
        ],
        "mentor": [
            m("home"),
            m("talk-add"),
            m("talk-detail", talk.code),
            c("book"),
        ],
        "parent": [c("family-book", world.stu_a1.code)],
        "district_admin": [c("workload-area"), c("area-usage")],
    }


STUDENT_PAGES = ("counselling:student-home",)
