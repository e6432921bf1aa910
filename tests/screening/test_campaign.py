"""Campaign lifecycle: who may create one, draft → open → closed → archived, audit, battery lock."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from xinqiao.audit.models import AuditEvent
from xinqiao.core.errors import DomainError
from xinqiao.screening import services
from xinqiao.screening.models import BatteryEntry, Campaign, CampaignStatus
from xinqiao.screening.taking.services import submit_answers

from .taking_helpers import battery

pytestmark = pytest.mark.django_db


def make_campaign(world, *, owner=None, actor=None, units=None, **kwargs) -> Campaign:
    """A draft autumn campaign for school A by its psychology teacher (overridable)."""
    owner = owner or world.school_a
    now = timezone.now()
    params = {
        "name": "2026秋季心理普查",
        "term": world.term,
        "kind": "routine_autumn",
        "opens_at": now - datetime.timedelta(hours=1),
        "closes_at": now + datetime.timedelta(days=14),
    }
    params.update(kwargs)
    return services.create_campaign(
        actor=actor or world.psych,
        owner_unit=owner,
        units=[owner] if units is None else units,
        **params,
    )


def actions(campaign):
    return list(
        AuditEvent.objects.filter(object_type="screening.campaign", object_id=str(campaign.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_lifecycle_is_audited(world):
    campaign = make_campaign(world)
    assert campaign.status == CampaignStatus.DRAFT
    services.open_campaign(actor=world.psych, campaign=campaign)
    services.close_campaign(actor=world.psych, campaign=campaign)
    services.archive_campaign(actor=world.psych, campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.ARCHIVED
    assert actions(campaign) == [
        "screening.campaign.created",
        "screening.campaign.opened",
        "screening.campaign.closed",
        "screening.campaign.archived",
    ]


def test_steps_out_of_order_are_refused(world):
    campaign = make_campaign(world)
    with pytest.raises(DomainError):
        services.close_campaign(actor=world.psych, campaign=campaign)
    with pytest.raises(DomainError):
        services.archive_campaign(actor=world.psych, campaign=campaign)
    services.open_campaign(actor=world.psych, campaign=campaign)
    with pytest.raises(DomainError):
        services.open_campaign(actor=world.psych, campaign=campaign)


def test_default_battery(world):
    campaign = make_campaign(world)
    junior = list(
        BatteryEntry.objects.filter(campaign=campaign, stage_band="junior").values_list(
            "instrument_code", flat=True
        )
    )
    assert junior == ["PHQ-A", "GAD-7", "ASQ"]
    assert list(
        BatteryEntry.objects.filter(campaign=campaign, stage_band="primary_upper").values_list(
            "instrument_code", flat=True
        )
    ) == ["Y-PSC-17"]


def test_battery_locked_once_open(world):
    campaign = make_campaign(world)
    services.set_battery(actor=world.psych, campaign=campaign, battery={"junior": ["PHQ-A"]})
    services.open_campaign(actor=world.psych, campaign=campaign)
    with pytest.raises(DomainError) as exc:
        services.set_battery(actor=world.psych, campaign=campaign, battery={"junior": ["GAD-7"]})
    assert "battery" in exc.value.message
    assert list(
        BatteryEntry.objects.filter(campaign=campaign).values_list("instrument_code", flat=True)
    ) == ["PHQ-A"]


def test_parent_report_and_unknown_instruments_refused(world):
    with pytest.raises(DomainError):
        make_campaign(world, battery={"primary_lower": ["PSC-17"]})
    with pytest.raises(DomainError):
        make_campaign(world, battery={"junior": ["NOPE"]})


@pytest.mark.parametrize(
    ("actor_attr", "owner_attr", "allowed"),
    [
        ("city_admin", "city", True),
        ("district_admin", "district_a", True),
        ("district_admin", "district_b", False),
        ("district_admin", "city", False),
        ("psych", "school_a", True),
        ("psych", "school_b", False),
        ("psych", "district_a", False),
        ("head_teacher", "school_a", False),
        ("school_admin", "school_a", False),
    ],
)
def test_who_may_create(world, actor_attr, owner_attr, allowed):
    actor, owner = getattr(world, actor_attr), getattr(world, owner_attr)
    if allowed:
        assert make_campaign(world, owner=owner, actor=actor).owner_unit == owner
    else:
        with pytest.raises(DomainError):
            make_campaign(world, owner=owner, actor=actor)


def test_units_must_lie_inside_the_owner(world):
    with pytest.raises(DomainError):
        make_campaign(world, units=[world.class_b1])


def test_other_school_cannot_open(world):
    campaign = make_campaign(world)
    with pytest.raises(DomainError):
        services.open_campaign(actor=world.psych_b, campaign=campaign)


def answer(assignment, overrides=None, *, seconds=5.0, client_key=None):
    """Autosave answers for the whole battery (0 = 'not at all' unless overridden), then hand
    them in as the student side does; the responses, by id.

    `overrides` = {"PHQ-A": {"1": 2, ...}, "ASQ": {"1": 1}}. Items an engine would skip (ASQ 5,
    PHQ-A 11 when nothing is endorsed) are left unanswered.
    """
    from xinqiao.instruments.engine import get_definition
    from xinqiao.screening.models import AnswerDraft, Response

    overrides = overrides or {}
    now = timezone.now()
    drafts = []
    for code, version in [(i.code, i.version) for i in battery(assignment)]:
        defn = get_definition(code, version)
        given = overrides.get(code, {})
        for item in defn.items:
            value = given.get(item.id, None if item.ask_if_any_of else 0)
            if item.ask_if_any_of and item.id not in given:
                shown = any(given.get(i, 0) >= (item.ask_if_min or 1) for i in item.ask_if_any_of)
                value = defn.option_codes(item)[0] if shown else None
            drafts.append(
                AnswerDraft(
                    assignment=assignment,
                    instrument_code=code,
                    item_id=item.id,
                    answer=value,
                    seconds=seconds,
                    client_seq=1,
                    updated_at=now,
                )
            )
    AnswerDraft.objects.bulk_create(drafts)
    submit_answers(
        binding=signed_in(assignment), client_key=client_key or f"hand-in-key-{assignment.pk}"
    )
    return list(Response.objects.filter(assignment=assignment).order_by("id"))


def signed_in(assignment):
    """The browser binding a sign-in gives: the assignment's nonce (kept if it has one)."""
    from xinqiao.screening.models import Assignment
    from xinqiao.screening.taking.session import Binding, new_nonce

    nonce = Assignment.objects.filter(pk=assignment.pk).values_list("session_nonce", flat=True)[0]
    if not nonce:
        nonce = new_nonce()
        Assignment.objects.filter(pk=assignment.pk).update(session_nonce=nonce)
    return Binding(assignment.pk, nonce)


def test_submission_is_scored_and_idempotent(world):
    from xinqiao.screening.models import Assignment, AssignmentStatus

    a1 = Assignment.objects.get(campaign=world.campaign, student=world.stu_a1)
    responses = answer(a1, {"ASQ": {"1": 1}, "PHQ-A": {"1": 2, "2": 2}})
    assert [r.instrument_code for r in responses] == ["PHQ-A", "GAD-7", "ASQ"]
    asq = responses[2]
    assert asq.critical == ["1"]
    assert asq.valid
    assert responses[0].scores["total"] == 4
    a1.refresh_from_db()
    assert a1.status == AssignmentStatus.COMPLETED
    again = submit_answers(binding=signed_in(a1), client_key="another-key")
    assert not again.first_time
    assert sorted(r.pk for r in again.responses) == [r.pk for r in responses]
