"""The evidence of a case's level changes and step-down requests (alert codes, verified levels,
rule checks) is ciphertext in the database, bound to its row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from xinqiao.alerts.services import verify_alert
from xinqiao.cases.models import Case, StepDownRequest
from xinqiao.core import crypto

pytestmark = pytest.mark.django_db


def raw(model, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT evidence FROM {model._meta.db_table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def write_raw(model, pk: int, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {model._meta.db_table} SET evidence = %s WHERE id = %s",  # noqa: S608
            [value, pk],
        )


def test_a_level_change_keeps_its_evidence_sealed(world):
    verify_alert(world.alert_a1, actor=world.psych, outcome="confirmed", reason="访谈核实")
    [change] = Case.objects.get(student=world.stu_a1).level_changes.all()
    stored = raw(type(change), change.pk)
    assert crypto.is_current(stored)
    assert str(world.alert_a1.code) not in stored
    assert type(change).objects.get(pk=change.pk).evidence == {"alert": str(world.alert_a1.code)}


def test_step_down_evidence_copied_to_another_request_does_not_open(world):
    case = world.case_a2
    first = StepDownRequest.objects.create(
        case=case,
        from_level=case.level,
        to_level="",
        reason="稳定",
        evidence={"min_stay": {"met": True, "days": 30, "need": 28}},
        requested_by=world.psych,
        requested_at=timezone.now(),
        status="rejected",
    )
    second = StepDownRequest.objects.create(
        case=case,
        from_level=case.level,
        reason="稳定",
        evidence={},
        requested_by=world.psych,
        requested_at=timezone.now(),
    )
    stored = raw(StepDownRequest, first.pk)
    assert crypto.is_current(stored)
    assert "min_stay" not in stored
    assert StepDownRequest.objects.get(pk=first.pk).evidence["min_stay"]["days"] == 30
    write_raw(StepDownRequest, second.pk, stored)
    with pytest.raises(crypto.TamperedValue):
        StepDownRequest.objects.get(pk=second.pk).evidence  # noqa: B018
