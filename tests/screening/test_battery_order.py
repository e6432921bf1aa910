"""The order of a battery (issue 12, clinical safety): students answer in the order its composer
set, by default well-being and mood first and the suicide-risk questions after the depression
scale, never first; students see student-facing titles, never a scale acronym or clinician text."""

from __future__ import annotations

import datetime
import html as html_mod
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from xinqiao.core.errors import DomainError
from xinqiao.instruments.engine import load_library
from xinqiao.screening import services as screening
from xinqiao.screening.models import BatteryEntry, Campaign
from xinqiao.screening.services.common import recommended_order

from .taking_helpers import enter, make_open_campaign

pytestmark = pytest.mark.django_db


def _form(world, **battery):
    return {
        "name": "七年级新生适应",
        "kind": "new_students",
        "term": world.term.pk,
        "owner_unit": world.school_a.pk,
        "units": [str(world.grade_a7.code)],
        "opens_at": "2026-09-10T08:00",
        "closes_at": "2026-09-20T17:00",
        "consent_basis": "statutory_duty",
        "legal_basis_note": "",
        "results_visibility": "school_psychology_teachers",
        "student_login": "student_number",
        **battery,
    }


def _junior(campaign_name="七年级新生适应"):
    campaign = Campaign.objects.get(name=campaign_name)
    return list(
        BatteryEntry.objects.filter(campaign=campaign, stage_band="junior")
        .order_by("position")
        .values_list("instrument_code", flat=True)
    )


def test_the_form_offers_the_instruments_in_the_recommended_order(world, client_for):
    page = client_for(world.psych).get(reverse("screening:campaign-create")).content.decode()
    boxes = re.findall(r'name="battery_junior" value="([^"]+)"', page)
    assert boxes.index("WHO-5") < boxes.index("PHQ-A") < boxes.index("GAD-7") < boxes.index("ASQ")
    assert boxes[-1] == "ASQ"
    assert 'name="order_junior"' in page


def test_ticked_boxes_in_alphabetical_order_run_in_the_recommended_order(world, client_for):
    # Before issue 12 the boxes came alphabetically and the battery ran ASQ, GAD-7, PHQ-A.
    response = client_for(world.psych).post(
        reverse("screening:campaign-create"),
        _form(world, battery_junior=["ASQ", "GAD-7", "PHQ-A", "WHO-5"]),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _junior() == ["WHO-5", "PHQ-A", "GAD-7", "ASQ"]


def test_the_composer_sets_an_explicit_order(world, client_for):
    response = client_for(world.psych).post(
        reverse("screening:campaign-create"),
        _form(world, battery_junior=["ASQ", "GAD-7", "PHQ-A"], order_junior="GAD-7，PHQ-A, ASQ"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _junior() == ["GAD-7", "PHQ-A", "ASQ"]


def test_the_suicide_questions_first_are_refused_in_the_form(world, client_for):
    response = client_for(world.psych).post(
        reverse("screening:campaign-create"),
        _form(world, battery_junior=["ASQ", "GAD-7"], order_junior="ASQ, GAD-7"),
    )
    assert response.status_code == 200
    assert "cannot come first" in response.content.decode()
    assert not Campaign.objects.filter(name="七年级新生适应").exists()


def test_an_unknown_code_in_the_order_is_refused(world, client_for):
    response = client_for(world.psych).post(
        reverse("screening:campaign-create"),
        _form(world, battery_junior=["PHQ-A"], order_junior="PHQ-A, XYZ"),
    )
    assert response.status_code == 200
    assert "XYZ" in response.content.decode()


def test_the_service_refuses_suicide_questions_first_or_before_the_depression_scale(world):
    campaign = screening.create_campaign(
        actor=world.psych,
        name="draft",
        term=world.term,
        kind="incident",
        owner_unit=world.school_a,
        opens_at=_now(),
        closes_at=_now(days=7),
    )
    for order in (["ASQ", "PHQ-A"], ["GAD-7", "ASQ", "PHQ-A"]):
        with pytest.raises(DomainError):
            screening.set_battery(actor=world.psych, campaign=campaign, battery={"junior": order})
    screening.set_battery(actor=world.psych, campaign=campaign, battery={"junior": ["ASQ"]})
    entries = screening.set_battery(
        actor=world.psych, campaign=campaign, battery={"junior": ["GAD-7", "PHQ-A", "ASQ"]}
    )
    assert [e.instrument_code for e in entries] == ["GAD-7", "PHQ-A", "ASQ"]


def _now(days=0):
    return timezone.now() + datetime.timedelta(days=days)


def test_the_recommended_order_of_the_library():
    assert recommended_order(["ASQ", "GAD-7", "PHQ-A", "WHO-5", "Y-PSC-17"]) == [
        "WHO-5",
        "Y-PSC-17",
        "PHQ-A",
        "GAD-7",
        "ASQ",
    ]


def _visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return html_mod.unescape(re.sub(r"<[^>]+>", " ", page))


def test_a_default_battery_asks_asq_after_phq_a_without_acronyms_or_clinician_titles(world):
    campaign = make_open_campaign(world)  # the default battery
    sitting = screening.open_sitting(
        actor=world.psych, campaign=campaign, school_class=world.class_a1
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    enter(client, sitting, world.stu_a1)
    page = client.get("/take/q/").content.decode()
    screens = re.findall(r'data-screen="item" data-instrument="([^"]+)"', page)
    assert screens.index("ASQ") > len(screens) - 1 - screens[::-1].index("PHQ-A")
    assert screens[0] == "PHQ-A"
    text = _visible_text(page)
    for defn in load_library().values():
        assert defn.code not in text
        assert defn.names["zh-Hans"] not in text
    for clinician in ("筛查阳性", "安全评估", "专业人员", "NIMH", "自杀风险筛查"):
        assert clinician not in text
    assert text.index("最近两周的心情") < text.index("关于你最近的想法")
