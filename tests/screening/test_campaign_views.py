"""Campaign pages: create, lifecycle, battery lock; another school 404, wrong role 403."""

from __future__ import annotations

import pytest
from django.urls import reverse

from xinqiao.audit.models import AuditEvent
from xinqiao.screening.models import BatteryEntry, Campaign, CampaignStatus

from .test_campaign import make_campaign

pytestmark = pytest.mark.django_db


def test_list_shows_campaigns_in_area(world, client_for):
    html = client_for(world.district_admin).get(reverse("screening:campaign-list")).content.decode()
    assert world.campaign.name in html
    html = client_for(world.psych_b).get(reverse("screening:campaign-list")).content.decode()
    assert world.campaign.name not in html
    assert client_for(world.head_teacher).get(reverse("screening:campaign-list")).status_code == 403


def test_psychology_teacher_creates_a_campaign(world, client_for):
    client = client_for(world.psych)
    page = client.get(reverse("screening:campaign-create"))
    assert page.status_code == 200
    assert "PHQ-A" in page.content.decode()
    response = client.post(
        reverse("screening:campaign-create"),
        {
            "name": "七年级新生适应",
            "kind": "new_students",
            "term": world.term.pk,
            "owner_unit": world.school_a.pk,
            "units": [str(world.grade_a7.code)],
            "opens_at": "2026-09-10T08:00",
            "closes_at": "2026-09-20T17:00",
            "consent_basis": "guardian_consent",
            "legal_basis_note": "",
            "results_visibility": "school_psychology_teachers",
            "student_login": "student_number",
            "battery_junior": ["PHQ-A", "GAD-7"],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get(name="七年级新生适应")
    assert campaign.status == CampaignStatus.DRAFT
    assert campaign.needs_guardian_consent
    assert list(
        BatteryEntry.objects.filter(campaign=campaign).values_list("instrument_code", flat=True)
    ) == ["PHQ-A", "GAD-7"]


def test_psychology_teacher_cannot_pick_another_school(world, client_for):
    response = client_for(world.psych).post(
        reverse("screening:campaign-create"),
        {
            "name": "x",
            "kind": "incident",
            "term": world.term.pk,
            "owner_unit": world.school_b.pk,
            "opens_at": "2026-09-10T08:00",
            "closes_at": "2026-09-20T17:00",
            "consent_basis": "statutory_duty",
            "results_visibility": "school_psychology_teachers",
            "student_login": "student_number",
        },
    )
    assert response.status_code == 200
    assert not Campaign.objects.filter(name="x").exists()


def test_lifecycle_through_the_page(world, client_for):
    campaign = make_campaign(world)
    client = client_for(world.psych)
    url = reverse("screening:campaign-transition", kwargs={"code": campaign.code})
    for step, status in (("open", "open"), ("close", "closed"), ("archive", "archived")):
        assert client.post(url, {"to": step}).status_code == 302
        campaign.refresh_from_db()
        assert campaign.status == status
    assert AuditEvent.objects.filter(action="screening.campaign.archived").exists()


def test_open_battery_cannot_change_through_the_page(world, client_for):
    url = reverse("screening:campaign-battery", kwargs={"code": world.campaign.code})
    response = client_for(world.psych).post(url, {"battery_junior": ["GAD-7"]})
    assert response.status_code == 200
    assert "cannot change" in response.content.decode()
    assert BatteryEntry.objects.filter(campaign=world.campaign, stage_band="junior").count() == 3


@pytest.mark.parametrize(
    "name", ["campaign-detail", "campaign-progress", "campaign-aggregates", "campaign-battery"]
)
def test_other_school_404_wrong_role_403(world, client_for, name):
    url = reverse(f"screening:{name}", kwargs={"code": world.campaign.code})
    assert client_for(world.psych_b).get(url).status_code == 404
    assert client_for(world.head_teacher).get(url).status_code == 403
    assert client_for(world.psych).get(url).status_code == 200


def test_transition_other_school_404_wrong_role_403(world, client_for):
    url = reverse("screening:campaign-transition", kwargs={"code": world.campaign.code})
    assert client_for(world.psych_b).post(url, {"to": "close"}).status_code == 404
    assert client_for(world.school_admin).post(url, {"to": "close"}).status_code == 403
    world.campaign.refresh_from_db()
    assert world.campaign.status == CampaignStatus.OPEN


def test_city_campaign_visible_to_school(world, client_for):
    campaign = make_campaign(world, owner=world.city, actor=world.city_admin, name="全市秋季普查")
    url = reverse("screening:campaign-detail", kwargs={"code": campaign.code})
    assert client_for(world.psych).get(url).status_code == 200
    assert client_for(world.psych_b).get(url).status_code == 200
    # …but a school campaign of A is not visible at B.
    url = reverse("screening:campaign-detail", kwargs={"code": world.campaign.code})
    assert client_for(world.psych_b).get(url).status_code == 404


def test_navigation_entries(world, client_for):
    campaigns, mine = reverse("screening:campaign-list"), reverse("screening:my-classes")
    psych = client_for(world.psych).get(reverse("home")).content.decode()
    assert f'href="{campaigns}"' in psych
    head = client_for(world.head_teacher).get(reverse("home")).content.decode()
    assert f'href="{mine}"' in head
    assert f'href="{campaigns}"' not in head
    mentor = client_for(world.mentor).get(reverse("home")).content.decode()
    assert f'href="{mine}"' not in mentor


def test_status_words_are_states_not_verbs_in_chinese(world, client_for, settings):
    """An open campaign reads 进行中 next to its 关闭 button — not 打开 (the verb)."""
    settings.LANGUAGE_CODE = "zh-hans"
    campaign = make_campaign(world)
    client = client_for(world.psych)
    detail = reverse("screening:campaign-detail", kwargs={"code": campaign.code})
    page = client.get(detail, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "草稿" in page
    assert ">开始</button>" in page  # the button is the verb
    url = reverse("screening:campaign-transition", kwargs={"code": campaign.code})
    client.post(url, {"to": "open"})
    page = client.get(detail, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "进行中" in page
    assert "打开" not in page
    client.post(url, {"to": "close"})
    assert "已结束" in client.get(detail, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


def test_a_schools_form_offers_its_own_grades_stages_and_classes_as_boxes(world, client_for):
    """School A is a junior high: grades 7–9, the junior battery only, classes ticked (no
    Ctrl-click), and the kind agrees with the current (autumn) term."""
    from xinqiao.access.scope import principal_for
    from xinqiao.orgs.models import OrgUnit
    from xinqiao.screening.forms import CampaignForm

    owners = OrgUnit.objects.filter(pk=world.school_a.pk)
    form = CampaignForm(owners=owners, principal=principal_for(world.psych))
    assert [g for g, _label in form.fields["grade_levels"].choices] == [7, 8, 9]
    assert [name for name in form.fields if name.startswith("battery_")] == ["battery_junior"]
    assert form.fields["kind"].initial == "routine_autumn"
    html = client_for(world.psych).get(reverse("screening:campaign-create")).content.decode()
    assert f'type="checkbox" name="units" value="{world.class_a1.code}"' in html  # codes
    assert 'name="battery_primary_lower"' not in html


def test_a_licensed_instrument_without_its_texts_cannot_be_ticked(world):
    """MHT and SCARED ship without item texts (their owners' licences): paper only until the
    deployer imports the texts."""
    from xinqiao.screening.forms import instrument_choices

    junior = [code for code, _label in instrument_choices("junior")]
    assert "PHQ-A" in junior
    assert "MHT" not in junior
    assert "SCARED" not in junior
