from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template
from django.utils.translation import get_language

from xinqiao.instruments import labels

register = template.Library()


@register.filter
def localized(text: Mapping[str, str] | None) -> str:
    """Pick the current language from a definition's {"zh-Hans": …, "en": …} text."""
    if not text:
        return ""
    lang = "zh-Hans" if (get_language() or "").lower().startswith("zh") else "en"
    return text.get(lang) or text.get("zh-Hans") or next(iter(text.values()), "")


@register.filter
def get_item(mapping: Mapping[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.filter
def instrument_name(code: str) -> str:
    return labels.instrument_name(code)


@register.filter
def respondent_label(respondent: str) -> str:
    return labels.respondent_label(respondent)


@register.filter
def score_label(code: str, score: str) -> str:
    return labels.score_label(code, score)


@register.filter
def licence_label(status: str) -> str:
    return labels.licence_label(status)


@register.filter
def method_label(method: str) -> str:
    return labels.method_label(method)
