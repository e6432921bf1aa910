"""The demo city's workforce records: real figures on the indicator pages, deterministic."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from xinqiao.access.scope import principal_for
from xinqiao.demo.generator import seed_demo_city
from xinqiao.demo.workforce import seed_demo_workforce
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.workforce import selectors
from xinqiao.workforce.models import Expert, Registry, ResearchActivity, TrainingRecord

pytestmark = pytest.mark.django_db


def test_demo_workforce_gives_real_figures():
    seed_demo_city(students=400, seed=2026)
    counts = seed_demo_workforce(seed=2026)
    assert counts["training_records"] == TrainingRecord.objects.count() > 0
    assert counts["research_activities"] == ResearchActivity.objects.count() > 0
    assert Registry.objects.count() == counts["registries"]
    seated = Expert.objects.filter(committee_terms__isnull=False, committee_terms__end_date=None)
    assert seated.count() == 5
    admin = principal_for(get_user_model().objects.get(username="demo_city_admin"))
    city = OrgUnit.objects.get(kind=Kind.CITY)
    year = selectors.current_school_year()
    _parts, tally = selectors.area_training(principal=admin, unit=city, year=year)
    assert 0 < tally.met < tally.teachers
    _months, rows = selectors.research_indicator(principal=admin, unit=city, year=year)
    assert all(r["met"] >= 1 for r in rows)
    assert any(r["met"] < r["due"] for r in rows)
