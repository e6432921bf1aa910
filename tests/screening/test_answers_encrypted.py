"""Answers, drafts, scores, critical and unanswered items are ciphertext in the database, bound to
their row; the hand-in, the scoring and the results still see the plaintext."""

from __future__ import annotations

import base64
import io
import json
import os

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from xinqiao.core import crypto, rotation
from xinqiao.instruments.labels import instrument_name, score_label
from xinqiao.screening.models import AnswerDraft, Response

from .taking_helpers import assignment_of, enter, full_answers, post_json

pytestmark = pytest.mark.django_db

SEALED = ("answers", "scores", "critical", "missing")


@pytest.fixture(autouse=True)
def _clear_rate_limit():
    cache.clear()


def rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def write(table: str, column: str, pk: int, value) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, pk])  # noqa: S608


@pytest.fixture
def handed_in(world, sitting, campaign):
    """王小明 saved every answer at the highest code (critical items fire) and handed in."""
    client = Client()
    enter(client, sitting, world.stu_a1)
    assignment = assignment_of(campaign, world.stu_a1)
    answers = full_answers(assignment, value=3)
    assert post_json(client, "/take/api/answers/", {"answers": answers}).status_code == 200
    drafts = rows(f"SELECT answer FROM {AnswerDraft._meta.db_table}")  # noqa: S608
    seq = max(a["n"] for a in answers)
    submitted = post_json(
        client, "/take/api/submit/", {"client_key": "key-sealed-0001", "seq": seq}
    )
    assert submitted.status_code == 200, submitted.content
    return assignment, answers, drafts


def test_drafts_are_ciphertext_and_resume_in_plaintext(world, sitting, campaign):
    client = Client()
    enter(client, sitting, world.stu_a1)
    assignment = assignment_of(campaign, world.stu_a1)
    answers = full_answers(assignment, value=2)
    post_json(client, "/take/api/answers/", {"answers": answers})

    stored = rows(f"SELECT answer FROM {AnswerDraft._meta.db_table}")  # noqa: S608
    assert len(stored) == len(answers)
    assert all(value.startswith("v2:") for (value,) in stored)
    by_item = {(d.instrument_code, d.item_id): d.answer for d in AnswerDraft.objects.all()}
    assert by_item == {(a["i"], a["q"]): a["v"] for a in answers}
    # Resuming on another device: the server's copy comes back as the codes chosen.
    state = client.get("/take/api/state/").json()
    assert {(d["i"], d["q"]): d["v"] for d in state["drafts"]} == by_item


def test_a_draft_copied_to_another_item_does_not_open(world, sitting, campaign):
    client = Client()
    enter(client, sitting, world.stu_a1)
    batch = [
        {"i": "PHQ-A", "q": "1", "v": 3, "s": 1, "n": 1},
        {"i": "PHQ-A", "q": "2", "v": 0, "s": 1, "n": 2},
    ]
    post_json(client, "/take/api/answers/", {"answers": batch})
    one, two = (AnswerDraft.objects.get(item_id=q) for q in ("1", "2"))
    (token,) = rows(f"SELECT answer FROM {AnswerDraft._meta.db_table} WHERE id = %s", [one.pk])[0]  # noqa: S608
    write(AnswerDraft._meta.db_table, "answer", two.pk, token)  # same assignment, other item
    with pytest.raises(crypto.TamperedValue):
        AnswerDraft.objects.get(pk=two.pk).answer  # noqa: B018


def test_a_hand_in_stores_no_plaintext_answer_score_or_item(world, handed_in):
    assignment = handed_in[0]
    table = Response._meta.db_table
    stored = rows(
        f"SELECT answers, scores, critical, missing, bands, client_key FROM {table}"  # noqa: S608
        " WHERE assignment_id = %s",
        [assignment.pk],
    )
    assert len(stored) == 3
    for *sealed, bands, _key in stored:
        assert all(value.startswith("v2:") for value in sealed)
        json.loads(bands if isinstance(bands, str) else json.dumps(bands))  # bands stay plaintext
    # Through the model: the engine's results, a critical item among them.
    phq = Response.objects.get(assignment=assignment, instrument_code="PHQ-A")
    assert phq.answers[0] == 3
    assert phq.scores["total"] > 0
    assert phq.critical  # item 9 at its highest code
    assert phq.missing == []
    # The drafts it was scored from were sealed too.
    assert handed_in[2]
    assert all(value.startswith("v2:") for (value,) in handed_in[2])


def test_a_score_copied_to_another_response_does_not_open(world, handed_in):
    assignment = handed_in[0]
    phq, gad = (
        Response.objects.get(assignment=assignment, instrument_code=code)
        for code in ("PHQ-A", "GAD-7")
    )
    table = Response._meta.db_table
    (token,) = rows(f"SELECT scores FROM {table} WHERE id = %s", [phq.pk])[0]  # noqa: S608
    write(table, "scores", gad.pk, token)
    with pytest.raises(crypto.TamperedValue):
        Response.objects.get(pk=gad.pk).scores  # noqa: B018
    # Copied to another column of its own row: does not open either.
    write(table, "critical", phq.pk, token)
    with pytest.raises(crypto.TamperedValue):
        Response.objects.get(pk=phq.pk).critical  # noqa: B018


def test_results_page_and_export_show_the_decrypted_scores(world, handed_in, client_for):
    assignment = handed_in[0]
    phq = Response.objects.get(assignment=assignment, instrument_code="PHQ-A")
    total = phq.scores["total"]
    kwargs = {"code": assignment.campaign.code, "school": world.school_a.code}
    client = client_for(world.psych)
    page = client.get(reverse("screening:results", kwargs=kwargs))
    assert page.status_code == 200
    assert world.stu_a1.name in page.content.decode()
    export = client.get(reverse("screening:results-export", kwargs=kwargs))
    sheet = load_workbook(io.BytesIO(export.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()][1:]  # below the watermark
    header = f"{instrument_name('PHQ-A')} {score_label('PHQ-A', 'total')}"
    assert values[1][values[0].index(header)] == total


def test_existing_plaintext_rows_are_sealed_by_the_migration_step(world, handed_in):
    """What the data migration does to rows written before: plaintext JSON (PostgreSQL's jsonb
    text has spaces) and a bare number in a draft become ciphertexts that open to the value."""
    assignment = handed_in[0]
    phq = Response.objects.get(assignment=assignment, instrument_code="PHQ-A")
    table = Response._meta.db_table
    write(table, "scores", phq.pk, '{"total": 16}')
    write(table, "critical", phq.pk, '["9"]')
    draft = AnswerDraft.objects.get(assignment=assignment, instrument_code="PHQ-A", item_id="1")
    write(AnswerDraft._meta.db_table, "answer", draft.pk, "2")

    assert rotation.reseal_model(Response, plaintext=True).values_resealed == 2
    assert rotation.reseal_model(AnswerDraft, plaintext=True).values_resealed == 1
    (scores,) = rows(f"SELECT scores FROM {table} WHERE id = %s", [phq.pk])[0]  # noqa: S608
    assert crypto.is_current(scores)
    phq = Response.objects.get(pk=phq.pk)
    assert (phq.scores, phq.critical) == ({"total": 16}, ["9"])
    assert AnswerDraft.objects.get(pk=draft.pk).answer == 2
    # Run again (a migration cut short): nothing left to do.
    assert rotation.reseal_model(Response, plaintext=True).values_resealed == 0


def test_rotate_keys_re_encrypts_answers_evidence_and_diagnosis(world, handed_in, settings):
    from xinqiao.alerts.models import Alert, AlertTrigger
    from xinqiao.cases.models import Referral

    assignment = handed_in[0]
    referral = world.referral_a2
    referral.diagnosis_category = "F40-F48"
    referral.save(update_fields=["diagnosis_category"])
    models = {Response, AnswerDraft, Alert, AlertTrigger, Referral}
    assert models <= set(rotation.encrypted_models())
    before = {r.pk: (r.answers, r.scores, r.critical) for r in Response.objects.all()}
    old = settings.FIELD_ENCRYPTION_KEY
    settings.FIELD_ENCRYPTION_KEY = base64.b64encode(os.urandom(32)).decode()
    settings.FIELD_ENCRYPTION_OLD_KEYS = [old]
    settings.CRYPTO_SUITE = "sm"

    call_command("rotate_keys", "--batch-size", "2", stdout=open(os.devnull, "w"))

    settings.FIELD_ENCRYPTION_OLD_KEYS = []  # the old key is gone: everything must open
    for model in models:
        assert rotation.reseal_model(model).values_resealed == 0, model
    assert {r.pk: (r.answers, r.scores, r.critical) for r in Response.objects.all()} == before
    drafts = AnswerDraft.objects.filter(assignment=assignment)
    assert {d.answer for d in drafts} <= {0, 1, 2, 3, 4, 5}
    assert Referral.objects.get(pk=referral.pk).diagnosis_category == "F40-F48"
    assert Alert.objects.get(pk=world.alert_a1.pk).evidence
