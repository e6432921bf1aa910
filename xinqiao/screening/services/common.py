"""Shared by the screening services: the default battery and who may manage a campaign."""

from __future__ import annotations

from django.utils.translation import gettext as _

from xinqiao.access.roles import Cap, Role
from xinqiao.access.scope import principal_for
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor
from xinqiao.instruments.engine import get_definition
from xinqiao.orgs.models import Kind, OrgUnit

from ..models import Campaign, StageBand

# The default battery per stage band (docs/screening.md explains the choice and the sources).
DEFAULT_BATTERY: dict[str, list[str]] = {
    StageBand.PRIMARY_LOWER: [],
    StageBand.PRIMARY_UPPER: ["Y-PSC-17"],
    StageBand.JUNIOR: ["PHQ-A", "GAD-7", "ASQ"],
    StageBand.SENIOR: ["PHQ-A", "GAD-7", "ASQ"],
    StageBand.VOCATIONAL: ["PHQ-A", "GAD-7", "ASQ"],
}


def default_battery() -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for band, codes in DEFAULT_BATTERY.items():
        out[band] = [(code, get_definition(code).version) for code in codes]
    return out


# --- authorisation helpers -------------------------------------------------------------------


def can_manage(actor: Actor, owner_unit: OrgUnit) -> bool:
    """City/district admins for their area; a psychology teacher for their own school."""
    principal = principal_for(actor)
    for grant in principal.grants_with(Cap.MANAGE_CAMPAIGNS):
        if not grant.area.contains(owner_unit):
            continue
        if grant.role == Role.PSYCHOLOGY_TEACHER and (
            owner_unit.kind != Kind.SCHOOL or grant.unit.kind != Kind.SCHOOL
        ):
            continue
        return True
    return False


def _require_manage(actor: Actor, campaign: Campaign) -> None:
    if actor is not None and not can_manage(actor, campaign.owner_unit):
        raise DomainError(_("You may not manage this campaign."))


def _require_status(campaign: Campaign, *allowed: str, message: str) -> None:
    if campaign.status not in allowed:
        raise DomainError(message)
