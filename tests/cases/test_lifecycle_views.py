"""The case list and the case page: scope (404), roles (403), notes only for note readers,
audited reads, step-down forms, and a constant number of queries on the list."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from xinqiao.access.roles import Role
from xinqiao.access.services import create_staff
from xinqiao.audit.models import AuditEvent
from xinqiao.cases.models import Case, LevelChange, StepDownRequest
from xinqiao.people.services import create_student

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
SECRET_NOTE = "学生自述曾有自伤念头"  # T3: must never reach a leader's page


@pytest.fixture
def noted(world):
    """case_a2 with a level-change reason (a note) that could leak."""
    LevelChange.objects.filter(case=world.case_a2).update(reason="")
    change = world.case_a2.level_changes.get()
    change.reason = SECRET_NOTE
    change.save()
    return world.case_a2


@pytest.fixture
def leader_b(world):
    return create_staff(
        actor=None,
        username="school_admin_b",
        name="乙校德育主任",
        org_unit=world.school_b,
        password="x-Passw0rd!-x",
        roles=[(Role.SCHOOL_ADMIN, world.school_b)],
    ).user


def url(case, what=""):
    return f"/cases/{case.code}/{what}"


def later(days):
    return time_machine.travel(timezone.now() + days * DAY, tick=False)


def make_red(world):
    case = world.case_a2
    case.level = "red"
    case.save()
    return case


def ready_red(world):
    """case_a2 at red for 15 days with the hospital's feedback: a step down may be asked."""
    case = make_red(world)
    referral = world.referral_a2
    referral.status, referral.feedback_at = "feedback", timezone.now() + DAY
    referral.save()
    return case


# --- case list --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("psych", 200),
        ("school_admin", 200),
        ("station_counsellor", 200),
        ("head_teacher", 403),
        ("mentor", 403),
        ("committee", 403),
        ("parent", 403),
        ("psychiatrist", 403),
        ("city_admin", 403),
    ],
)
def test_case_list_by_role(world, client_for, role, status):
    assert client_for(getattr(world, role)).get("/cases/").status_code == status


def test_case_list_shows_the_schools_cases(world, client_for):
    body = client_for(world.psych).get("/cases/").content.decode()
    assert world.stu_a2.name in body
    assert 'data-level="orange"' in body
    leader = client_for(world.school_admin).get("/cases/").content.decode()
    assert world.stu_a2.name in leader


def test_case_list_of_another_school_is_empty(world, client_for):
    body = client_for(world.psych_b).get("/cases/").content.decode()
    assert world.stu_a2.name not in body
    assert "No cases match." in body


def test_station_lists_red_cases_of_its_district_only(world, client_for):
    client = client_for(world.station_counsellor)
    assert world.stu_a2.name not in client.get("/cases/").content.decode()
    make_red(world)
    assert world.stu_a2.name in client.get("/cases/").content.decode()


def test_case_list_filters_and_marks_overdue(world, client_for):
    client = client_for(world.psych)
    assert world.stu_a2.name not in client.get("/cases/?level=red").content.decode()
    assert world.stu_a2.name in client.get("/cases/?level=orange").content.decode()
    assert world.stu_a2.name not in client.get("/cases/?status=closed").content.decode()
    assert world.stu_a2.name in client.get("/cases/?status=all").content.decode()
    assert 'data-testid="overdue"' not in client.get("/cases/").content.decode()
    Case.objects.filter(pk=world.case_a2.pk).update(
        next_follow_up_due=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert 'data-testid="overdue"' in client.get("/cases/").content.decode()


def _more_cases(world, n):
    now = timezone.now()
    for i in range(n):
        number = f"G3601022013030{i:04d}X"
        student = create_student(
            actor=None,
            student_number=number,
            name=f"学生{i}",
            gender="F",
            birth_date=datetime.date(2013, 3, 3),
            school_class=world.class_a1 if i % 2 else world.class_a2,
            term=world.term,
        )
        Case.objects.create(
            student=student,
            school=world.school_a,
            level=["red", "orange", "yellow"][i % 3],
            level_since=now,
            owner=world.psych,
            opened_at=now,
            opened_by=world.psych,
            next_follow_up_due=now - DAY if i % 2 else now + DAY,
        )


def test_case_list_query_count_does_not_grow_with_rows(world, client_for):
    client = client_for(world.psych)
    client.get("/cases/")  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        assert client.get("/cases/").status_code == 200
    _more_cases(world, 12)
    with CaptureQueriesContext(connection) as many:
        body = client.get("/cases/").content.decode()
    assert "学生11" in body
    assert len(many.captured_queries) == len(few.captured_queries)


# --- case page --------------------------------------------------------------------------------


def test_case_page_for_the_psychology_teacher_shows_notes_and_is_audited(world, client_for, noted):
    response = client_for(world.psych).get(url(noted))
    assert response.status_code == 200
    body = response.content.decode()
    assert world.stu_a2.name in body
    assert world.class_a2.name in body
    assert 'data-level="orange"' in body
    assert "Case opened at Orange" in body
    assert SECRET_NOTE in body
    for number, _label in [("12355", ""), ("966525", ""), ("0791-88330120", "")]:
        assert f'href="tel:{number}"' in body
    event = AuditEvent.objects.filter(action="cases.case.viewed").last()
    assert event.actor == world.psych
    assert event.object_id == str(noted.pk)
    assert "notes" in event.fields["read"]


def test_leader_sees_the_timeline_without_notes(world, client_for, noted):
    response = client_for(world.school_admin).get(url(noted))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Case opened at Orange" in body
    assert SECRET_NOTE not in body
    event = AuditEvent.objects.filter(action="cases.case.viewed").last()
    assert event.actor == world.school_admin
    assert "notes" not in event.fields["read"]


def test_timeline_hides_every_kind_of_note_from_the_leader(world, client_for):
    from xinqiao.cases.models import FollowUp, GuardianContact

    case = world.case_a2
    now = timezone.now()
    FollowUp.objects.create(
        case=case,
        done_at=now,
        method="interview",
        trend="worse",
        risk_signs=True,
        level_at_time="orange",
        note="随访：" + SECRET_NOTE,
        recorded_by=world.psych,
        client_key="fu-1",
        created_at=now,
    )
    GuardianContact.objects.create(
        case=case,
        method="phone",
        contacted_at=now,
        what_was_said="告知家长：" + SECRET_NOTE,
        recorded_by=world.psych,
        client_key="gc-1",
        created_at=now,
    )
    leader = client_for(world.school_admin).get(url(case)).content.decode()
    assert "Follow-up (Interview)" in leader
    assert "Guardian contact (Phone call)" in leader
    assert "Referral sent" in leader
    assert SECRET_NOTE not in leader
    assert "signs of risk" not in leader
    timeline = leader.split('data-testid="case-timeline"')[1].split("</ol>")[0]
    assert world.hospital.name not in timeline  # referral details are T3
    psych = client_for(world.psych).get(url(case)).content.decode()
    psych = psych.split('data-testid="case-timeline"')[1].split("</ol>")[0]
    assert psych.count(SECRET_NOTE) == 2
    assert "signs of risk" in psych
    assert world.hospital.name in psych


@pytest.mark.parametrize(
    "role", ["head_teacher", "mentor", "committee", "parent", "psychiatrist", "city_admin"]
)
def test_case_page_wrong_role_403(world, client_for, role):
    assert client_for(getattr(world, role)).get(url(world.case_a2)).status_code == 403


def test_case_page_other_school_404(world, client_for, leader_b):
    assert client_for(world.psych_b).get(url(world.case_a2)).status_code == 404
    assert client_for(leader_b).get(url(world.case_a2)).status_code == 404
    assert client_for(world.psych).get(f"/cases/{world.stu_a1.code}/").status_code == 404


def test_station_sees_red_cases_with_notes(world, client_for, noted):
    client = client_for(world.station_counsellor)
    assert client.get(url(noted)).status_code == 404  # orange, not escalated
    make_red(world)
    body = client.get(url(noted)).content.decode()
    assert SECRET_NOTE in body


def test_case_page_anonymous_redirects(client, world):
    response = client.get(url(world.case_a2))
    assert response.status_code == 302
    assert "/login" in response["Location"] or "/accounts/" in response["Location"]


# --- step-down panel and forms ----------------------------------------------------------------


def test_panel_shows_which_rules_are_met(world, client_for):
    body = client_for(world.psych).get(url(world.case_a2)).content.decode()
    assert 'data-testid="step-down-request-form"' in body
    assert 'data-rule="min_stay" data-met="no"' in body
    assert 'data-rule="improving_follow_ups" data-met="no"' in body
    assert 'data-rule="rescreen_below_orange" data-met="no"' in body
    assert "disabled" in body
    leader = client_for(world.school_admin).get(url(world.case_a2)).content.decode()
    assert 'data-testid="step-down-request-form"' not in leader
    assert 'data-testid="step-down-decide-form"' not in leader  # nothing pending


def test_request_refused_shows_each_reason_and_keeps_the_text(world, client_for):
    response = client_for(world.psych).post(
        url(world.case_a2, "step-down/request/"), {"reason": "情况稳定，已好转"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "0 follow-ups marked improving since the case turned orange; 2 are needed." in body
    assert "No re-screen since the case turned orange." in body
    assert "情况稳定，已好转" in body
    assert not StepDownRequest.objects.exists()


def test_request_and_approve_through_the_pages(world, client_for):
    case = ready_red(world)
    with later(15):  # sign in after travelling: sessions last 30 minutes
        psych, leader = client_for(world.psych), client_for(world.school_admin)
        response = psych.post(url(case, "step-down/request/"), {"reason": "医院意见：可降级"})
        assert (response.status_code, response["Location"]) == (302, url(case))
        request = StepDownRequest.objects.get()
        page = leader.get(url(case)).content.decode()
        assert 'data-testid="step-down-decide-form"' in page
        assert "医院意见：可降级" in page  # the reason is written for the leader
        own = psych.get(url(case)).content.decode()
        assert 'data-testid="step-down-pending"' in own
        assert 'data-testid="step-down-decide-form"' not in own
        response = leader.post(url(case, "step-down/decide/"), {"decision": "approve", "note": ""})
        assert (response.status_code, response["Location"]) == (302, url(case))
    request.refresh_from_db()
    case.refresh_from_db()
    assert (request.status, case.level) == ("approved", "orange")
    events = list(AuditEvent.objects.values_list("action", flat=True))
    assert "cases.step_down.requested" in events
    assert "cases.case.stepped_down" in events


def test_reject_without_a_note_is_refused_on_the_page(world, client_for):
    case = ready_red(world)
    with later(15):
        client_for(world.psych).post(url(case, "step-down/request/"), {"reason": "稳定"})
        response = client_for(world.school_admin).post(
            url(case, "step-down/decide/"), {"decision": "reject", "note": ""}
        )
    assert response.status_code == 200
    assert "Say why the request is rejected." in response.content.decode()
    assert StepDownRequest.objects.get().status == "pending"


@pytest.mark.parametrize("what", ["step-down/request/", "step-down/decide/"])
def test_step_down_urls_are_post_only(world, client_for, what):
    assert client_for(world.psych).get(url(world.case_a2, what)).status_code == 405
    assert client_for(world.school_admin).get(url(world.case_a2, what)).status_code == 405


@pytest.mark.parametrize(
    "role", ["school_admin", "station_counsellor", "head_teacher", "mentor", "parent"]
)
def test_request_wrong_role_403(world, client_for, role):
    ready_red(world)
    with later(15):
        response = client_for(getattr(world, role)).post(
            url(world.case_a2, "step-down/request/"), {"reason": "稳定"}
        )
    assert response.status_code == 403
    assert not StepDownRequest.objects.exists()


def test_request_other_school_404(world, client_for):
    ready_red(world)
    with later(15):
        response = client_for(world.psych_b).post(
            url(world.case_a2, "step-down/request/"), {"reason": "稳定"}
        )
    assert response.status_code == 404
    assert not StepDownRequest.objects.exists()


@pytest.mark.parametrize("role", ["psych", "station_counsellor", "head_teacher", "psych_b"])
def test_decide_wrong_role_403(world, client_for, role):
    case = ready_red(world)
    with later(15):
        client_for(world.psych).post(url(case, "step-down/request/"), {"reason": "稳定"})
        response = client_for(getattr(world, role)).post(
            url(case, "step-down/decide/"), {"decision": "approve"}
        )
    assert response.status_code == 403
    assert StepDownRequest.objects.get().status == "pending"


def test_decide_other_school_404(world, client_for, leader_b):
    case = ready_red(world)
    with later(15):
        client_for(world.psych).post(url(case, "step-down/request/"), {"reason": "稳定"})
        response = client_for(leader_b).post(
            url(case, "step-down/decide/"), {"decision": "approve"}
        )
    assert response.status_code == 404
    assert StepDownRequest.objects.get().status == "pending"


def test_decide_without_a_pending_request_says_so(world, client_for):
    response = client_for(world.school_admin).post(
        url(world.case_a2, "step-down/decide/"), {"decision": "approve"}, follow=True
    )
    assert "No step-down request is waiting for this case." in response.content.decode()


def test_case_page_lists_in_the_navigation(world, client_for):
    body = client_for(world.psych).get("/").content.decode()
    assert 'data-nav="cases:case-list"' in body
    assert (
        'data-nav="cases:case-list"' not in client_for(world.head_teacher).get("/").content.decode()
    )
