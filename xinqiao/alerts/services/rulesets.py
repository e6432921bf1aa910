"""Rule sets: a city or district saves a new version of its alert rules."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor
from xinqiao.orgs.models import Kind, OrgUnit

from .. import rules as rules_mod
from ..models import RuleSet


def can_edit_rules_for(actor: Actor, unit: OrgUnit) -> bool:
    from xinqiao.access.roles import Cap
    from xinqiao.access.scope import principal_for

    return unit.kind in (Kind.CITY, Kind.DISTRICT) and principal_for(actor).sees_unit(
        unit, Cap.EDIT_RULESETS
    )


@transaction.atomic
def save_ruleset(
    *, actor: Actor, unit: OrgUnit, stage: str, source: str, note: str = ""
) -> RuleSet:
    """A new version of the rules for `unit` (city or district) and `stage` ("" = every stage)."""
    from xinqiao.screening.models import StageBand

    if not can_edit_rules_for(actor, unit):
        raise DomainError(_("You cannot change the rules for this unit."))
    if stage and stage not in StageBand.values:
        raise DomainError(_("Unknown school stage."), field="stage")
    definition = rules_mod.parse_rules(source)
    last = (
        RuleSet.objects.select_for_update()
        .filter(unit=unit, stage=stage)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    ruleset = RuleSet.objects.create(
        unit=unit,
        stage=stage,
        version=(last or 0) + 1,
        definition=definition,
        source=source,
        note=note,
        created_by=actor,
    )
    record_event(
        actor=actor,
        action="alerts.ruleset.saved",
        obj=ruleset,
        object_type="alerts.ruleset",
        school_id=None,
        fields={"unit": str(unit.code), "stage": stage, "version": ruleset.version, "note": note},
    )
    rules_mod.cache.clear()
    transaction.on_commit(rules_mod.cache.clear)
    return ruleset
