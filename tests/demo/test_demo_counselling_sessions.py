"""The demo city's counselling sessions and supervision (docs/counselling.md): sessions with
notes in every school, an answered supervision request per district with a station."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from xinqiao.counselling.models import Session, SupervisionRequest
from xinqiao.demo.counselling_sessions import seed_demo_counselling_sessions
from xinqiao.demo.generator import seed_demo_city
from xinqiao.orgs.models import Kind, OrgUnit

pytestmark = pytest.mark.django_db


def test_demo_sessions_in_every_school_and_a_supervision(client_for):
    seed_demo_city(students=400, seed=2026)

    counts = seed_demo_counselling_sessions(seed=2026)

    schools = set(OrgUnit.objects.filter(kind=Kind.SCHOOL).values_list("pk", flat=True))
    assert set(Session.objects.values_list("school_id", flat=True)) == schools
    assert counts["counselling_sessions"] == Session.objects.count() >= 3 * len(schools)
    session = Session.objects.filter(supervisions__isnull=False).first()
    assert session is not None
    assert session.notes.startswith("来访者")
    request = SupervisionRequest.objects.get(sessions=session)
    assert request.status == "given"
    assert request.minutes == 60
    author = client_for(session.counsellor)
    page = author.get(reverse("counselling:session-detail", args=[session.code]))
    assert page.status_code == 200
    assert session.notes in page.content.decode()
    supervisor = client_for(get_user_model().objects.get(pk=request.supervisor_id))
    seen = supervisor.get(reverse("counselling:supervision-detail", args=[request.code]))
    assert session.notes in seen.content.decode()
