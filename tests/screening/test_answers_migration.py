"""The migrations that encrypt answers, drafts, scores, evidence and diagnosis categories: rows
written in plaintext before them come out sealed and read back the same; reversed, they are
plaintext again (the columns turn back into JSON and number columns)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from xinqiao.alerts.models import Alert, AlertTrigger
from xinqiao.cases.models import Referral
from xinqiao.core import crypto
from xinqiao.screening.models import AnswerDraft, Response

BEFORE = [
    ("screening", "0003_voided_hand_ins_and_sign_in_nonce"),
    ("alerts", "0005_row_keys_bound"),
    ("cases", "0008_seal_v2"),
]


def raw(model, column: str, pk: int):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s",  # noqa: S608
            [pk],
        )
        return cursor.fetchone()[0]


@pytest.mark.migrations
@pytest.mark.django_db(transaction=True)
def test_plaintext_rows_are_sealed_and_the_migrations_reverse(world):
    alert_evidence = list(world.alert_a1.evidence)
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    try:
        old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        # Reversed: what was sealed is plaintext JSON again.
        assert old.get_model("alerts", "Alert").objects.get(pk=world.alert_a1.pk).evidence == (
            alert_evidence
        )
        assignment = old.get_model("screening", "Assignment").objects.filter(
            campaign_id=world.campaign.pk
        )[0]
        response = old.get_model("screening", "Response").objects.create(
            assignment_id=assignment.pk,
            school_id=assignment.school_id,
            instrument_code="PHQ-A",
            instrument_version="1.0",
            answers=[0, 3, None],
            scores={"total": 16.0},
            critical=["9"],
            missing=["3"],
            bands={"total": "moderate"},
            submitted_at=timezone.now(),
            client_key="old-key:PHQ-A",
        )
        draft = old.get_model("screening", "AnswerDraft").objects.create(
            assignment_id=assignment.pk,
            instrument_code="GAD-7",
            item_id="2",
            answer=2,
            updated_at=timezone.now(),
        )
        old.get_model("cases", "Referral").objects.filter(pk=world.referral_a2.pk).update(
            diagnosis_category="F40-F48"
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)

    for column in ("answers", "scores", "critical", "missing"):
        assert crypto.is_current(raw(Response, column, response.pk))
    assert "moderate" in str(raw(Response, "bands", response.pk))  # bands stay plaintext
    stored = Response.objects.get(pk=response.pk)
    assert (stored.answers, stored.scores, stored.critical, stored.missing) == (
        [0, 3, None],
        {"total": 16.0},
        ["9"],
        ["3"],
    )
    assert crypto.is_current(raw(AnswerDraft, "answer", draft.pk))
    assert AnswerDraft.objects.get(pk=draft.pk).answer == 2
    assert crypto.is_current(raw(Referral, "diagnosis_category", world.referral_a2.pk))
    assert Referral.objects.get(pk=world.referral_a2.pk).diagnosis_category == "F40-F48"
    assert crypto.is_current(raw(Alert, "evidence", world.alert_a1.pk))
    assert Alert.objects.get(pk=world.alert_a1.pk).evidence == alert_evidence
    triggers = AlertTrigger.objects.filter(alert=world.alert_a1)
    assert triggers.exists()
    for trigger in triggers:  # each got its own row key, and its evidence is bound to it
        assert trigger.code is not None
        assert crypto.is_current(raw(AlertTrigger, "evidence", trigger.pk))
        assert trigger.evidence["concern"] == str(world.concern_a1.code)
