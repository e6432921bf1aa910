"""Campaigns and their lifecycle: create (scope and battery checked), set the battery while a
draft, open (every assignment created in one statement), close, archive."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor
from xinqiao.instruments.engine import UnknownInstrumentError, get_definition
from xinqiao.orgs.models import Kind, OrgUnit, Term
from xinqiao.people.models import Student

from ..models import (
    BatteryEntry,
    Campaign,
    CampaignStatus,
    CampaignStudent,
    CampaignUnit,
    ConsentBasis,
    Sitting,
    StageBand,
)
from .assignments import create_assignments
from .common import (
    _require_manage,
    _require_status,
    can_manage,
    check_battery_order,
    default_battery,
)


def _validate_battery(battery: Mapping[str, Sequence[Any]]) -> list[BatteryEntry]:
    """Entries in the order given (the order students answer in), refused if an instrument is
    unknown, not self-report, or the order puts the suicide-risk questions first or before a
    depression scale (common.check_battery_order)."""
    entries: list[BatteryEntry] = []
    for band, items in battery.items():
        if band not in StageBand.values:
            raise DomainError(_("Unknown school stage: %(band)s") % {"band": band}, field="battery")
        domains: list[str] = []
        for position, item in enumerate(items):
            code, version = (item, None) if isinstance(item, str) else item
            try:
                defn = get_definition(code, version)
            except UnknownInstrumentError:
                raise DomainError(
                    _("Unknown instrument: %(code)s") % {"code": code}, field="battery"
                ) from None
            if defn.respondent != "self":
                raise DomainError(
                    _("%(code)s is answered by parents or teachers, not by students.")
                    % {"code": defn.code},
                    field="battery",
                )
            entries.append(
                BatteryEntry(
                    stage_band=band,
                    instrument_code=defn.code,
                    instrument_version=defn.version,
                    position=position,
                )
            )
            domains.append(str(defn.document.get("domain") or ""))
        check_battery_order(
            str(StageBand(band).label),
            domains,
            [e.instrument_code for e in entries[-len(domains) :]],
        )
    return entries


def _check_units_within(owner: OrgUnit, units: Iterable[OrgUnit]) -> list[OrgUnit]:
    units = list(units)
    for unit in units:
        if not owner.contains(unit):
            raise DomainError(
                _("%(unit)s is outside %(owner)s.") % {"unit": unit.name, "owner": owner.name},
                field="units",
            )
        if unit.kind not in (Kind.CITY, Kind.DISTRICT, Kind.SCHOOL, Kind.GRADE, Kind.CLASS):
            raise DomainError(
                _("Only cities, districts, schools, grades and classes can be covered.")
            )
    return units


@transaction.atomic
def create_campaign(
    *,
    actor: Actor,
    name: str,
    term: Term,
    kind: str,
    owner_unit: OrgUnit,
    opens_at: Any,
    closes_at: Any,
    units: Iterable[OrgUnit] | None = None,
    grade_levels: Sequence[int] = (),
    students: Iterable[Student] = (),
    battery: Mapping[str, Sequence[Any]] | None = None,
    consent_basis: str = ConsentBasis.STATUTORY_DUTY,
    legal_basis_note: str = "",
    results_visibility: str = "school_psychology_teachers",
    checks: dict[str, Any] | None = None,
    student_login: str = "student_number",
) -> Campaign:
    if actor is not None and not can_manage(actor, owner_unit):
        raise DomainError(_("You may not create a campaign for %(unit)s.") % {"unit": owner_unit})
    if closes_at <= opens_at:
        raise DomainError(_("The campaign must close after it opens."), field="closes_at")
    covered = _check_units_within(owner_unit, units if units is not None else [owner_unit])
    students = list(students)
    for student in students:
        if not owner_unit.contains(student.school):
            raise DomainError(
                _("A listed student is outside the campaign's area."), field="students"
            )
    if not covered and not students:
        raise DomainError(_("Choose the units or the students the campaign covers."), field="units")
    entries = _validate_battery(battery if battery is not None else default_battery())
    campaign = Campaign.objects.create(
        name=name,
        term=term,
        kind=kind,
        owner_unit=owner_unit,
        opens_at=opens_at,
        closes_at=closes_at,
        consent_basis=consent_basis,
        legal_basis_note=legal_basis_note,
        results_visibility=results_visibility,
        checks=checks or {},
        student_login=student_login,
        grade_levels=sorted({int(g) for g in grade_levels}),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    CampaignUnit.objects.bulk_create([CampaignUnit(campaign=campaign, unit=u) for u in covered])
    CampaignStudent.objects.bulk_create(
        [CampaignStudent(campaign=campaign, student=s) for s in students]
    )
    for entry in entries:
        entry.campaign = campaign
    BatteryEntry.objects.bulk_create(entries)
    record_event(
        actor=actor,
        action="screening.campaign.created",
        obj=campaign,
        school_id=owner_unit.pk if owner_unit.kind == Kind.SCHOOL else None,
        fields={
            "name": name,
            "kind": kind,
            "owner_unit": str(owner_unit.code),
            "units": [str(u.code) for u in covered],
            "students": len(students),
            "battery": [
                f"{e.stage_band}:{e.instrument_code}@{e.instrument_version}" for e in entries
            ],
            "consent_basis": consent_basis,
        },
    )
    return campaign


@transaction.atomic
def set_battery(
    *, actor: Actor, campaign: Campaign, battery: Mapping[str, Sequence[Any]]
) -> list[BatteryEntry]:
    """Replace the battery. Refused once the campaign has opened: answers must stay comparable."""
    _require_manage(actor, campaign)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != CampaignStatus.DRAFT:
        raise DomainError(_("The battery of an open or closed campaign cannot change."))
    entries = _validate_battery(battery)
    BatteryEntry.objects.filter(campaign=campaign).delete()
    for entry in entries:
        entry.campaign = campaign
    BatteryEntry.objects.bulk_create(entries)
    record_event(
        actor=actor,
        action="screening.battery.changed",
        obj=campaign,
        fields={
            "battery": [
                f"{e.stage_band}:{e.instrument_code}@{e.instrument_version}" for e in entries
            ]
        },
    )
    return entries


@transaction.atomic
def open_campaign(*, actor: Actor, campaign: Campaign) -> int:
    """draft → open: create every assignment in one INSERT … SELECT. Returns the number created."""
    _require_manage(actor, campaign)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _require_status(
        campaign, CampaignStatus.DRAFT, message=_("Only a draft campaign can be opened.")
    )
    if not BatteryEntry.objects.filter(campaign=campaign).exists():
        raise DomainError(_("The campaign has no instruments."))
    campaign.status = CampaignStatus.OPEN
    campaign.opened_at = timezone.now()
    campaign.save(update_fields=["status", "opened_at"])
    created = create_assignments(campaign)
    record_event(
        actor=actor,
        action="screening.campaign.opened",
        obj=campaign,
        fields={"assignments": created},
    )
    return created


@transaction.atomic
def close_campaign(*, actor: Actor, campaign: Campaign) -> Campaign:
    _require_manage(actor, campaign)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _require_status(
        campaign, CampaignStatus.OPEN, message=_("Only an open campaign can be closed.")
    )
    now = timezone.now()
    campaign.status = CampaignStatus.CLOSED
    campaign.closed_at = now
    campaign.save(update_fields=["status", "closed_at"])
    closed_sittings = Sitting.objects.filter(campaign=campaign, closed_at__isnull=True).update(
        closed_at=now
    )
    record_event(
        actor=actor,
        action="screening.campaign.closed",
        obj=campaign,
        fields={"sittings_closed": closed_sittings},
    )
    return campaign


@transaction.atomic
def archive_campaign(*, actor: Actor, campaign: Campaign) -> Campaign:
    _require_manage(actor, campaign)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _require_status(
        campaign, CampaignStatus.CLOSED, message=_("Only a closed campaign can be archived.")
    )
    campaign.status = CampaignStatus.ARCHIVED
    campaign.archived_at = timezone.now()
    campaign.save(update_fields=["status", "archived_at"])
    record_event(actor=actor, action="screening.campaign.archived", obj=campaign, fields={})
    return campaign
