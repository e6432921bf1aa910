"""Shared by the screening services: the default battery and who may manage a campaign."""

from __future__ import annotations

from django.utils.translation import gettext as _

from xinqiao.access.roles import Cap, Role
from xinqiao.access.scope import principal_for
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor
from xinqiao.instruments.engine import get_definition
from xinqiao.instruments.schema import DOMAINS
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


# --- order of a battery ----------------------------------------------------------------------
# The practice of the field: general well-being and mood first, then anxiety, the suicide-risk
# questions after the depression scale and never first (docs/screening.md cites the sources).
# An instrument without a domain goes between anxiety and suicide risk.
_RANK = {domain: n for n, domain in enumerate(DOMAINS)}
_UNRANKED = _RANK["suicide_risk"] - 0.5


def domain_of(code: str, version: str | None = None) -> str:
    return str(get_definition(code, version).document.get("domain") or "")


def order_rank(code: str, version: str | None = None) -> float:
    return _RANK.get(domain_of(code, version), _UNRANKED)


def recommended_order(codes: list[str]) -> list[str]:
    """The codes in the recommended order (stable: the given order within a domain)."""
    return sorted(codes, key=order_rank)


def check_battery_order(band_label: str, domains: list[str], codes: list[str]) -> None:
    """Refuse an order that puts the suicide-risk questions first or before a depression scale."""
    for n, domain in enumerate(domains):
        if domain != "suicide_risk":
            continue
        if n == 0 and len(domains) > 1:
            raise DomainError(
                _(
                    "%(stage)s: %(code)s asks about suicide and cannot come first; put it after "
                    "the mood questionnaires."
                )
                % {"stage": band_label, "code": codes[n]},
                field="battery",
            )
        later = [codes[k] for k in range(n + 1, len(domains)) if domains[k] == "depression"]
        if later:
            raise DomainError(
                _("%(stage)s: %(code)s asks about suicide and must come after %(after)s.")
                % {"stage": band_label, "code": codes[n], "after": ", ".join(later)},
                field="battery",
            )


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
