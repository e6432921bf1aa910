"""Writes: helplines, crisis teams and their members, emergency plans and their versions, drills,
a campaign's arrangement. Each function is one transaction with its audit event; the caller (a
view, the API, the demo) has checked the actor's scope through the selectors.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.people.models import Staff
from xinqiao.screening.models import Campaign, CampaignKind

from . import documents
from .hotlines import cache as hotline_cache
from .models import (
    CampaignArrangement,
    CrisisTeam,
    Drill,
    EmergencyPlan,
    Hotline,
    PlanVersion,
    TeamMember,
)

HOTLINE_UNIT_KINDS = {Kind.CITY, Kind.DISTRICT}
TEAM_UNIT_KINDS = {Kind.CITY, Kind.DISTRICT}
PLAN_UNIT_KINDS = {Kind.CITY, Kind.DISTRICT, Kind.CENTRE, Kind.STATION, Kind.SCHOOL}
MAJOR_EVENT_KINDS = {CampaignKind.INCIDENT, CampaignKind.EMERGENCY}
HOTLINE_FIELDS = ("name", "number", "hours", "audience", "note", "order")


def _school_id(unit: OrgUnit) -> int | None:
    return unit.school_id or (unit.pk if unit.kind == Kind.SCHOOL else None)


def _clean(obj: Any) -> None:
    obj.full_clean(validate_unique=False, validate_constraints=False)


# --- helplines ------------------------------------------------------------------------------------
def _hotlines_changed() -> None:
    hotline_cache.clear()
    transaction.on_commit(hotline_cache.clear)


def _check_number_free(unit: OrgUnit | None, number: str, exclude: int | None = None) -> None:
    taken = Hotline.objects.filter(unit=unit, number=number, is_active=True)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise DomainError(_("This number is already listed for this unit."), field="number")


@transaction.atomic
def add_hotline(
    *,
    actor: Actor,
    unit: OrgUnit | None,
    name: str,
    number: str,
    hours: str = "",
    audience: str = "",
    note: str = "",
    order: int = 100,
) -> Hotline:
    """A line of the city (`unit` None or the city) or of a district: checked, stored, audited;
    every page's footer shows it after the commit."""
    if unit is not None and unit.kind not in HOTLINE_UNIT_KINDS:
        raise DomainError(_("Helplines belong to the city or to a district."), field="unit")
    owner = None if unit is None or unit.kind == Kind.CITY else unit
    line = Hotline(
        unit=owner,
        name=name.strip(),
        number=number.strip(),
        hours=hours.strip(),
        audience=audience.strip(),
        note=note.strip(),
        order=order,
    )
    _clean(line)
    _check_number_free(owner, line.number)
    line.save()
    record_event(
        actor=actor,
        action="emergency.hotline.added",
        obj=line,
        fields={"unit": owner and owner.pk, "number": line.number, "name": line.name},
    )
    _hotlines_changed()
    return line


@transaction.atomic
def update_hotline(*, actor: Actor, hotline: Hotline, **changes: Any) -> Hotline:
    """Change a line's name, number, hours, audience, note or order."""
    changed = {}
    for name in HOTLINE_FIELDS:
        if name in changes:
            value = changes[name].strip() if isinstance(changes[name], str) else changes[name]
            if getattr(hotline, name) != value:
                changed[name] = value
                setattr(hotline, name, value)
    _clean(hotline)
    if "number" in changed and hotline.is_active:
        _check_number_free(hotline.unit, hotline.number, exclude=hotline.pk)
    hotline.save()
    record_event(
        actor=actor, action="emergency.hotline.updated", obj=hotline, fields={"changed": changed}
    )
    _hotlines_changed()
    return hotline


@transaction.atomic
def set_hotline_active(*, actor: Actor, hotline: Hotline, active: bool) -> Hotline:
    """Take a line out of service, or back into it (the row stays: what was shown is known)."""
    if active and not hotline.is_active:
        _check_number_free(hotline.unit, hotline.number, exclude=hotline.pk)
    hotline.is_active = active
    hotline.save(update_fields=["is_active", "updated_at"])
    record_event(
        actor=actor,
        action="emergency.hotline.activated" if active else "emergency.hotline.deactivated",
        obj=hotline,
        fields={"number": hotline.number},
    )
    _hotlines_changed()
    return hotline


# --- crisis teams ---------------------------------------------------------------------------------
@transaction.atomic
def create_team(
    *, actor: Actor, unit: OrgUnit, name: str, duty_phone: str, note: str = ""
) -> CrisisTeam:
    """A crisis-intervention team of the city or of a district."""
    if unit.kind not in TEAM_UNIT_KINDS:
        raise DomainError(
            _("Crisis-intervention teams belong to the city or to a district."), field="unit"
        )
    team = CrisisTeam(unit=unit, name=name.strip(), duty_phone=duty_phone.strip(), note=note)
    _clean(team)
    team.save()
    record_event(
        actor=actor,
        action="emergency.team.created",
        obj=team,
        fields={"unit": unit.pk, "name": team.name},
    )
    return team


@transaction.atomic
def update_team(
    *, actor: Actor, team: CrisisTeam, name: str, duty_phone: str, note: str = ""
) -> CrisisTeam:
    changed = {
        k: v
        for k, v in {"name": name.strip(), "duty_phone": duty_phone.strip(), "note": note}.items()
        if getattr(team, k) != v
    }
    for key, value in changed.items():
        setattr(team, key, value)
    _clean(team)
    team.save()
    record_event(
        actor=actor,
        action="emergency.team.updated",
        obj=team,
        fields={"changed": sorted(changed)},
    )
    return team


@transaction.atomic
def add_member(
    *,
    actor: Actor,
    team: CrisisTeam,
    role: str,
    started_on: datetime.date,
    staff: Staff | None = None,
    name: str = "",
    organisation: str = "",
    phone: str = "",
) -> TeamMember:
    """A member's service from `started_on`: a staff record, or a named outside person."""
    if staff is None and not name.strip():
        raise DomainError(_("Choose a staff member or enter the person's name."), field="name")
    if staff is not None:
        if staff.org_unit.path and not staff.org_unit.path.startswith(team.unit.path):
            raise DomainError(_("This staff member works outside the team's area."), field="staff")
        if team.members.filter(staff=staff, ended_on__isnull=True).exists():
            raise DomainError(_("This person is already a member of the team."), field="staff")
    member = TeamMember(
        team=team,
        staff=staff,
        name="" if staff is not None else name.strip(),
        organisation=organisation.strip(),
        phone=phone.strip(),
        role=role,
        started_on=started_on,
    )
    _clean(member)
    member.save()
    record_event(
        actor=actor,
        action="emergency.member.added",
        obj=member,
        fields={"team": team.pk, "role": role, "staff": staff.pk if staff else None},
    )
    return member


@transaction.atomic
def update_member(
    *,
    actor: Actor,
    member: TeamMember,
    role: str,
    organisation: str = "",
    phone: str = "",
) -> list[str]:
    """Correct a current membership's role, organisation (an outside person) or phone; returns
    the fields changed (none: nothing written). Who served from when stays: a new period of
    service is a new membership."""
    if member.ended_on is not None:
        raise DomainError(_("This membership has already ended."))
    values = {"role": role, "phone": phone.strip()}
    if member.staff_id is None:
        values["organisation"] = organisation.strip()
    changed = sorted(k for k, v in values.items() if getattr(member, k) != v)
    if not changed:
        return []
    for key in changed:
        setattr(member, key, values[key])
    _clean(member)
    member.save(update_fields=changed)
    record_event(
        actor=actor,
        action="emergency.member.updated",
        obj=member,
        fields={"team": member.team_id, "changed": changed},
    )
    return changed


@transaction.atomic
def end_member(*, actor: Actor, member: TeamMember, ended_on: datetime.date) -> TeamMember:
    """End a member's service on `ended_on` (the row stays: who served when is kept)."""
    if member.ended_on is not None:
        raise DomainError(_("This membership has already ended."))
    if ended_on < member.started_on:
        raise DomainError(_("The end date is before the start date."), field="ended_on")
    member.ended_on = ended_on
    member.save(update_fields=["ended_on"])
    record_event(
        actor=actor,
        action="emergency.member.ended",
        obj=member,
        fields={"team": member.team_id, "ended_on": ended_on.isoformat()},
    )
    return member


# --- emergency plans ------------------------------------------------------------------------------
@transaction.atomic
def create_plan(
    *,
    actor: Actor,
    unit: OrgUnit,
    title: str,
    kind: str,
    document: Any,
    effective_on: datetime.date,
    summary: str = "",
) -> EmergencyPlan:
    """A plan of a unit, with its first version (the uploaded document)."""
    if unit.kind not in PLAN_UNIT_KINDS:
        raise DomainError(
            _("Emergency plans belong to the city, a district, a station or a school."),
            field="unit",
        )
    plan = EmergencyPlan(unit=unit, title=title.strip(), kind=kind, created_by=actor)
    _clean(plan)
    plan.save()
    record_event(
        actor=actor,
        action="emergency.plan.created",
        obj=plan,
        school_id=_school_id(unit),
        fields={"unit": unit.pk, "title": plan.title, "kind": kind},
    )
    add_version(
        actor=actor, plan=plan, document=document, effective_on=effective_on, summary=summary
    )
    return plan


@transaction.atomic
def add_version(
    *,
    actor: Actor,
    plan: EmergencyPlan,
    document: Any,
    effective_on: datetime.date,
    summary: str = "",
) -> PlanVersion:
    """A new version of the plan's document: numbered after the last; the old ones stay."""
    plan = EmergencyPlan.objects.select_for_update().get(pk=plan.pk)
    last = plan.versions.order_by("-number").values_list("number", flat=True).first() or 0
    stored = documents.store(document)
    version = PlanVersion.objects.create(
        plan=plan,
        number=last + 1,
        effective_on=effective_on,
        summary=summary.strip(),
        uploaded_by=actor,
        uploaded_at=timezone.now(),
        **stored,
    )
    record_event(
        actor=actor,
        action="emergency.plan.version_added",
        obj=version,
        school_id=_school_id(plan.unit),
        fields={"plan": plan.pk, "number": version.number, "sha256": version.sha256},
    )
    return version


@transaction.atomic
def set_plan_in_force(*, actor: Actor, plan: EmergencyPlan, in_force: bool) -> EmergencyPlan:
    plan.is_active = in_force
    plan.save(update_fields=["is_active"])
    record_event(
        actor=actor,
        action="emergency.plan.reinstated" if in_force else "emergency.plan.withdrawn",
        obj=plan,
        school_id=_school_id(plan.unit),
    )
    return plan


# --- drills ---------------------------------------------------------------------------------------
@transaction.atomic
def record_drill(
    *,
    actor: Actor,
    unit: OrgUnit,
    held_on: datetime.date,
    scenario: str,
    plan: EmergencyPlan | None = None,
    participants: str = "",
    participant_count: int = 0,
    findings: str = "",
) -> Drill:
    """A drill held by `unit` (under one of the unit's plans, when named)."""
    if unit.kind not in PLAN_UNIT_KINDS:
        raise DomainError(
            _("Drills are held by the city, a district, a station or a school."), field="unit"
        )
    if plan is not None and plan.unit_id != unit.pk:
        raise DomainError(_("Choose one of this unit's plans."), field="plan")
    if held_on > timezone.localdate():
        raise DomainError(_("A drill is recorded after it was held."), field="held_on")
    drill = Drill(
        unit=unit,
        plan=plan,
        held_on=held_on,
        scenario=scenario.strip(),
        participants=participants.strip(),
        participant_count=participant_count,
        findings=findings.strip(),
        recorded_by=actor,
    )
    _clean(drill)
    drill.save()
    record_event(
        actor=actor,
        action="emergency.drill.recorded",
        obj=drill,
        school_id=_school_id(unit),
        fields={"unit": unit.pk, "held_on": held_on.isoformat(), "plan": plan and plan.pk},
    )
    return drill


# --- a major-event campaign's arrangement ---------------------------------------------------------
@transaction.atomic
def arrange_campaign(
    *,
    actor: Actor,
    campaign: Campaign,
    plan: EmergencyPlan | None,
    team: CrisisTeam | None,
) -> CampaignArrangement:
    """Record the plan and team an incident or emergency campaign runs under (a new row; the
    latest holds)."""
    if campaign.kind not in MAJOR_EVENT_KINDS:
        raise DomainError(
            _("Only a campaign after an incident or in a public emergency runs under a plan.")
        )
    if plan is None and team is None:
        raise DomainError(_("Choose a plan, a team or both."))
    arrangement = CampaignArrangement.objects.create(
        campaign=campaign, plan=plan, team=team, set_by=actor, set_at=timezone.now()
    )
    record_event(
        actor=actor,
        action="emergency.campaign.arranged",
        obj=arrangement,
        fields={"campaign": campaign.pk, "plan": plan and plan.pk, "team": team and team.pk},
    )
    return arrangement
