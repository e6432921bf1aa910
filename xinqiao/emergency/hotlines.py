"""The helpline directory as core's helpline source (core/helplines.py).

Every page's footer shows the helplines, so the active lines are kept in the process's memory and
reloaded every CACHE_SECONDS, or at once after a change in this process (`clear`); another web
process shows a change within CACHE_SECONDS. A line applies to a page shown at some units when its
unit is one of those units or above them: the city's lines everywhere, a district's lines to the
users of that district (its schools' staff and parents, its station).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q

from xinqiao.orgs.models import Kind

from .models import Hotline

CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class CachedLine:
    number: str
    label: str
    unit_path: str
    city: bool


class _Cache:
    def __init__(self) -> None:
        self._lines: list[CachedLine] | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._lines = None

    def lines(self) -> list[CachedLine]:
        with self._lock:
            if self._lines is not None and time.monotonic() - self._loaded_at < CACHE_SECONDS:
                return self._lines
        rows = (
            Hotline.objects.filter(Q(unit__isnull=True) | Q(unit__is_active=True), is_active=True)
            .select_related("unit")
            .order_by(F("unit__depth").asc(nulls_first=True), "order", "pk")
        )
        lines = [
            CachedLine(
                r.number,
                r.name,
                r.unit.path if r.unit else "",
                r.unit is None or r.unit.kind == Kind.CITY,
            )
            for r in rows
        ]
        with self._lock:
            self._lines, self._loaded_at = lines, time.monotonic()
        return lines


cache = _Cache()


def lines_for(units: Sequence[Any]) -> list[tuple[str, str]]:
    """The lines for a page shown at `units`: the city's, then those of units above them."""
    paths = [u.path for u in units if getattr(u, "path", "")]
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for line in cache.lines():
        applies = line.city or any(p.startswith(line.unit_path) for p in paths)
        if applies and line.number not in seen:
            seen.add(line.number)
            out.append((line.number, line.label))
    return out
