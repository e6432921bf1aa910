"""Readable labels of the semantic item tags (tags.py), for rule explanations and docs."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

LABELS: dict[str, Promise] = {
    "suicide.passive_ideation": _(
        "wished to be dead, or felt they or their family would be better off if they were dead "
        "(past few weeks)"
    ),
    "suicide.current_thoughts": _("thoughts of killing themselves in the past week"),
    "suicide.recent_serious_thoughts": _("serious thoughts of ending their life in the past month"),
    "suicide.thoughts_frequency": _(
        "thoughts of being better off dead or of hurting themselves (how often, past two weeks)"
    ),
    "suicide.acute_thoughts": _("thoughts of killing themselves right now"),
    "suicide.current_plan": _("a current plan to end their life"),
    "suicide.past_attempt": _("ever tried to kill themselves"),
}


def label(tag: str) -> str:
    return str(LABELS.get(tag, tag))
