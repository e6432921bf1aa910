"""The demo city's school organisation and families over time (xinqiao/demo/organisation.py)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from xinqiao.people.models import (
    FAMILY_FLAGS,
    AccountInvitation,
    CommitteeMember,
    FamilyCircumstance,
    Student,
)


@pytest.mark.django_db
def test_demo_has_dated_committees_circumstances_and_an_open_invitation(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    call_command("seed_demo", students=800, seed=2026, stdout=io.StringIO())

    flagged = sum(Student.objects.filter(**{flag: True}).count() for flag in FAMILY_FLAGS)
    assert FamilyCircumstance.objects.filter(end_date__isnull=True).count() == flagged
    assert CommitteeMember.objects.filter(end_date__isnull=False).count() == 1
    assert [i.is_open for i in AccountInvitation.objects.filter(kind="parent")] == [True]
