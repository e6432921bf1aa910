"""Two tabs of one browser hand in the same questionnaire at the same moment: exactly one Response
per instrument, and both get the same OK. Real threads and real transactions (PostgreSQL in CI).
(Two devices cannot both hand in: the newest sign-in wins, test_taking_nonce.py.)"""

from __future__ import annotations

import json
import threading

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from xinqiao.screening.models import AnswerDraft, Assignment, AssignmentStatus, Response

from .taking_helpers import assignment_of, enter, full_answers, make_open_campaign, post_json


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_key", [True, False], ids=["double-click", "two-tabs"])
def test_concurrent_submissions_give_one_response_per_instrument(world, same_key):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (the in-memory SQLite test database locks)")
    cache.clear()
    from xinqiao.screening import services as screening

    campaign = make_open_campaign(world)
    sitting = screening.open_sitting(
        actor=world.psych, campaign=campaign, school_class=world.class_a1
    )
    tab_a, tab_b = Client(), Client()
    enter(tab_a, sitting, world.stu_a1)
    tab_b.cookies = tab_a.cookies  # two tabs of one browser share its cookie
    assignment = assignment_of(campaign, world.stu_a1)
    answers = full_answers(assignment)
    assert post_json(tab_a, "/take/api/answers/", {"answers": answers}).status_code == 200

    rounds = 4  # several attempts each, to give the race a real chance
    barrier = threading.Barrier(2)
    results: list[tuple[int, dict]] = []
    errors: list[BaseException] = []

    def hand_in(client: Client, key: str) -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(rounds):
                r = client.post(
                    "/take/api/submit/",
                    data=json.dumps({"client_key": key, "seq": answers[-1]["n"]}),
                    content_type="application/json",
                )
                results.append((r.status_code, r.json()))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=hand_in, args=(tab_a, "tab-a-key-0001")),
        threading.Thread(
            target=hand_in, args=(tab_b, "tab-a-key-0001" if same_key else "tab-b-key-0002")
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(results) == 2 * rounds
    assert all(
        status == 200 and body == {"ok": True, "redirect": "/take/done/"}
        for status, body in results
    )
    rows = list(
        Response.objects.filter(assignment=assignment).values_list("instrument_code", flat=True)
    )
    assert sorted(rows) == ["ASQ", "GAD-7", "PHQ-A"]
    assert Response.objects.count() == 3
    assignment = Assignment.objects.get(pk=assignment.pk)
    assert assignment.status in (AssignmentStatus.COMPLETED, AssignmentStatus.INVALID)
    assert AnswerDraft.objects.filter(assignment=assignment).count() == len(answers)
