"""Placeholder: filled in by this area's work (issue 5)."""

from typing import Any

from xinqiao.cases.panels import Panel
from xinqiao.core.navigation import NavItem

urlpatterns: list[Any] = []
NAV_ITEMS: list[NavItem] = []


def panel(principal: Any, case: Any) -> Panel | None:
    return None
