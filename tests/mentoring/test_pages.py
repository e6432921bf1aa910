"""The mentor-system pages: what each role sees, refusals for another school and a wrong role
(with data that could leak), the talk form, assignment through the pages, audited note reads."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from xinqiao.audit.models import AuditEvent
from xinqiao.mentoring import services
from xinqiao.mentoring.models import Mentorship, TalkLog

NOTE = "父母最近在闹离婚"


@pytest.fixture
def talked(world):
    """stu_a1 mentored by the subject teacher, stu_a2 by the head teacher; one talk each."""
    services.assign_mentor(actor=world.school_admin, student=world.stu_a1, mentor=world.mentor)
    services.assign_mentor(
        actor=world.school_admin, student=world.stu_a2, mentor=world.head_teacher
    )
    world.talk = services.log_talk(
        actor=world.mentor,
        student=world.stu_a1,
        held_on=timezone.localdate(),
        topic="family",
        note=NOTE,
        worried=False,
        client_key="t1",
    )
    return world


def url(name, *args):
    return reverse(f"mentoring:{name}", args=args)


# --- a mentor's pages -----------------------------------------------------------------------
def test_a_mentor_sees_their_mentees_and_not_others(talked, client_for):
    page = client_for(talked.mentor).get(url("home")).content.decode()

    assert "王小明" in page
    assert "李小红" not in page  # the head teacher's mentee, in another class


def test_the_talk_form_logs_a_talk(talked, client_for):
    client = client_for(talked.mentor)
    form = client.get(url("talk-add") + f"?student={talked.stu_a1.code}")
    assert form.status_code == 200
    assert "王小明" in form.content.decode()

    response = client.post(
        url("talk-add"),
        {
            "student": talked.stu_a1.code,
            "held_on": timezone.localdate().isoformat(),
            "topic": "study",
            "note": "期中考试焦虑",
            "worried": "on",
            "client_key": "page-1",
        },
    )

    assert response.status_code == 302
    row = TalkLog.objects.get(client_key="page-1")
    assert (row.topic, row.worried, row.concern_code is not None) == ("study", True, True)


def test_the_talk_form_refuses_another_teachers_mentee(talked, client_for):
    response = client_for(talked.mentor).post(
        url("talk-add"),
        {
            "student": talked.stu_a2.code,
            "held_on": timezone.localdate().isoformat(),
            "topic": "study",
            "client_key": "page-2",
        },
    )

    assert response.status_code == 400
    assert TalkLog.objects.filter(client_key="page-2").count() == 0


def test_a_mentee_of_another_school_is_404_on_the_form(talked, client_for):
    assert (
        client_for(talked.psych_b)
        .get(url("talk-add") + f"?student={talked.stu_a1.code}")
        .status_code
        == 404
    )
    assert (
        client_for(talked.mentor)
        .get(url("talk-add") + f"?student={talked.stu_b1.code}")
        .status_code
        == 404
    )


def test_a_bad_date_is_a_translated_error_and_nothing_saved(talked, client_for, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    response = client_for(talked.mentor).post(
        url("talk-add"),
        {
            "student": talked.stu_a1.code,
            "held_on": "2099-01-01",
            "topic": "study",
            "client_key": "x",
        },
    )

    assert response.status_code == 400
    assert "日期不能晚于今天" in response.content.decode()
    assert TalkLog.objects.filter(client_key="x").count() == 0


# --- a talk's page: the note's tiers --------------------------------------------------------
def test_the_mentor_and_the_schools_psychology_teacher_read_the_note_audited(talked, client_for):
    for user in (talked.mentor, talked.psych):
        page = client_for(user).get(url("talk-detail", talked.talk.code)).content.decode()
        assert NOTE in page

    readers = AuditEvent.objects.filter(action="mentoring.talk.read").values_list(
        "actor_id", flat=True
    )
    assert sorted(readers) == sorted([talked.mentor.pk, talked.psych.pk])


def test_the_head_teacher_sees_that_a_talk_happened_not_the_note(talked, client_for):
    response = client_for(talked.head_teacher).get(url("talk-detail", talked.talk.code))

    assert response.status_code == 200
    assert NOTE not in response.content.decode()
    assert AuditEvent.objects.filter(action="mentoring.talk.read").count() == 0


def test_the_school_leader_and_the_class_page_show_no_note(talked, client_for):
    client = client_for(talked.school_admin)
    assert client.get(url("talk-detail", talked.talk.code)).status_code == 403
    page = client.get(url("class", talked.class_a1.code)).content.decode()
    assert "王小明" in page
    assert NOTE not in page


def test_another_schools_users_and_wrong_roles_cannot_open_a_talk(talked, client_for):
    assert client_for(talked.psych_b).get(url("talk-detail", talked.talk.code)).status_code == 404
    assert (
        client_for(talked.head_teacher_b).get(url("talk-detail", talked.talk.code)).status_code
        == 404
    )
    for user in (talked.committee, talked.parent, talked.station_counsellor, talked.city_admin):
        assert client_for(user).get(url("talk-detail", talked.talk.code)).status_code == 403


def test_the_school_talk_list_is_the_psychology_teachers_and_audited(talked, client_for):
    page = client_for(talked.psych).get(url("school-talks")).content.decode()
    other = client_for(talked.psych_b).get(url("school-talks")).content.decode()

    assert "王小明" in page
    assert NOTE not in page
    assert "王小明" not in other
    assert AuditEvent.objects.filter(action="mentoring.talks.listed").count() == 1
    assert client_for(talked.head_teacher).get(url("school-talks")).status_code == 403


# --- coverage and assignment ----------------------------------------------------------------
def test_coverage_for_the_leader_and_the_head_teacher(talked, client_for):
    leader = client_for(talked.school_admin).get(url("coverage")).content.decode()
    head = client_for(talked.head_teacher).get(url("coverage")).content.decode()
    other = client_for(talked.head_teacher_b).get(url("coverage")).content.decode()

    assert "七(1)班" in leader
    assert "七(2)班" in leader
    assert "七(2)班" not in head
    assert str(talked.class_a1.code) not in other
    assert client_for(talked.mentor).get(url("coverage")).status_code == 403


def test_a_class_page_is_refused_to_another_school_and_another_class(talked, client_for):
    assert (
        client_for(talked.head_teacher_b).get(url("class", talked.class_a1.code)).status_code == 404
    )
    assert (
        client_for(talked.head_teacher).get(url("class", talked.class_a2.code)).status_code == 404
    )
    assert client_for(talked.mentor).get(url("class", talked.class_a1.code)).status_code == 403


def test_bulk_assignment_through_the_class_page(world, client_for):
    response = client_for(world.head_teacher).post(
        url("class-assign", world.class_a1.code), {"mentors": [world.mentor.pk]}
    )

    assert response.status_code == 302
    assert Mentorship.objects.current().get().student == world.stu_a1


def test_bulk_assignment_without_teachers_is_an_error(world, client_for):
    response = client_for(world.head_teacher).post(url("class-assign", world.class_a1.code), {})

    assert response.status_code == 400
    assert Mentorship.objects.count() == 0


def test_bulk_assignment_refuses_another_schools_teacher(world, client_for):
    response = client_for(world.school_admin).post(
        url("class-assign", world.class_a1.code), {"mentors": [world.psych_b.pk]}
    )

    assert response.status_code == 400
    assert Mentorship.objects.count() == 0


def test_one_by_one_and_reassign_through_the_picker(talked, client_for):
    client = client_for(talked.school_admin)
    assert client.get(url("assign") + f"?student={talked.stu_a1.code}").status_code == 200

    response = client.post(
        url("assign"), {"student": talked.stu_a1.code, "mentor": talked.psych.pk}
    )

    assert response.status_code == 302
    assert Mentorship.objects.current().get(student=talked.stu_a1).mentor == talked.psych


def test_a_head_teacher_cannot_assign_outside_their_class(talked, client_for):
    response = client_for(talked.head_teacher).post(
        url("assign"), {"student": talked.stu_a2.code, "mentor": talked.mentor.pk}
    )

    assert response.status_code == 400
    assert Mentorship.objects.current().get(student=talked.stu_a2).mentor == talked.head_teacher
    assert (
        client_for(talked.head_teacher_b)
        .get(url("assign") + f"?student={talked.stu_a1.code}")
        .status_code
        == 404
    )


def test_ending_through_the_page(talked, client_for):
    row = Mentorship.objects.current().get(student=talked.stu_a1)

    other = client_for(talked.head_teacher_b).post(url("end", row.code))
    response = client_for(talked.head_teacher).post(url("end", row.code))

    assert (other.status_code, response.status_code) == (404, 302)
    row.refresh_from_db()
    assert row.ended_at is not None


def test_the_pages_are_in_chinese(talked, client_for, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    page = client_for(talked.mentor).get(url("home")).content.decode()

    assert "我的导师学生" in page
    assert "记录谈心谈话" in page


def test_the_coverage_and_class_pages_query_a_constant_number_of_times(
    world, class_of_six, client_for
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(world.school_admin)

    def queries(name, *args):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url(name, *args)).status_code == 200
        # The navigation's badges (open alerts and cases) are cached for a while: left out.
        badges = ('SELECT COUNT("alerts_alert"', 'SELECT COUNT("cases_case"')
        return len([q for q in ctx.captured_queries if not q["sql"].startswith(badges)])

    client.get(url("coverage"))  # the navigation's cached figures: computed once
    before = (queries("coverage"), queries("class", world.class_a1.code))
    services.assign_class(
        actor=world.school_admin,
        school_class=world.class_a1,
        mentors=[world.mentor, world.head_teacher, world.psych],
    )
    for i, student in enumerate(class_of_six):
        mentor = Mentorship.objects.current().get(student=student).mentor
        services.log_talk(
            actor=mentor,
            student=student,
            held_on=timezone.localdate(),
            topic="study",
            note="",
            worried=False,
            client_key=f"q{i}",
        )
    after = (queries("coverage"), queries("class", world.class_a1.code))

    assert after == before
