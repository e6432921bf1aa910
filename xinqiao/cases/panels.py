"""Panels of the case page. Each area (care, referrals, schooling) registers a builder that
returns the panel's template and context, or None when the user may not see it; the case page
view renders them in order. Keeps the case page thin and each area's code in its own module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from xinqiao.access.scope import Principal


@dataclass(frozen=True)
class Panel:
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 50


PanelBuilder = Callable[[Any, Any], Panel | None]  # (principal, case) -> Panel | None
_builders: list[PanelBuilder] = []


def register_panel(builder: PanelBuilder) -> None:
    if builder not in _builders:
        _builders.append(builder)


def panels_for(*, principal: Principal, case: Any) -> list[Panel]:
    built = [p for p in (build(principal, case) for build in _builders) if p is not None]
    return sorted(built, key=lambda p: p.order)
