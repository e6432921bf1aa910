"""Crisis teams, plans, drills, a campaign's arrangement and helplines: the services' rules, their
audit events, and history that is never overwritten."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.emergency import documents, selectors, services
from xinqiao.emergency.models import CampaignArrangement, Hotline, PlanVersion, TeamMember
from xinqiao.screening import services as screening_services

from .conftest import pdf


def test_a_new_version_keeps_the_old_one(em):
    v2 = services.add_version(
        actor=em.district_admin,
        plan=em.plan_a,
        document=pdf("预案2.pdf", b"%PDF-1.4\n% v2\n"),
        effective_on=datetime.date(2026, 11, 1),
        summary="补充了网络舆情处置",
    )

    versions = list(PlanVersion.objects.filter(plan=em.plan_a).order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert v2.number == 2
    assert documents.read(versions[0].storage_name) == b"%PDF-1.4\n% plan\n"
    assert documents.read(versions[1].storage_name) == b"%PDF-1.4\n% v2\n"
    assert AuditEvent.objects.filter(action="emergency.plan.version_added").count() == 3


def test_a_plan_document_must_be_pdf_or_word(em):
    with pytest.raises(DomainError) as exc:
        services.add_version(
            actor=em.district_admin,
            plan=em.plan_a,
            document=pdf("x.pdf", b"GIF89a not a plan"),
            effective_on=datetime.date(2026, 11, 1),
        )

    assert exc.value.field == "document"
    assert PlanVersion.objects.filter(plan=em.plan_a).count() == 1


def test_the_plan_document_is_sealed_on_disk(em, settings):
    version = em.plan_a.versions.get()
    path = f"{settings.MEDIA_ROOT}/emergency/{version.storage_name}"

    with open(path, "rb") as fh:
        blob = fh.read()

    assert b"%PDF" not in blob


def test_ending_a_member_keeps_the_row_with_its_dates(em):
    services.end_member(
        actor=em.district_admin, member=em.member_a, ended_on=datetime.date(2026, 12, 1)
    )

    member = TeamMember.objects.get(pk=em.member_a.pk)
    assert member.started_on == datetime.date(2026, 9, 1)
    assert member.ended_on == datetime.date(2026, 12, 1)
    assert AuditEvent.objects.filter(action="emergency.member.ended").count() == 1


def test_a_member_cannot_end_before_starting(em):
    with pytest.raises(DomainError):
        services.end_member(
            actor=em.district_admin, member=em.member_a, ended_on=datetime.date(2026, 1, 1)
        )


def test_the_outside_members_phone_is_sealed(em):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM emergency_teammember WHERE id = %s", [em.member_a.pk])
        (stored,) = cursor.fetchone()

    assert "13900139000" not in stored
    assert TeamMember.objects.get(pk=em.member_a.pk).phone == "13900139000"


def test_a_staff_member_joins_once_and_only_from_the_teams_area(em):
    staff_a = em.psych.staff
    services.add_member(
        actor=em.district_admin,
        team=em.team_a,
        role="counsellor",
        staff=staff_a,
        started_on=datetime.date(2026, 9, 1),
    )

    with pytest.raises(DomainError):
        services.add_member(
            actor=em.district_admin,
            team=em.team_a,
            role="member",
            staff=staff_a,
            started_on=datetime.date(2026, 10, 1),
        )
    with pytest.raises(DomainError):
        services.add_member(
            actor=em.district_admin,
            team=em.team_a,
            role="member",
            staff=em.psych_b.staff,
            started_on=datetime.date(2026, 10, 1),
        )


def test_teams_belong_to_the_city_or_a_district(em):
    with pytest.raises(DomainError):
        services.create_team(
            actor=em.school_admin, unit=em.school_a, name="校队", duty_phone="0791-1234567"
        )


def test_a_drill_names_a_plan_of_its_own_unit(em):
    with pytest.raises(DomainError):
        services.record_drill(
            actor=em.district_admin,
            unit=em.district_a,
            plan=em.plan_b,
            held_on=datetime.date(2026, 10, 10),
            scenario="演练",
        )
    drill = services.record_drill(
        actor=em.district_admin,
        unit=em.district_a,
        plan=em.plan_a,
        held_on=datetime.date(2026, 10, 10),
        scenario="学生跳楼未遂的现场处置",
        participants="区工作队、甲校心理老师",
        participant_count=12,
        findings="联络链条过长",
    )

    assert drill.plan == em.plan_a
    assert AuditEvent.objects.filter(action="emergency.drill.recorded").count() == 1


def test_a_drill_is_recorded_after_it_was_held(em):
    with pytest.raises(DomainError):
        services.record_drill(
            actor=em.district_admin,
            unit=em.district_a,
            held_on=timezone.localdate() + datetime.timedelta(days=2),
            scenario="演练",
        )


def _incident_campaign(w):
    now = timezone.now()
    return screening_services.create_campaign(
        actor=w.district_admin,
        name="甲区突发事件心理筛查",
        term=w.term,
        kind="incident",
        owner_unit=w.district_a,
        units=[w.school_a],
        opens_at=now,
        closes_at=now + datetime.timedelta(days=7),
    )


def test_a_major_event_campaign_runs_under_a_plan_and_team_history_kept(em):
    campaign = _incident_campaign(em)
    services.arrange_campaign(actor=em.district_admin, campaign=campaign, plan=em.plan_a, team=None)
    services.arrange_campaign(
        actor=em.district_admin, campaign=campaign, plan=em.plan_a, team=em.team_a
    )

    current = selectors.arrangement_of(campaign=campaign)
    assert (current.plan, current.team) == (em.plan_a, em.team_a)
    assert CampaignArrangement.objects.filter(campaign=campaign).count() == 2
    assert selectors.campaigns_under(team=em.team_a) == [campaign]


def test_a_routine_campaign_runs_under_no_plan(em):
    with pytest.raises(DomainError):
        services.arrange_campaign(actor=em.psych, campaign=em.campaign, plan=em.plan_a, team=None)


def test_the_seeded_city_lines_are_there(db):
    numbers = list(
        Hotline.objects.filter(unit__isnull=True, is_active=True)
        .order_by("order")
        .values_list("number", flat=True)
    )

    assert numbers == ["12355", "12356", "966525", "0791-88330120"]


def test_a_number_is_listed_once_per_unit(em):
    with pytest.raises(DomainError):
        services.add_hotline(
            actor=em.district_admin, unit=em.district_a, name="重复", number="0791-86000001"
        )


def test_a_school_has_no_helpline_of_its_own(em):
    with pytest.raises(DomainError):
        services.add_hotline(actor=em.city_admin, unit=em.school_a, name="校", number="12345")


def test_a_line_taken_out_of_service_stays_and_can_come_back(em):
    services.set_hotline_active(actor=em.district_admin, hotline=em.line_a, active=False)
    services.set_hotline_active(actor=em.district_admin, hotline=em.line_a, active=True)

    assert Hotline.objects.get(pk=em.line_a.pk).is_active is True
    actions = list(
        AuditEvent.objects.filter(action__startswith="emergency.hotline.")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["emergency.hotline.deactivated", "emergency.hotline.activated"]
