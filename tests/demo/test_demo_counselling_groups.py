"""The demo city's group programmes and hotline calls (docs/counselling.md): a programme with
sessions and attendance in every school, calls at every station and the centre."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from xinqiao.counselling.models import (
    GroupProgramme,
    HotlineCall,
    ProgrammeSession,
    SessionAttendance,
)
from xinqiao.demo.counselling_groups import seed_demo_counselling_groups
from xinqiao.demo.generator import seed_demo_city
from xinqiao.orgs.models import Kind, OrgUnit

pytestmark = pytest.mark.django_db


def test_demo_groups_in_every_school_and_calls_at_every_station(client_for):
    seed_demo_city(students=400, seed=2026)

    counts = seed_demo_counselling_groups(seed=2026)

    schools = OrgUnit.objects.filter(kind=Kind.SCHOOL)
    assert counts["group_programmes"] == schools.count() == GroupProgramme.objects.count()
    assert set(GroupProgramme.objects.values_list("unit", flat=True)) == set(
        schools.values_list("pk", flat=True)
    )
    assert ProgrammeSession.objects.count() == 4 * schools.count()
    assert SessionAttendance.objects.filter(present=True).exists()
    hotline_units = OrgUnit.objects.filter(kind__in=[Kind.STATION, Kind.CENTRE])
    assert set(HotlineCall.objects.values_list("unit", flat=True)) == set(
        hotline_units.values_list("pk", flat=True)
    )
    assert HotlineCall.objects.filter(student__isnull=False).exists()

    psych = get_user_model().objects.get(username="demo_psych_mhyc_1")
    page = client_for(psych).get(reverse("counselling:group-list"))
    assert page.status_code == 200
    assert len(page.context["programmes"]) == 1
