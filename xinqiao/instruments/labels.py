"""What a person reads for an instrument's codes: its name, a score's, a band's, a validity
check's and a respondent's label, in the active language. Codes (`severe`, `too_fast`,
`asq_result`, `self`) stay in data and exports' machine columns; pages and spreadsheets show these.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .definition import UnknownInstrumentError, get_definition

CHECK_LABELS = {
    "too_fast": _("answered too fast"),
    "extreme_fast": _("answered extremely fast"),
    "straightlining": _("the same answer throughout"),
    "repeated_pattern": _("a repeating pattern of answers"),
    "inconsistent_pairs": _("contradictory answers"),
    "lie_scale": _("lie scale above its limit"),
    "instructed_item": _("attention item answered wrongly"),
}
METHOD_LABELS = {
    "sum": _("sum"),
    "mean": _("mean"),
    "count_at_least": _("count of answers at or above a threshold"),
}
LICENCE_LABELS = {
    "public_domain": _("public domain"),
    "free_with_attribution": _("free to use with attribution"),
    "licensed_scoring_only": _("licensed: scoring only, item texts imported by the deployer"),
    "custom": _("custom instrument"),
}
RESPONDENT_LABELS = {
    "self": _("the student"),
    "parent": _("a parent"),
    "guardian": _("a parent"),
    "teacher": _("a teacher"),
}


def text(value: Mapping[str, str] | None) -> str:
    """A definition's {"zh-Hans": …, "en": …} text in the active language."""
    if not value:
        return ""
    lang = (get_language() or "zh-hans").lower()
    key = "zh-Hans" if lang.startswith("zh") else "en"
    return value.get(key) or value.get("zh-Hans") or next(iter(value.values()), "")


def instrument_name(code: str, version: str | None = None) -> str:
    try:
        return text(get_definition(code, version).names) or code
    except UnknownInstrumentError:
        return code


def score_label(code: str, score: str, version: str | None = None) -> str:
    try:
        defn = get_definition(code, version)
    except UnknownInstrumentError:
        return score
    for spec in (*defn.scores, *defn.derived):
        if spec.name == score:
            return text(spec.label) or score
    return score


def band_label(code: str, score: str, band: str | None, version: str | None = None) -> str:
    if not band:
        return ""
    try:
        bands = get_definition(code, version).bands.get(score, ())
    except UnknownInstrumentError:
        return band
    return next((text(b.label) for b in bands if b.code == band), band)


def check_label(check: str) -> str:
    return str(CHECK_LABELS.get(check, check))


def respondent_label(respondent: str) -> str:
    return str(RESPONDENT_LABELS.get(respondent, respondent))


def licence_label(status: str) -> str:
    return str(LICENCE_LABELS.get(status, status))


def method_label(method: str) -> str:
    return str(METHOD_LABELS.get(method, method))
