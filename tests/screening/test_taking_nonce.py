"""The student's cookie carries the nonce of its sign-in: the newest sign-in wins (issue 13).

A copied cookie, or the browser signed in before, is refused once the student signs in again;
the count of sign-ins from other browsers is kept for the teacher; hand-ins stay idempotent.
"""

from __future__ import annotations

import pytest
from django.core import signing
from django.core.cache import cache
from django.test import Client

from xinqiao.audit.models import AuditEvent
from xinqiao.screening import services as screening
from xinqiao.screening.models import AnswerDraft, Assignment, Response
from xinqiao.screening.taking.session import _SALT, COOKIE_NAME

from .taking_helpers import assignment_of, enter, full_answers, post_json

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_rate_limit():
    cache.clear()


def _signed_in(sitting, student) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert enter(client, sitting, student).status_code == 302
    return client


def _copy(client: Client) -> Client:
    """Another browser holding the same cookie value (copied from the first)."""
    other = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    other.cookies[COOKIE_NAME] = client.cookies[COOKIE_NAME].value
    return other


def test_a_copied_cookie_works_only_until_the_student_signs_in_again(world, sitting, campaign):
    first = _signed_in(sitting, world.stu_a1)
    copied = _copy(first)
    assignment = assignment_of(campaign, world.stu_a1)
    answers = full_answers(assignment)
    # Before the next sign-in the copy is the same binding (a cookie cannot be told from its copy).
    assert post_json(copied, "/take/api/answers/", {"answers": answers[:1]}).status_code == 200

    second = _signed_in(sitting, world.stu_a1)  # the student signs in on another device

    for old in (first, copied):
        refused = post_json(old, "/take/api/answers/", {"answers": answers[1:2]})
        assert refused.status_code == 403
        assert refused.json()["code"] == "superseded"
        assert "另一台设备" in refused.json()["error"]
        page = old.get("/take/q/")
        assert page.status_code == 403
        assert "这份问卷已在另一台设备上打开" in page.content.decode()
        submit = post_json(old, "/take/api/submit/", {"client_key": "old-browser-key", "seq": 0})
        assert submit.json()["code"] == "superseded"
    # Nothing the refused browsers sent was stored; the newest sign-in answers on.
    assert AnswerDraft.objects.filter(assignment=assignment).count() == 1
    assert not Response.objects.filter(assignment=assignment).exists()
    assert post_json(second, "/take/api/answers/", {"answers": answers[1:]}).status_code == 200
    assert second.get("/take/q/").status_code == 200
    replaced = AuditEvent.objects.filter(action="screening.assignment.started").order_by("seq")
    assert [e.fields.get("replaced", False) for e in replaced] == [False, True]


def test_sign_ins_from_other_browsers_are_counted_not_the_same_browser_again(
    world, sitting, campaign
):
    first = _signed_in(sitting, world.stu_a1)
    assignment = assignment_of(campaign, world.stu_a1)
    nonce = Assignment.objects.get(pk=assignment.pk).session_nonce
    assert Assignment.objects.get(pk=assignment.pk).sign_ins == 1

    assert enter(first, sitting, world.stu_a1).status_code == 302  # the same browser again
    again = Assignment.objects.get(pk=assignment.pk)
    assert (again.sign_ins, again.session_nonce) == (1, nonce)
    assert first.get("/take/q/").status_code == 200

    _signed_in(sitting, world.stu_a1)
    _signed_in(sitting, world.stu_a1)
    assert Assignment.objects.get(pk=assignment.pk).sign_ins == 3


def test_a_make_up_link_also_replaces_the_binding(world, sitting, campaign):
    first = _signed_in(sitting, world.stu_a1)
    assignment = assignment_of(campaign, world.stu_a1)
    Assignment.objects.filter(pk=assignment.pk).update(link_token="t" * 32)
    by_link = Client()
    assert by_link.get("/take/link/" + "t" * 32 + "/").status_code == 302
    assert first.get("/take/api/state/").json()["code"] == "superseded"
    assert by_link.get("/take/api/state/").json()["ok"]
    assert Assignment.objects.get(pk=assignment.pk).sign_ins == 2


def test_a_cookie_without_a_nonce_or_with_a_forged_one_is_not_signed_in(world, sitting, campaign):
    _signed_in(sitting, world.stu_a1)
    assignment = assignment_of(campaign, world.stu_a1)
    old_style = Client()
    old_style.cookies[COOKIE_NAME] = signing.dumps({"a": assignment.pk}, salt=_SALT)
    assert old_style.get("/take/api/state/").json()["code"] == "session"
    guessed = Client()
    guessed.cookies[COOKIE_NAME] = signing.dumps({"a": assignment.pk, "n": "x" * 22}, salt=_SALT)
    assert guessed.get("/take/api/state/").json()["code"] == "superseded"


def test_the_hand_in_stays_idempotent_with_the_nonce(world, sitting, campaign):
    client = _signed_in(sitting, world.stu_a1)
    assignment = assignment_of(campaign, world.stu_a1)
    answers = full_answers(assignment)
    assert post_json(client, "/take/api/answers/", {"answers": answers}).status_code == 200
    body = {"client_key": "hand-in-key-0001", "seq": max(a["n"] for a in answers)}
    first = post_json(client, "/take/api/submit/", body)
    again = post_json(client, "/take/api/submit/", body)  # a retry, a double click
    assert first.json()["ok"]
    assert again.json()["ok"]
    assert Response.objects.filter(assignment=assignment).count() == 3
    # Handed in: nobody can sign in to it again, so the hand-in's browser keeps its binding.
    refused = enter(Client(), sitting, world.stu_a1)
    assert refused.status_code == 400
    assert post_json(client, "/take/api/submit/", body).json()["ok"]


def test_signing_in_is_refused_for_a_student_of_another_class_and_counts_nothing(
    world, sitting, campaign
):
    screening.issue_personal_codes(actor=world.psych, school_class=world.class_a2)
    world.stu_a2.refresh_from_db()
    client = Client()
    response = client.post(
        "/take/", {"code": sitting.code, "personal_code": world.stu_a2.personal_code}
    )
    assert response.status_code == 400
    assert COOKIE_NAME not in response.cookies
    assert assignment_of(campaign, world.stu_a2).sign_ins == 0
