from __future__ import annotations

from django import template

from xinqiao.alerts import rules

register = template.Library()


@register.filter
def rule_title(rule_id: str) -> str:
    return rules.rule_title(rule_id)


@register.filter
def ruleset_title(label: str) -> str:
    return rules.ruleset_title(label or "") or "—"


@register.filter
def stage_label(stage: str) -> str:
    """A rule set's stage band in words ("" for every stage)."""
    from xinqiao.screening.models import StageBand

    return str(dict(StageBand.choices).get(stage, stage)) if stage else ""
