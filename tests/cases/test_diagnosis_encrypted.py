"""A referral's diagnosis category is ciphertext in the database, bound to its referral."""

from __future__ import annotations

import pytest
from django.db import connection

from xinqiao.cases.models import Referral
from xinqiao.core import crypto

pytestmark = pytest.mark.django_db

TABLE = Referral._meta.db_table


def raw(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT diagnosis_category FROM {TABLE} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def test_the_diagnosis_category_is_ciphertext_bound_to_its_referral(world):
    referral = world.referral_a2
    referral.diagnosis_category = "F30-F39"
    referral.save(update_fields=["diagnosis_category"])
    stored = raw(referral.pk)
    assert stored.startswith("v2:")
    assert "F30" not in stored
    again = Referral.objects.get(pk=referral.pk)
    assert again.diagnosis_category == "F30-F39"
    assert again.get_diagnosis_category_display() == "Mood (affective) disorders"

    other = Referral.objects.create(
        case=referral.case,
        student=referral.student,
        hospital=referral.hospital,
        reason="复诊",
        consent_basis=referral.consent_basis,
        sent_by=referral.sent_by,
        sent_at=referral.sent_at,
        client_key="second-referral-a2",
    )
    assert raw(other.pk) == ""  # not stated: the empty value, nothing to hide
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET diagnosis_category = %s WHERE id = %s",  # noqa: S608
            [stored, other.pk],
        )
    with pytest.raises(crypto.TamperedValue):
        Referral.objects.get(pk=other.pk).diagnosis_category  # noqa: B018
