"""The emergency pages: each role sees its own area's teams, plans and lines and the ones above it,
another district's are 404, a role without the capability 403; writes go through the services."""

from __future__ import annotations

import datetime

from django.urls import reverse
from django.utils import timezone

from xinqiao.audit.models import AuditEvent
from xinqiao.emergency.models import (
    CampaignArrangement,
    CrisisTeam,
    Drill,
    EmergencyPlan,
    Hotline,
    TeamMember,
)
from xinqiao.screening import services as screening_services

from .conftest import pdf


def _url(name, *args):
    return reverse(f"emergency:{name}", args=args)


def test_home_lists_own_and_city_teams_never_another_districts(em, client_for):
    response = client_for(em.school_admin).get(_url("home"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "甲区心理危机干预工作队" in html
    assert "市心理危机干预工作队" in html
    assert "乙区心理危机干预工作队" not in html
    assert "乙区应急预案" not in html


def test_home_is_refused_to_a_head_teacher(em, client_for):
    assert client_for(em.head_teacher).get(_url("home")).status_code == 403


def test_team_of_another_district_is_404(em, client_for):
    client = client_for(em.district_admin)

    assert client.get(_url("team-detail", em.team_b.code)).status_code == 404
    assert client.get(_url("team-edit", em.team_b.code)).status_code == 404
    assert client.get(_url("member-add", em.team_b.code)).status_code == 404


def test_team_page_shows_members_and_duty_phone(em, client_for):
    response = client_for(em.station_counsellor).get(_url("team-detail", em.team_a.code))

    html = response.content.decode()
    assert response.status_code == 200
    assert "刘医生" in html
    assert "0791-88000002" in html


def test_a_district_sees_the_city_team_but_may_not_edit_it(em, client_for):
    client = client_for(em.district_admin)

    assert client.get(_url("team-detail", em.city_team.code)).status_code == 200
    assert client.get(_url("team-edit", em.city_team.code)).status_code == 403


def test_team_create_by_district_admin(em, client_for):
    response = client_for(em.district_admin).post(
        _url("team-create", em.district_a.code),
        {"name": "甲区第二工作队", "duty_phone": "0791-88000009", "note": ""},
    )

    team = CrisisTeam.objects.get(name="甲区第二工作队")
    assert response.status_code == 302
    assert team.unit == em.district_a


def test_team_create_in_another_district_is_404_and_for_a_school_404(em, client_for):
    assert (
        client_for(em.district_admin).get(_url("team-create", em.district_b.code)).status_code
        == 404
    )
    assert client_for(em.city_admin).get(_url("team-create", em.school_a.code)).status_code == 404


def test_team_create_with_a_bad_phone_shows_the_error(em, client_for):
    response = client_for(em.district_admin).post(
        _url("team-create", em.district_a.code), {"name": "队", "duty_phone": "abc"}
    )

    assert response.status_code == 400
    assert "duty_phone" in response.context["form"].errors


def test_member_add_and_end_through_the_pages(em, client_for):
    client = client_for(em.district_admin)
    response = client.post(
        _url("member-add", em.team_a.code),
        {"staff": em.psych.staff.pk, "role": "counsellor", "started_on": "2026-09-01"},
    )
    member = TeamMember.objects.get(team=em.team_a, staff=em.psych.staff)
    ended = client.post(_url("member-end", member.code), {"ended_on": "2026-12-01"})

    member.refresh_from_db()
    assert response.status_code == 302
    assert ended.status_code == 302
    assert member.ended_on == datetime.date(2026, 12, 1)


def test_member_add_needs_a_staff_member_or_a_name(em, client_for):
    response = client_for(em.district_admin).post(
        _url("member-add", em.team_a.code), {"role": "member", "started_on": "2026-09-01"}
    )

    assert response.status_code == 400
    assert "name" in response.context["form"].errors


def test_member_end_of_another_district_is_404(em, client_for):
    response = client_for(em.district_admin_b).post(
        _url("member-end", em.member_a.code), {"ended_on": "2026-12-01"}
    )

    assert response.status_code == 404
    assert TeamMember.objects.get(pk=em.member_a.pk).ended_on is None


def test_plan_create_with_upload(em, client_for):
    response = client_for(em.school_admin).post(
        _url("plan-create"),
        {
            "unit": em.school_a.pk,
            "title": "甲校心理危机应急预案",
            "kind": "crisis",
            "document": pdf(),
            "effective_on": "2026-09-01",
        },
    )

    plan = EmergencyPlan.objects.get(title="甲校心理危机应急预案")
    assert response.status_code == 302
    assert plan.unit == em.school_a
    assert plan.versions.count() == 1


def test_plan_create_refuses_a_unit_outside_the_area(em, client_for):
    response = client_for(em.school_admin).post(
        _url("plan-create"),
        {
            "unit": em.district_a.pk,
            "title": "越权",
            "kind": "crisis",
            "document": pdf(),
            "effective_on": "2026-09-01",
        },
    )

    assert response.status_code == 400
    assert not EmergencyPlan.objects.filter(title="越权").exists()


def test_plan_page_and_download_in_scope_and_404_outside(em, client_for):
    version = em.plan_a.versions.get()
    client_a, client_b = client_for(em.psych), client_for(em.district_admin_b)

    page = client_a.get(_url("plan-detail", em.plan_a.code))
    download = client_a.get(_url("version-download", version.code))

    assert page.status_code == 200
    assert download.status_code == 200
    assert download.content == b"%PDF-1.4\n% plan\n"
    assert client_b.get(_url("plan-detail", em.plan_a.code)).status_code == 404
    assert client_b.get(_url("version-download", version.code)).status_code == 404
    assert client_for(em.mentor).get(_url("plan-detail", em.plan_a.code)).status_code == 403


def test_version_add_through_the_page(em, client_for):
    response = client_for(em.district_admin).post(
        _url("version-add", em.plan_a.code),
        {"document": pdf("v2.pdf"), "effective_on": "2026-11-01", "summary": "修订"},
    )

    assert response.status_code == 302
    assert list(em.plan_a.versions.values_list("number", flat=True)) == [2, 1]


def test_version_add_by_a_school_to_the_districts_plan_is_403(em, client_for):
    response = client_for(em.school_admin).get(_url("version-add", em.plan_a.code))

    assert response.status_code == 403


def test_plan_withdraw(em, client_for):
    client_for(em.district_admin).post(_url("plan-in-force", em.plan_a.code), {"in_force": "0"})

    assert EmergencyPlan.objects.get(pk=em.plan_a.pk).is_active is False


def test_drill_create(em, client_for):
    response = client_for(em.district_admin).post(
        _url("drill-create"),
        {
            "unit": em.district_a.pk,
            "plan": em.plan_a.pk,
            "held_on": "2026-10-10",
            "scenario": "考试季学生危机演练",
            "participants": "工作队",
            "participant_count": "15",
            "findings": "通讯录需更新",
        },
    )

    assert response.status_code == 302
    assert Drill.objects.get().participant_count == 15


def test_campaign_arrange_for_an_incident_campaign(em, client_for):
    now = timezone.now()
    campaign = screening_services.create_campaign(
        actor=em.district_admin,
        name="甲区事件筛查",
        term=em.term,
        kind="emergency",
        owner_unit=em.district_a,
        units=[em.school_a],
        opens_at=now,
        closes_at=now + datetime.timedelta(days=7),
    )
    client = client_for(em.district_admin)

    page = client.get(_url("campaign-arrange", campaign.code))
    response = client.post(
        _url("campaign-arrange", campaign.code), {"plan": em.plan_a.pk, "team": em.team_a.pk}
    )

    assert page.status_code == 200
    assert response.status_code == 302
    assert CampaignArrangement.objects.get(campaign=campaign).team == em.team_a
    assert (
        client_for(em.school_admin).get(_url("campaign-arrange", campaign.code)).status_code == 403
    )


def test_campaign_arrange_refuses_another_districts_plan(em, client_for):
    now = timezone.now()
    campaign = screening_services.create_campaign(
        actor=em.district_admin,
        name="甲区事件筛查",
        term=em.term,
        kind="incident",
        owner_unit=em.district_a,
        units=[em.school_a],
        opens_at=now,
        closes_at=now + datetime.timedelta(days=7),
    )

    response = client_for(em.district_admin).post(
        _url("campaign-arrange", campaign.code), {"plan": em.plan_b.pk}
    )

    assert response.status_code == 400
    assert not CampaignArrangement.objects.exists()


# --- the helpline directory -----------------------------------------------------------------------
def test_hotline_list_shows_city_lines_and_own_district_only(em, client_for):
    response = client_for(em.district_admin).get(_url("hotline-list"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "12355" in html
    assert "0791-86000001" in html
    assert "0791-86000002" not in html


def test_hotline_list_refused_to_a_school_admin(em, client_for):
    assert client_for(em.school_admin).get(_url("hotline-list")).status_code == 403


def test_district_admin_adds_their_station_line(em, client_for):
    response = client_for(em.district_admin).post(
        _url("hotline-create", em.district_a.code),
        {
            "name": "甲区辅导站夜间热线",
            "number": "0791-86000011",
            "hours": "18:00–22:00",
            "order": 50,
        },
    )

    line = Hotline.objects.get(number="0791-86000011")
    assert response.status_code == 302
    assert line.unit == em.district_a
    assert AuditEvent.objects.filter(
        action="emergency.hotline.added", object_id=str(line.pk)
    ).exists()


def test_district_admin_may_not_add_to_another_district_or_edit_city_lines(em, client_for):
    client = client_for(em.district_admin)
    city_line = Hotline.objects.get(unit__isnull=True, number="12355")

    assert client.get(_url("hotline-create", em.district_b.code)).status_code == 404
    assert client.get(_url("hotline-create", em.city.code)).status_code == 404
    assert client.get(_url("hotline-edit", city_line.code)).status_code == 403
    assert client.get(_url("hotline-edit", em.line_b.code)).status_code == 404


def test_city_admin_edits_a_city_line(em, client_for):
    city_line = Hotline.objects.get(unit__isnull=True, number="12356")

    response = client_for(em.city_admin).post(
        _url("hotline-edit", city_line.code),
        {"name": "全国心理援助热线", "number": "12356", "hours": "24小时", "order": 5},
    )

    city_line.refresh_from_db()
    assert response.status_code == 302
    assert city_line.order == 5


def test_footer_shows_city_lines_and_the_users_district_line(em, client_for):
    page_a = client_for(em.psych).get(reverse("home")).content.decode()
    page_b = client_for(em.psych_b).get(reverse("home")).content.decode()

    assert "12355" in page_a
    assert "0791-86000001" in page_a
    assert "0791-86000002" not in page_a
    assert "0791-86000002" in page_b
    assert "0791-86000001" not in page_b


def test_a_parent_sees_their_districts_line_on_the_family_page(em, client_for):
    html = client_for(em.parent).get(reverse("family:home")).content.decode()

    assert "tel:12355" in html
    assert "tel:0791-86000001" in html
    assert "tel:0791-86000002" not in html


def test_a_line_out_of_service_leaves_the_footer(em, client_for):
    client_for(em.district_admin).post(_url("hotline-active", em.line_a.code), {"active": "0"})

    html = client_for(em.psych).get(reverse("home")).content.decode()
    assert "0791-86000001" not in html
    assert "12355" in html


def test_case_page_shows_the_schools_district_line(em, client_for):
    html = (
        client_for(em.psych)
        .get(reverse("cases:case-detail", args=[em.case_a2.code]))
        .content.decode()
    )

    assert "0791-86000001" in html


def test_the_campaign_page_shows_its_plan_and_team(em, client_for):
    now = timezone.now()
    campaign = screening_services.create_campaign(
        actor=em.district_admin,
        name="甲区事件筛查",
        term=em.term,
        kind="incident",
        owner_unit=em.district_a,
        units=[em.school_a],
        opens_at=now,
        closes_at=now + datetime.timedelta(days=7),
    )
    from xinqiao.emergency import services as emergency_services

    emergency_services.arrange_campaign(
        actor=em.district_admin, campaign=campaign, plan=em.plan_a, team=em.team_a
    )

    page = client_for(em.district_admin).get(
        reverse("screening:campaign-detail", args=[campaign.code])
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert "甲区学生心理危机应急预案" in html
    assert "甲区心理危机干预工作队" in html
    assert _url("campaign-arrange", campaign.code) in html


def test_a_routine_campaign_page_has_no_plan_note(em, client_for):
    page = client_for(em.psych).get(reverse("screening:campaign-detail", args=[em.campaign.code]))

    assert page.status_code == 200
    assert page.context["notes"] == []
