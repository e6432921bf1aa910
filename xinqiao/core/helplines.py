"""The 24-hour helplines shown on every page, the family pages, the thank-you page of a screening,
and every alert and case page (R20).

Core knows no table: the directory lives in the emergency app (`emergency.Hotline`, editable by
the city and each district), which registers a source here in its AppConfig.ready. A source
answers, for the units a page is shown at (the user's role units, or a student's school), the
lines to show: the city's plus those of the districts above those units. Without a source, or
when the source has no active line, the lines of `settings.HELPLINES` are shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings

Line = tuple[str, str]
Source = Callable[[Sequence[Any]], list[Line]]
_source: list[Source] = []


def register_source(source: Source) -> None:
    _source[:] = [source]


def helplines_for(units: Iterable[Any] = ()) -> list[Line]:
    """(number, label) pairs for a page shown at `units` (org units; none: the city's lines)."""
    units = [u for u in units if u is not None]
    if _source:
        lines = _source[0](units)
        if lines:
            return lines
    return [(number, str(label)) for number, label in settings.HELPLINES]


def helplines_for_principal(principal: Any) -> list[Line]:
    """The lines for a signed-in user: the city's and those of the districts they work in."""
    grants = getattr(principal, "grants", None) or []
    return helplines_for(g.unit for g in grants)
