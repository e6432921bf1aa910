"""Counselling sessions (咨询记录) and their tiered confidentiality, confidentiality breaks and
supervision (督导): every role reads, or is refused, the process notes and the summary with data
present, and every read is audited."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from xinqiao.access.roles import Role
from xinqiao.alerts.models import Alert, Source
from xinqiao.audit.models import AuditEvent
from xinqiao.cases.models import CaseTeamMember, TeamTier
from xinqiao.core.errors import DomainError
from xinqiao.counselling import selectors_sessions, services, services_sessions
from xinqiao.counselling.models import (
    Appointment,
    AppointmentStatus,
    ConfidentialityBreak,
    Session,
    SupervisionRequest,
)
from xinqiao.notifications.models import Notification

NOTES = "过程记录：学生谈到与父母的冲突，情绪低落"
SUMMARY = "摘要：建立关系，评估风险，约定下次咨询"


def record(world, *, counsellor, unit, student, risk_level="orange", **extra):
    return services_sessions.record_session(
        actor=counsellor,
        client_key=uuid.uuid4().hex,
        unit=unit,
        student=student,
        starts_at=timezone.now() - datetime.timedelta(hours=2),
        minutes=50,
        channel="face_to_face",
        concerns=["family", "emotion"],
        concern_text="和父母吵架",
        risk_found=bool(risk_level),
        risk_level=risk_level,
        interventions=["supportive"],
        plan="每周一次",
        summary=SUMMARY,
        notes=NOTES,
        **extra,
    )


@pytest.fixture
def tiers(world):
    """A session the district station's counsellor held with 李小红 (stu_a2, whose orange case
    is open: owner the school's psychology teacher; the school leader on its level-1 team, the
    head teacher on its level-2 team)."""
    now = timezone.now()
    for user, tier, role in (
        (world.school_admin, TeamTier.SCHOOL, Role.SCHOOL_ADMIN),
        (world.head_teacher, TeamTier.CLASS, Role.HEAD_TEACHER),
    ):
        CaseTeamMember.objects.create(
            case=world.case_a2,
            user=user,
            tier=tier,
            role=role,
            task="关注",
            added_by=world.psych,
            added_at=now,
        )
    world.session = record(
        world, counsellor=world.station_counsellor, unit=world.station_a, student=world.stu_a2
    )
    return world


def test_everything_about_the_childs_health_is_encrypted_at_rest(tiers):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT notes, summary, concerns, concern_text, risk, interventions, plan "
            "FROM counselling_session"
        )
        row = cursor.fetchone()
    stored = " ".join(str(v) for v in row)
    for plain in ("过程记录", "摘要", "family", "和父母", "orange", "supportive", "每周"):
        assert plain not in stored
    fresh = Session.objects.get()
    assert (fresh.notes, fresh.summary, fresh.risk_level) == (NOTES, SUMMARY, "orange")


# (role or persona, status, what the page shows: "notes", "summary" or None)
READERS = [
    ("station_counsellor", 200, "notes"),  # the author
    ("psych", 200, "summary"),  # the case owner
    ("school_admin", 200, "summary"),  # level-1 team of the open case
    ("head_teacher", 404, None),  # level-2 team: at most the fact
    ("city_admin", 404, None),
    ("district_admin", 404, None),
    ("mentor", 404, None),
    ("committee", 403, None),
    ("parent", 403, None),
    ("psychiatrist", 403, None),
    ("auditor", 403, None),
    ("sysadmin", 403, None),
    ("department_officer", 403, None),
    ("expert", 403, None),
    ("psych_b", 404, None),  # another school
    ("head_teacher_b", 404, None),
]


@pytest.mark.parametrize(("who", "status", "shows"), READERS, ids=[r[0] for r in READERS])
def test_each_role_reads_the_tier_it_may_and_no_more(tiers, client_for, who, status, shows):
    user = getattr(tiers, who)
    url = reverse("counselling:session-detail", args=[tiers.session.code])

    response = client_for(user).get(url)

    assert response.status_code == status
    body = response.content.decode() if status == 200 else ""
    assert (NOTES in body) is (shows == "notes")
    assert (SUMMARY in body) is (shows in ("notes", "summary"))
    reads = AuditEvent.objects.filter(
        actor=user, object_id=str(tiers.session.pk), action__endswith="_read"
    )
    actions = set(reads.values_list("action", flat=True))
    expected = {
        "notes": {"counselling.session.notes_read"},
        "summary": {"counselling.session.summary_read"},
        None: set(),
    }[shows]
    assert actions == expected


def test_the_school_leader_off_the_team_and_a_removed_member_read_nothing(tiers, client_for):
    CaseTeamMember.objects.filter(user=tiers.school_admin).update(removed_at=timezone.now())
    url = reverse("counselling:session-detail", args=[tiers.session.code])

    assert client_for(tiers.school_admin).get(url).status_code == 404


def test_a_closed_case_ends_the_teams_reading(tiers, client_for):
    tiers.case_a2.status = "closed"
    tiers.case_a2.save(update_fields=["status"])
    url = reverse("counselling:session-detail", args=[tiers.session.code])

    assert client_for(tiers.psych).get(url).status_code == 404


def test_the_archive_shows_the_summary_to_the_team_and_the_fact_to_the_head_teacher(
    tiers, client_for
):
    own = record(tiers, counsellor=tiers.psych, unit=tiers.school_a, student=tiers.stu_a1)
    team_page = client_for(tiers.psych).get(
        reverse("people:student-detail", args=[tiers.stu_a2.code])
    )
    head_page = client_for(tiers.head_teacher).get(
        reverse("people:student-detail", args=[tiers.stu_a1.code])
    )
    mentor_page = client_for(tiers.mentor).get(
        reverse("people:student-detail", args=[tiers.stu_a1.code])
    )

    team_html = team_page.content.decode()
    assert 'data-testid="counselling-archive"' in team_html
    assert SUMMARY in team_html
    assert NOTES not in team_html
    assert AuditEvent.objects.filter(
        actor=tiers.psych,
        action="counselling.session.summary_read",
        object_id=str(tiers.session.pk),
    ).exists()
    head_html = head_page.content.decode()
    assert 'data-testid="counselling-fact"' in head_html
    assert "1 counselling session, the last on" in head_html
    with translation.override("zh-hans"):
        one = translation.ngettext(
            "%(n)s counselling session, the last on %(last)s.",
            "%(n)s counselling sessions, the last on %(last)s.",
            1,
        )
    assert one % {"n": 1, "last": "2026-10-12"} == "共1次咨询，最近一次为2026-10-12。"
    assert SUMMARY not in head_html
    assert NOTES not in head_html
    assert own.starts_at.astimezone(timezone.get_current_timezone()).strftime("%Y-%m-%d") in (
        head_html
    )
    assert 'data-testid="counselling-archive"' not in mentor_page.content.decode()


def test_recording_from_an_appointment_marks_it_took_place_and_books_the_next(world, client_for):
    now = timezone.now()
    appointment = services.book_appointment(
        actor=world.psych,
        booked_as="counsellor",
        unit=world.school_a,
        student=world.stu_a1,
        counsellor=world.psych,
        starts_at=now + datetime.timedelta(minutes=1),
        ends_at=now + datetime.timedelta(minutes=51),
        channel="face_to_face",
    )
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=now - datetime.timedelta(hours=1), ends_at=now - datetime.timedelta(minutes=10)
    )
    url = reverse("counselling:session-add") + f"?appointment={appointment.code}"
    client = client_for(world.psych)
    page = client.get(url)
    key = page.context["form"].initial["client_key"]
    next_at = timezone.localtime(now + datetime.timedelta(days=7)).replace(second=0, microsecond=0)
    data = {
        "client_key": key,
        "minutes": 45,
        "concerns": ["study"],
        "risk_found": "on",
        "risk_level": "yellow",
        "interventions": ["cbt", "relaxation"],
        "summary": SUMMARY,
        "notes": NOTES,
        "next_starts_at": next_at.strftime("%Y-%m-%dT%H:%M"),
        "next_minutes": 50,
    }

    first = client.post(url, data)
    again = client.post(url, data)  # a double click

    assert page.status_code == 200
    assert first.status_code == 302
    assert again.status_code == 302
    session = Session.objects.get()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.DONE
    assert (session.appointment, session.student, session.minutes) == (
        appointment,
        world.stu_a1,
        45,
    )
    assert session.interventions == ["cbt", "relaxation"]
    assert session.next_appointment is not None
    assert session.next_appointment.starts_at == next_at
    assert AuditEvent.objects.filter(action="counselling.session.recorded").count() == 1


def test_bad_input_is_refused_with_nothing_recorded(world, client_for):
    client = client_for(world.psych)
    response = client.post(
        reverse("counselling:session-add"),
        {
            "client_key": "k1",
            "student": str(world.stu_a1.code),
            "starts_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "channel": "face_to_face",
            "minutes": 50,
            "risk_found": "on",
            "risk_level": "",
            "summary": SUMMARY,
            "next_minutes": 50,
        },
    )

    assert response.status_code == 400
    assert "risk_level" in response.context["form"].errors
    assert not Session.objects.exists()


def test_another_schools_student_cannot_be_chosen(world, client_for):
    response = client_for(world.psych).post(
        reverse("counselling:session-add"),
        {
            "client_key": "k2",
            "student": str(world.stu_b1.code),
            "starts_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "channel": "face_to_face",
            "minutes": 50,
            "summary": SUMMARY,
            "next_minutes": 50,
        },
    )

    assert response.status_code == 400
    assert not Session.objects.exists()


def test_a_session_raises_an_alert_at_the_level_its_risk_check_suggests(world, client_for):
    session = record(
        world, counsellor=world.psych_b, unit=world.school_b, student=world.stu_b1, risk_level="red"
    )
    url = reverse("counselling:session-alert", args=[session.code])

    refused = client_for(world.psych).post(url)  # another school's counsellor
    raised = client_for(world.psych_b).post(url)
    twice = client_for(world.psych_b).post(url)

    assert refused.status_code == 404
    assert raised.status_code == 302
    assert twice.status_code == 302
    alert = Alert.objects.get(student=world.stu_b1)
    assert (alert.level, alert.source) == ("red", Source.COUNSELLING)
    session.refresh_from_db()
    assert session.alert == alert
    assert AuditEvent.objects.filter(action="counselling.session.alert_raised").count() == 1


def test_no_alert_without_a_risk(world):
    session = record(
        world, counsellor=world.psych, unit=world.school_a, student=world.stu_a1, risk_level=""
    )

    with pytest.raises(DomainError):
        services_sessions.raise_alert_from_session(actor=world.psych, session=session)


def test_a_session_is_attached_to_the_open_case_and_links_to_the_referral(tiers, client_for):
    own = record(tiers, counsellor=tiers.psych, unit=tiers.school_a, student=tiers.stu_a2)
    no_case = record(tiers, counsellor=tiers.psych, unit=tiers.school_a, student=tiers.stu_a1)
    client = client_for(tiers.psych)

    attached = client.post(reverse("counselling:session-case", args=[own.code]))
    refused = client.post(reverse("counselling:session-case", args=[no_case.code]))
    not_author = client.post(reverse("counselling:session-case", args=[tiers.session.code]))
    page = client.get(reverse("counselling:session-detail", args=[own.code]))

    assert (attached.status_code, refused.status_code, not_author.status_code) == (302, 302, 403)
    own.refresh_from_db()
    no_case.refresh_from_db()
    assert own.case == tiers.case_a2
    assert no_case.case is None
    assert reverse("cases:referral-create", args=[tiers.case_a2.code]) in page.content.decode()
    concern = reverse("alerts:concern-create") + f"?student={tiers.stu_a2.code}"
    assert concern in page.content.decode()


def test_breaking_confidentiality_is_a_recorded_fact_the_school_leader_sees(world, client_for):
    session = record(world, counsellor=world.psych, unit=world.school_a, student=world.stu_a1)
    url = reverse("counselling:session-break", args=[session.code])
    data = {
        "reason": "danger_self",
        "reason_text": "学生透露具体自杀计划",
        "disclosed_to": "监护人、德育主任",
        "disclosed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }

    refused = client_for(world.school_admin).post(url, data)  # not the author
    other_school = client_for(world.psych_b).post(url, data)
    empty = client_for(world.psych).post(url, {**data, "reason_text": " "})
    done = client_for(world.psych).post(url, data)
    leader = client_for(world.school_admin).get(reverse("counselling:confidentiality"))
    head = client_for(world.head_teacher).get(reverse("counselling:confidentiality"))
    other_leader = client_for(world.psych_b).get(reverse("counselling:confidentiality"))

    assert (refused.status_code, other_school.status_code) == (403, 404)
    assert (empty.status_code, done.status_code) == (400, 302)
    row = ConfidentialityBreak.objects.get()
    assert (row.decided_by, row.reason, row.disclosed_to) == (
        world.psych,
        "danger_self",
        "监护人、德育主任",
    )
    html = leader.content.decode()
    assert leader.status_code == 200
    assert "王小明" in html
    assert "监护人" in html
    assert NOTES not in html
    assert SUMMARY not in html
    assert (head.status_code, other_leader.status_code) == (403, 403)
    assert AuditEvent.objects.filter(action="counselling.confidentiality.broken").count() == 1
    assert AuditEvent.objects.filter(
        action="counselling.confidentiality.listed", actor=world.school_admin
    ).exists()
    assert Notification.objects.filter(
        recipient=world.school_admin, kind="counselling.confidentiality.broken"
    ).exists()


def test_supervision_opens_the_asked_notes_to_the_supervisor_only(world, client_for):
    session = record(world, counsellor=world.psych, unit=world.school_a, student=world.stu_a1)
    other = record(world, counsellor=world.psych, unit=world.school_a, student=world.stu_a2)
    detail = reverse("counselling:session-detail", args=[session.code])
    supervisor = client_for(world.station_counsellor)
    before = supervisor.get(detail)

    form_page = client_for(world.psych).get(reverse("counselling:supervision-add"))
    key = form_page.context["form"].initial["client_key"]
    offered = [c[0] for c in form_page.context["form"].fields["supervisor"].choices]
    wrong = client_for(world.psych).post(
        reverse("counselling:supervision-add"),
        {
            "client_key": key,
            "supervisor": world.psych_b.pk,
            "sessions": [session.code],
            "question": "?",
        },
    )
    asked = client_for(world.psych).post(
        reverse("counselling:supervision-add"),
        {
            "client_key": key,
            "supervisor": world.station_counsellor.pk,
            "sessions": [str(session.code)],
            "question": "如何处理学生的阻抗？",
        },
    )
    request = SupervisionRequest.objects.get()
    after = supervisor.get(detail)
    not_asked = supervisor.get(reverse("counselling:session-detail", args=[other.code]))
    page = supervisor.get(reverse("counselling:supervision-detail", args=[request.code]))
    outsider = client_for(world.psych_b).get(
        reverse("counselling:supervision-detail", args=[request.code])
    )
    leader = client_for(world.school_admin).get(
        reverse("counselling:supervision-detail", args=[request.code])
    )
    supervisee_advice = client_for(world.psych).post(
        reverse("counselling:supervision-advice", args=[request.code]),
        {"advice": "x", "minutes": 30},
    )
    advice = supervisor.post(
        reverse("counselling:supervision-advice", args=[request.code]),
        {"advice": "先共情，再澄清", "actions": "下次咨询做安全计划", "minutes": 90},
    )

    assert before.status_code == 404
    assert str(world.station_counsellor.pk) in offered
    assert str(world.psych_b.pk) not in offered
    assert wrong.status_code == 400
    assert asked.status_code == 302
    assert after.status_code == 200
    assert NOTES in after.content.decode()
    assert not_asked.status_code == 404
    assert page.status_code == 200
    assert NOTES in page.content.decode()
    assert (outsider.status_code, leader.status_code) == (404, 403)
    assert supervisee_advice.status_code == 403
    assert advice.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.minutes, request.advice) == ("given", 90, "先共情，再澄清")
    assert (
        AuditEvent.objects.filter(
            actor=world.station_counsellor,
            action="counselling.session.notes_read",
            object_id=str(session.pk),
        ).count()
        >= 2
    )
    assert set(
        AuditEvent.objects.filter(action__startswith="counselling.supervision.").values_list(
            "action", flat=True
        )
    ) == {
        "counselling.supervision.asked",
        "counselling.supervision.given",
    }
    now = timezone.now()
    hours = selectors_sessions.supervision_hours(
        [world.psych, world.station_counsellor, world.psych_b],
        now - datetime.timedelta(days=1),
        now + datetime.timedelta(days=1),
    )
    assert hours[world.psych.pk] == {"given": 0.0, "received": 1.5}
    assert hours[world.station_counsellor.pk] == {"given": 1.5, "received": 0.0}
    assert hours[world.psych_b.pk] == {"given": 0.0, "received": 0.0}
    later = selectors_sessions.supervision_hours(
        [world.psych], now + datetime.timedelta(days=1), now + datetime.timedelta(days=2)
    )
    assert later[world.psych.pk]["received"] == 0.0


def test_a_counsellor_cannot_ask_about_another_counsellors_session(world):
    session = record(world, counsellor=world.psych_b, unit=world.school_b, student=world.stu_b1)

    with pytest.raises(DomainError):
        services_sessions.ask_supervision(
            actor=world.psych,
            supervisor=world.station_counsellor,
            sessions=[session],
            question="?",
            client_key="x",
        )


def test_the_lists_show_only_ones_own_sessions(world, client_for):
    mine = record(world, counsellor=world.psych, unit=world.school_a, student=world.stu_a1)
    record(world, counsellor=world.psych_b, unit=world.school_b, student=world.stu_b1)

    response = client_for(world.psych).get(reverse("counselling:sessions"))

    assert response.status_code == 200
    assert list(response.context["sessions"]) == [mine]
    assert "赵小刚" not in response.content.decode()
    assert client_for(world.head_teacher).get(reverse("counselling:sessions")).status_code == 403


def test_every_view_refuses_another_school_and_the_wrong_role(world, client_for):
    """School A's psychology teacher's session, appointment and supervision request: school B's
    counsellor gets 404 and a head teacher (wrong role) 403 on every view, and nothing changes."""
    session = record(world, counsellor=world.psych, unit=world.school_a, student=world.stu_a1)
    now = timezone.now()
    appointment = services.book_appointment(
        actor=world.psych,
        booked_as="counsellor",
        unit=world.school_a,
        student=world.stu_a1,
        counsellor=world.psych,
        starts_at=now + datetime.timedelta(days=1),
        ends_at=now + datetime.timedelta(days=1, minutes=50),
        channel="face_to_face",
    )
    request = services_sessions.ask_supervision(
        actor=world.psych,
        supervisor=world.station_counsellor,
        sessions=[session],
        question="?",
        client_key="k",
    )
    code = session.code
    views = [
        ("get", reverse("counselling:session-detail", args=[code])),
        ("post", reverse("counselling:session-alert", args=[code])),
        ("post", reverse("counselling:session-case", args=[code])),
        ("get", reverse("counselling:session-break", args=[code])),
        ("get", reverse("counselling:session-add") + f"?appointment={appointment.code}"),
        ("get", reverse("counselling:supervision-detail", args=[request.code])),
        ("get", reverse("counselling:supervision-advice", args=[request.code])),
    ]
    own_lists = [
        reverse("counselling:sessions"),
        reverse("counselling:supervision"),
        reverse("counselling:supervision-add"),
    ]
    other_school, wrong_role = client_for(world.psych_b), client_for(world.head_teacher)

    for method, url in views:
        assert getattr(other_school, method)(url).status_code == 404, url
        assert getattr(wrong_role, method)(url).status_code in (403, 404), url
    for url in own_lists:
        assert wrong_role.get(url).status_code == 403, url
        page = other_school.get(url)
        assert page.status_code == 200, url
        assert "王小明" not in page.content.decode()
    session.refresh_from_db()
    assert (session.alert_id, session.case_id) == (None, None)
    assert not ConfidentialityBreak.objects.exists()


def test_a_repeated_post_records_one_session_and_a_taken_next_time_is_refused(world):
    first = record(world, counsellor=world.psych, unit=world.school_a, student=world.stu_a1)
    again = services_sessions.record_session(
        actor=world.psych,
        client_key=first.client_key,
        unit=world.school_a,
        student=world.stu_a1,
        starts_at=first.starts_at,
        summary=SUMMARY,
    )
    taken = record(
        world,
        counsellor=world.psych,
        unit=world.school_a,
        student=world.stu_a2,
        next_starts_at=timezone.now() + datetime.timedelta(days=2),
    )

    assert again.pk == first.pk
    with pytest.raises(DomainError) as refused:
        record(
            world,
            counsellor=world.psych,
            unit=world.school_a,
            student=world.stu_a1,
            next_starts_at=taken.next_appointment.starts_at,
        )
    assert refused.value.field == "next_starts_at"
    assert Session.objects.count() == 2


def test_the_form_from_an_appointment_proposes_its_length_and_the_page_is_a_record(
    world, client_for
):
    """Found by the acceptance walk: a 45-minute appointment's record proposed 50 minutes, and
    the session page was titled 面谈 (the alert source's word for an interview) in Chinese."""
    now = timezone.now()
    appointment = services.book_appointment(
        actor=world.psych,
        booked_as="counsellor",
        unit=world.school_a,
        student=world.stu_a1,
        counsellor=world.psych,
        starts_at=now + datetime.timedelta(minutes=1),
        ends_at=now + datetime.timedelta(minutes=46),
        channel="face_to_face",
    )
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=now - datetime.timedelta(minutes=70), ends_at=now - datetime.timedelta(minutes=25)
    )
    client = client_for(world.psych)
    url = reverse("counselling:session-add") + f"?appointment={appointment.code}"
    page = client.get(url)
    assert page.context["form"].initial["minutes"] == 45
    assert 'name="minutes" value="45"' in page.content.decode()

    session = record(world, counsellor=world.psych, unit=world.school_a, student=world.stu_a1)
    html = client.get(
        reverse("counselling:session-detail", kwargs={"code": session.code}),
        HTTP_ACCEPT_LANGUAGE="zh-CN",
    ).content.decode()
    assert '<h1 class="h4 mb-3">咨询记录 ·' in html
