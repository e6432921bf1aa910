"""Autosave batches and hand-in: idempotent, newest answer wins, nothing wrong stored, ≤ 4 SQL."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from xinqiao.screening.models import AnswerDraft, AssignmentStatus, Response
from xinqiao.screening.taking.api import MAX_BODY_BYTES
from xinqiao.screening.taking.services import MAX_BATCH

from .taking_helpers import (
    assignment_of,
    enter,
    full_answers,
    post_json,
)

pytestmark = pytest.mark.django_db

SAVE = "/take/api/answers/"
SUBMIT = "/take/api/submit/"


@pytest.fixture(autouse=True)
def _clear_rate_limit():
    cache.clear()


@pytest.fixture
def student(world, sitting, campaign):
    client = Client()
    enter(client, sitting, world.stu_a1)
    client.assignment = assignment_of(campaign, world.stu_a1)
    return client


def drafts(assignment):
    return {
        (d.instrument_code, d.item_id): (d.answer, d.client_seq)
        for d in AnswerDraft.objects.filter(assignment=assignment)
    }


def test_same_batch_twice_gives_the_same_rows(student):
    answers = full_answers(student.assignment)
    first = post_json(student, SAVE, {"answers": answers})
    assert first.status_code == 200
    assert first.json() == {"ok": True, "saved": len(answers), "seq": max(a["n"] for a in answers)}
    before = drafts(student.assignment)
    again = post_json(student, SAVE, {"answers": answers})
    assert again.status_code == 200
    assert drafts(student.assignment) == before
    assert len(before) == len(answers)


def test_an_older_seq_never_overwrites_a_newer_answer(student):
    newer = {"i": "PHQ-A", "q": "1", "v": 3, "s": 2.5, "n": 20}
    older = {"i": "PHQ-A", "q": "1", "v": 0, "s": 1.0, "n": 19}
    post_json(student, SAVE, {"answers": [newer]})
    late_retry = post_json(student, SAVE, {"answers": [older]})
    assert late_retry.status_code == 200
    assert drafts(student.assignment)[("PHQ-A", "1")] == (3, 20)
    newest = {**older, "v": 1, "n": 21}
    post_json(student, SAVE, {"answers": [newest]})
    assert drafts(student.assignment)[("PHQ-A", "1")] == (1, 21)


def test_duplicate_items_in_one_batch_keep_the_newest(student):
    batch = [
        {"i": "GAD-7", "q": "2", "v": 1, "s": 1, "n": 5},
        {"i": "GAD-7", "q": "2", "v": 2, "s": 1, "n": 6},
    ]
    assert post_json(student, SAVE, {"answers": batch}).status_code == 200
    assert drafts(student.assignment)[("GAD-7", "2")] == (2, 6)


def test_clearing_an_answer_stores_null(student):
    post_json(student, SAVE, {"answers": [{"i": "ASQ", "q": "5", "v": 5, "s": 1, "n": 1}]})
    post_json(student, SAVE, {"answers": [{"i": "ASQ", "q": "5", "v": None, "s": 1, "n": 2}]})
    assert drafts(student.assignment)[("ASQ", "5")] == (None, 2)


def test_beacon_form_body_is_accepted(student):
    from django.middleware.csrf import _get_new_csrf_string

    token = _get_new_csrf_string()
    client = Client(enforce_csrf_checks=True)
    client.cookies = student.cookies
    client.cookies["csrftoken"] = token
    payload = json.dumps({"answers": [{"i": "PHQ-A", "q": "2", "v": 2, "s": 3, "n": 7}]})
    response = client.post(SAVE, {"csrfmiddlewaretoken": token, "payload": payload})
    assert response.status_code == 200
    assert drafts(student.assignment)[("PHQ-A", "2")] == (2, 7)


def test_json_without_csrf_token_is_refused(student):
    client = Client(enforce_csrf_checks=True)
    client.cookies = student.cookies
    response = post_json(
        client, SAVE, {"answers": [{"i": "PHQ-A", "q": "2", "v": 2, "s": 3, "n": 7}]}
    )
    assert response.status_code == 403
    assert AnswerDraft.objects.count() == 0


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ({"i": "PHQ-A", "q": "1", "v": 9, "s": 1, "n": 1}, "out of range"),
        ({"i": "PHQ-A", "q": "1", "v": -1, "s": 1, "n": 1}, "negative"),
        ({"i": "PHQ-A", "q": "1", "v": "2", "s": 1, "n": 1}, "string"),
        ({"i": "PHQ-A", "q": "1", "v": True, "s": 1, "n": 1}, "boolean"),
        ({"i": "PHQ-A", "q": "1", "v": 1.5, "s": 1, "n": 1}, "fraction"),
        ({"i": "PHQ-A", "q": "99", "v": 1, "s": 1, "n": 1}, "unknown item"),
        ({"i": "SCARED", "q": "1", "v": 1, "s": 1, "n": 1}, "instrument not in the battery"),
        ({"i": "PHQ-A", "q": "1", "v": 1, "s": 1, "n": 0}, "seq not positive"),
        ({"i": "PHQ-A", "q": "1", "v": 1, "s": 1}, "seq missing"),
        ({"i": "PHQ-A", "q": "1", "v": 1, "s": "NaN", "n": 1}, "seconds not a number"),
        ("PHQ-A:1=1", "not an object"),
    ],
)
def test_bad_answers_store_nothing(student, entry, why):
    good = {"i": "GAD-7", "q": "1", "v": 1, "s": 1, "n": 1}
    response = post_json(student, SAVE, {"answers": [good, entry]})
    assert response.status_code == 400, why
    assert response.json()["ok"] is False
    assert response.json()["error"]
    assert AnswerDraft.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'"answers"', b'{"answers": {"a": 1}}', b"\xff\xfe"],
)
def test_malformed_payload_is_refused(student, body):
    response = student.post(SAVE, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert AnswerDraft.objects.count() == 0


def test_over_long_payload_is_refused(student):
    answers = [
        {"i": "PHQ-A", "q": "1", "v": 1, "s": 1, "n": n, "pad": "x" * 300} for n in range(1, 300)
    ]
    body = json.dumps({"answers": answers})
    assert len(body) > MAX_BODY_BYTES
    response = student.post(SAVE, data=body, content_type="application/json")
    assert response.status_code == 413
    too_many = [{"i": "PHQ-A", "q": "1", "v": 1, "s": 1, "n": n} for n in range(1, MAX_BATCH + 2)]
    assert post_json(student, SAVE, {"answers": too_many}).status_code == 400
    assert AnswerDraft.objects.count() == 0


def test_forged_assignment_in_payload_is_ignored(world, student, campaign):
    """The assignment comes only from the signed cookie; ids in the body mean nothing."""
    other = assignment_of(campaign, world.stu_a2)
    body = {"assignment": other.pk, "answers": [{"i": "PHQ-A", "q": "1", "v": 1, "s": 1, "n": 1}]}
    post_json(student, SAVE, body)
    assert AnswerDraft.objects.filter(assignment=other).count() == 0
    assert AnswerDraft.objects.filter(assignment=student.assignment).count() == 1


def test_resume_after_the_browser_is_closed(world, sitting, student):
    answers = full_answers(student.assignment)[:10]
    post_json(student, SAVE, {"answers": answers})
    fresh = Client()  # another device: no cookie, no local storage
    enter(fresh, sitting, world.stu_a1)
    state = fresh.get("/take/api/state/").json()
    assert state["ok"]
    assert not state["done"]
    assert {(d["i"], d["q"], d["v"], d["n"]) for d in state["drafts"]} == {
        (a["i"], a["q"], a["v"], a["n"]) for a in answers
    }
    page = fresh.get("/take/q/").content.decode()
    first = answers[0]
    assert (
        f'id="a-{first["i"]}-{first["q"]}-{first["v"]}" '
        f'value="{first["v"]}" autocomplete="off" checked' in page
    )


def test_submit_scores_and_completes(student):
    answers = full_answers(student.assignment, value=1)
    post_json(student, SAVE, {"answers": answers})
    response = post_json(
        student, SUBMIT, {"client_key": "key-abcdef-0001", "seq": answers[-1]["n"]}
    )
    assert response.status_code == 200
    assert response.json() == {"ok": True, "redirect": "/take/done/"}
    responses = {
        r.instrument_code: r for r in Response.objects.filter(assignment=student.assignment)
    }
    assert set(responses) == {"PHQ-A", "GAD-7", "ASQ"}
    phq = responses["PHQ-A"]
    assert phq.scores["total"] is not None
    assert phq.client_key == "key-abcdef-0001:PHQ-A"
    assert phq.times[0] == 4.0
    asq = responses["ASQ"]
    assert asq.answers == [1, 1, 1, 1, 0]  # acuity question asked after a yes
    assert "1" in asq.critical
    student.assignment.refresh_from_db()
    assert student.assignment.status in (AssignmentStatus.COMPLETED, AssignmentStatus.INVALID)
    assert student.assignment.completed_at is not None


def test_ask_if_item_answered_without_a_yes_is_not_applicable(student):
    answers = full_answers(student.assignment, value=0)
    answers.append({"i": "ASQ", "q": "5", "v": 5, "s": 1, "n": 10_000})  # forged: never shown
    post_json(student, SAVE, {"answers": answers})
    post_json(student, SUBMIT, {"client_key": "key-abcdef-0002", "seq": 10_000})
    asq = Response.objects.get(assignment=student.assignment, instrument_code="ASQ")
    assert asq.answers == [0, 0, 0, 0, None]
    assert asq.critical == []


def test_submit_twice_gives_one_response_per_instrument(student):
    post_json(student, SAVE, {"answers": full_answers(student.assignment)})
    first = post_json(student, SUBMIT, {"client_key": "key-abcdef-0003", "seq": 0})
    ids = sorted(Response.objects.values_list("pk", flat=True))
    second = post_json(student, SUBMIT, {"client_key": "key-abcdef-0003", "seq": 0})
    other_key = post_json(student, SUBMIT, {"client_key": "other-tab-0004", "seq": 0})
    assert first.json() == second.json() == other_key.json()
    assert sorted(Response.objects.values_list("pk", flat=True)) == ids
    assert len(ids) == 3
    late = post_json(student, SAVE, {"answers": full_answers(student.assignment)})
    assert late.status_code == 409
    assert late.json()["code"] == "submitted"


def test_submit_with_answers_missing_on_the_server_asks_for_them(student):
    answers = full_answers(student.assignment)
    post_json(student, SAVE, {"answers": answers[:5]})
    response = post_json(
        student, SUBMIT, {"client_key": "key-abcdef-0005", "seq": answers[-1]["n"]}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "stale"
    assert Response.objects.count() == 0
    post_json(student, SAVE, {"answers": answers[5:]})
    ok = post_json(student, SUBMIT, {"client_key": "key-abcdef-0005", "seq": answers[-1]["n"]})
    assert ok.status_code == 200


@pytest.mark.parametrize("key", ["", "short", "x" * 49, "bad key with spaces", 12345678])
def test_submit_with_a_bad_key_is_refused(student, key):
    response = post_json(student, SUBMIT, {"client_key": key, "seq": 0})
    assert response.status_code == 400
    assert Response.objects.count() == 0


def statements(ctx) -> list[str]:
    """SQL sent, without the test's own savepoints (the test runs inside a transaction; in
    production the request's transaction is BEGIN/COMMIT, issued by the driver)."""
    return [
        q["sql"]
        for q in ctx.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))
    ]


def test_submit_costs_at_most_four_queries(student):
    answers = full_answers(student.assignment)
    post_json(student, SAVE, {"answers": answers})
    student.get("/take/q/")  # the page warms the process's battery cache, as in real use
    with CaptureQueriesContext(connection) as ctx:
        response = post_json(
            student, SUBMIT, {"client_key": "key-abcdef-0006", "seq": answers[-1]["n"]}
        )
    assert response.status_code == 200
    assert len(statements(ctx)) <= 4, statements(ctx)
    assert Response.objects.filter(assignment=student.assignment).count() == 3
    with CaptureQueriesContext(connection) as ctx:
        again = post_json(
            student, SUBMIT, {"client_key": "key-abcdef-0006", "seq": answers[-1]["n"]}
        )
    assert again.status_code == 200
    assert len(statements(ctx)) <= 2, statements(ctx)


def test_autosave_costs_two_queries(student):
    answers = full_answers(student.assignment)
    with CaptureQueriesContext(connection) as ctx:
        assert post_json(student, SAVE, {"answers": answers[:8]}).status_code == 200
    assert len(statements(ctx)) <= 2, statements(ctx)


def test_no_js_form_hands_in(student):
    assignment = student.assignment
    data = {f"a:{a['i']}:{a['q']}": str(a["v"]) for a in full_answers(assignment, value=2)}
    data["client_key"] = "formkey-00000001"
    response = student.post("/take/q/", data)
    assert response.status_code == 302
    assert response["Location"] == "/take/done/"
    assert Response.objects.filter(assignment=assignment).count() == 3
    assert student.get("/take/q/")["Location"] == "/take/done/"
