"""Entering a sitting: code + 学籍号 (or last digits + birth date), the make-up link, refusals."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.test import Client

from xinqiao.audit.models import AuditEvent
from xinqiao.screening import services as screening
from xinqiao.screening.models import AnswerDraft, AssignmentStatus, Response
from xinqiao.screening.taking.session import COOKIE_NAME, FAILURE_LIMIT

from .taking_helpers import (
    assignment_of,
    enter,
    make_open_campaign,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_rate_limit():
    cache.clear()


def test_code_then_number_binds_the_browser_and_marks_started(world, sitting, campaign):
    client = Client()
    step1 = client.post("/take/", {"code": sitting.code.lower()})
    assert step1.status_code == 200
    assert 'name="student_number"' in step1.content.decode()
    response = enter(client, sitting, world.stu_a1)
    assert response.status_code == 302
    assert response["Location"] == "/take/q/"
    cookie = response.cookies[COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["path"] == "/take/"
    assignment = assignment_of(campaign, world.stu_a1)
    assert assignment.status == AssignmentStatus.STARTED
    assert assignment.started_at is not None
    event = AuditEvent.objects.get(action="screening.assignment.started")
    assert event.object_id == str(assignment.pk)
    assert event.fields == {"via": "sitting", "sitting": sitting.code, "identity": "number"}


def test_questionnaire_page_renders_battery_with_instructions_and_licence(world, sitting):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    enter(client, sitting, world.stu_a1)
    page = client.get("/take/q/")
    html = page.content.decode()
    assert page.status_code == 200
    for code in ("PHQ-A", "GAD-7", "ASQ"):
        assert f'data-instrument="{code}"' in html
    assert "关于你最近的想法" in html  # ASQ's student-facing title, not its clinical name
    assert "自杀风险筛查问题" not in html
    assert "复制、翻译、展示或分发无需许可" in html  # PHQ-A's licence notice, in students' words
    assert 'data-ask-if="1,2,3,4"' in html  # ASQ acuity question shown only after a yes
    assert "<script>" not in html  # CSP: no inline scripts
    assert 'type="application/json"' in html
    assert 'name="csrf-token"' in html
    assert "take.js" in html


def test_last_digits_and_birth_date_when_the_campaign_says_so(world):
    campaign = make_open_campaign(world, student_login="last_digits_birth_date")
    sitting = screening.open_sitting(
        actor=world.psych, campaign=campaign, school_class=world.class_a1
    )
    client = Client()
    step1 = client.post("/take/", {"code": sitting.code})
    assert 'name="last_digits"' in step1.content.decode()
    wrong = client.post(
        "/take/",
        {
            "code": sitting.code,
            "last_digits": world.stu_a1.student_number[-6:],
            "birth_date": "2012-05-05",
            "mode": "digits",
        },
    )
    assert wrong.status_code == 400
    ok = client.post(
        "/take/",
        {
            "code": sitting.code,
            "last_digits": world.stu_a1.student_number[-6:],
            "birth_date": "2013-01-01",
            "mode": "digits",
        },
    )
    assert ok.status_code == 302
    assert assignment_of(campaign, world.stu_a1).status == AssignmentStatus.STARTED


def _error_of(response) -> str:
    html = response.content.decode()
    start = html.index('data-testid="take-error">') + len('data-testid="take-error">')
    return html[start : html.index("<", start)]


def test_unknown_code_is_refused_with_a_message(world, sitting):
    response = Client().post(
        "/take/", {"code": "ZZZZZZ", "student_number": world.stu_a1.student_number}
    )
    assert response.status_code == 400
    assert "没有" in _error_of(response) or "no open sitting" in _error_of(response)
    assert COOKIE_NAME not in response.cookies


def test_student_outside_the_sittings_class_is_refused(world, sitting, campaign):
    response = enter(Client(), sitting, world.stu_a2)  # class A2, sitting is for A1
    assert response.status_code == 400
    assert COOKIE_NAME not in response.cookies
    assert assignment_of(campaign, world.stu_a2).status == AssignmentStatus.ASSIGNED
    other_school = enter(Client(), sitting, world.stu_b1)
    assert other_school.status_code == 400


def test_closed_campaign_is_refused(world, sitting, campaign):
    screening.close_campaign(actor=world.psych, campaign=campaign)
    response = enter(Client(), sitting, world.stu_a1)
    assert response.status_code == 400
    assert COOKIE_NAME not in response.cookies


def test_closed_campaign_refuses_answers_of_a_bound_student(world, sitting, campaign):
    from .taking_helpers import full_answers, post_json

    client = Client()
    enter(client, sitting, world.stu_a1)
    screening.close_campaign(actor=world.psych, campaign=campaign)
    answers = full_answers(assignment_of(campaign, world.stu_a1))
    response = post_json(client, "/take/api/answers/", {"answers": answers})
    assert response.status_code == 409
    assert response.json()["code"] == "closed"
    assert AnswerDraft.objects.count() == 0


def test_no_consent_is_refused(world, sitting, campaign):
    assignment = assignment_of(campaign, world.stu_a1)
    assignment.status = AssignmentStatus.NO_CONSENT
    assignment.save(update_fields=["status"])
    response = enter(Client(), sitting, world.stu_a1)
    assert response.status_code == 400
    assert COOKIE_NAME not in response.cookies


def test_code_guessing_is_rate_limited(world, sitting):
    client = Client()
    for _ in range(FAILURE_LIMIT):
        client.post("/take/", {"code": "QQQQQQ", "student_number": "G123456"})
    blocked = enter(client, sitting, world.stu_a1)  # even the right code is not looked up now
    assert blocked.status_code == 429
    assert COOKIE_NAME not in blocked.cookies


def test_code_guessing_behind_the_proxy_blocks_that_client_only(world, sitting, settings):
    """Behind the proxy every REMOTE_ADDR is the proxy: one pupil's guesses blocked the city."""
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    guesser = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.66")
    classmate = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.7")
    for _ in range(FAILURE_LIMIT):
        guesser.post("/take/", {"code": "QQQQQQ", "student_number": "G123456"})

    assert enter(guesser, sitting, world.stu_a1).status_code == 429
    assert enter(classmate, sitting, world.stu_a1).status_code == 302


def test_forged_cookie_is_not_signed_in(world, sitting, campaign):
    client = Client()
    client.cookies[COOKIE_NAME] = "eyJhIjoxfQ:forged:signature"
    assert client.get("/take/q/").status_code == 403
    from .taking_helpers import post_json

    response = post_json(client, "/take/api/answers/", {"answers": []})
    assert response.status_code == 403
    assert response.json()["code"] == "session"


def test_make_up_link_binds_and_is_used_up_by_the_hand_in(world, campaign):
    original = assignment_of(campaign, world.stu_a1)
    resit = screening.assign_resit(actor=world.psych, assignment=original)
    client = Client()
    token = resit.link_token
    response = client.get(f"/take/link/{token}/")
    assert response.status_code == 302
    assert client.get("/take/q/").status_code == 200
    from .taking_helpers import full_answers, post_json

    post_json(client, "/take/api/answers/", {"answers": full_answers(resit)})
    done = post_json(client, "/take/api/submit/", {"client_key": "resit-key-0001", "seq": 0})
    assert done.status_code == 200
    resit.refresh_from_db()
    assert resit.link_token is None
    assert Response.objects.filter(assignment=resit).count() == 3
    again = Client().get(f"/take/link/{'x' * 32}/")
    assert again.status_code == 404
    used_up = Client().get(f"/take/link/{token}/")
    assert used_up.status_code == 404


def test_leave_signs_the_browser_out(world, sitting):
    client = Client()
    enter(client, sitting, world.stu_a1)
    client.post("/take/leave/")
    assert client.get("/take/q/").status_code == 403


def test_done_page_shows_helplines_and_no_scores(world):
    html = Client().get("/take/done/").content.decode()
    assert "12355" in html
    assert "966525" in html
    assert "0791-88330120" in html
    assert "score" not in html.lower()


def test_english_interface(world, sitting):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    enter(client, sitting, world.stu_a1)
    html = client.get("/take/q/").content.decode()
    assert "About your thoughts lately" in html  # ASQ's student-facing title in English
    assert "Ask Suicide-Screening Questions" not in html
    _ = datetime  # keep import for fixtures using dates


def test_mistyped_numbers_do_not_block_a_class_behind_one_address(world, sitting):
    client = Client()  # a whole class behind one school NAT address
    for i in range(FAILURE_LIMIT + 5):
        wrong = client.post("/take/", {"code": sitting.code, "student_number": f"G{i:018d}"})
        assert wrong.status_code == 400
    assert enter(client, sitting, world.stu_a1).status_code == 302


def test_guessing_numbers_for_one_code_is_rate_limited(world, sitting):
    from xinqiao.screening.taking.session import NUMBER_FAILURE_LIMIT

    client = Client()
    for i in range(NUMBER_FAILURE_LIMIT):
        client.post("/take/", {"code": sitting.code, "student_number": f"G{i:018d}"})
    assert enter(client, sitting, world.stu_a1).status_code == 429


@pytest.mark.parametrize("path", ["/take/", "/accounts/login/"])
def test_every_page_footer_has_the_helplines_and_emergency_numbers_as_tel_links(world, path):
    html = Client().get(path).content.decode()
    for number in ("12355", "966525", "0791-88330120", "110", "120"):
        assert f'href="tel:{number}"' in html
