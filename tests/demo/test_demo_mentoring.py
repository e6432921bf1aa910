"""The demo city's mentor system (docs/mentoring.md): every class's students have a mentor this
term, every school has talk logs and one worried talk that filed a mentor concern."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse

from xinqiao.alerts.models import Concern, Source
from xinqiao.demo.generator import seed_demo_city
from xinqiao.demo.mentoring import seed_demo_mentoring
from xinqiao.mentoring.models import Mentorship, TalkLog
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.people.models import Student

pytestmark = pytest.mark.django_db


def test_demo_mentors_and_talks_in_every_school(client_for):
    seed_demo_city(students=400, seed=2026)

    counts = seed_demo_mentoring(seed=2026)

    schools = set(OrgUnit.objects.filter(kind=Kind.SCHOOL).values_list("pk", flat=True))
    assert counts["mentorships"] == Mentorship.objects.current().count()
    assert Student.objects.enrolled().exclude(school_class=None).count() == counts["mentorships"]
    assert set(TalkLog.objects.values_list("school_id", flat=True)) == schools
    worried = Concern.objects.filter(source=Source.MENTOR)
    assert set(worried.values_list("school_id", flat=True)) == schools
    head = client_for(get_user_model().objects.get(username="demo_head_mhyc_7_1"))
    page = head.get(reverse("mentoring:coverage"))
    assert page.status_code == 200
    assert page.context["rows"][0].without_mentor == 0


def test_the_demo_mentors_are_deterministic():
    def seeded():
        sid = transaction.savepoint()
        seed_demo_city(students=250, seed=7)
        seed_demo_mentoring(seed=7)
        rows = sorted(Mentorship.objects.values_list("code", "student__code", "mentor__username"))
        talks = sorted(
            TalkLog.objects.filter(worried=False).values_list("code", "held_on", "topic")
        )
        transaction.savepoint_rollback(sid)
        return rows, talks

    assert seeded() == seeded()
