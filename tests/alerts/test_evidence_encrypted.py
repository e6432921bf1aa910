"""Alert and trigger evidence (rules, levels, instruments, scores, items) is ciphertext in the
database, bound to its row; the alert page and the rules still read it."""

from __future__ import annotations

import pytest
from django.db import connection

from xinqiao.alerts.models import Alert, AlertTrigger
from xinqiao.alerts.services import raise_pending_alerts
from xinqiao.core import crypto

from .test_pending import extra_students, hand_in, queued  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def write(table: str, column: str, pk: int, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, pk])  # noqa: S608


@pytest.fixture
def raised(world, queued):  # noqa: F811
    [assignment] = extra_students(world, 1)
    hand_in(world, assignment)
    raise_pending_alerts()
    return Alert.objects.get(student=assignment.student)


def test_evidence_is_ciphertext_and_reads_back(world, raised):
    stored = raw(Alert._meta.db_table, "evidence", raised.pk)
    assert stored.startswith("v2:")
    assert '"asq' not in stored.lower()  # a JSON string; base64 has no quotes
    triggers = list(raised.triggers.all())
    assert len(triggers) == 2
    for trigger in triggers:
        token = raw(AlertTrigger._meta.db_table, "evidence", trigger.pk)
        assert token.startswith("v2:")
        assert "ASQ" not in token
        assert trigger.evidence["instruments"][0]["code"] == "ASQ"
    assert [e["level"] for e in Alert.objects.get(pk=raised.pk).evidence] == ["red", "orange"]
    # The concern-raised alert of the shared world: sealed as well.
    assert raw(Alert._meta.db_table, "evidence", world.alert_a1.pk).startswith("v2:")


def test_evidence_copied_to_another_row_does_not_open(world, raised):
    one, two = raised.triggers.order_by("id")
    table = AlertTrigger._meta.db_table
    write(table, "evidence", two.pk, raw(table, "evidence", one.pk))
    with pytest.raises(crypto.TamperedValue):
        AlertTrigger.objects.get(pk=two.pk).evidence  # noqa: B018
    alerts = Alert._meta.db_table
    write(alerts, "evidence", world.alert_a1.pk, raw(alerts, "evidence", raised.pk))
    with pytest.raises(crypto.TamperedValue):
        Alert.objects.get(pk=world.alert_a1.pk).evidence  # noqa: B018


def test_the_alert_page_shows_the_decrypted_evidence(world, raised, client_for):
    page = client_for(world.psych).get(f"/alerts/{raised.code}/")
    assert page.status_code == 200
    assert "ASQ" in page.content.decode()
