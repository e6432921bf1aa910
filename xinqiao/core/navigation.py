"""The navigation: one entry per page, shown only to roles with the capability it needs."""

from dataclasses import dataclass
from typing import Any, Protocol

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str | Promise
    cap: str | None  # None: every signed-in user
    icon: str = ""
    description: str | Promise = ""
    order: int = 100  # lower comes first; equal orders keep registration order


# Apps append their entries here (in their AppConfig.ready or at import of their urls).
NAV_ITEMS: list[NavItem] = [
    NavItem("home", _("Home"), None, "house", order=0),
]


def register(item: NavItem) -> None:
    if all(existing.url_name != item.url_name for existing in NAV_ITEMS):
        NAV_ITEMS.append(item)


class Navigator(Protocol):
    """What the navigation asks of a user's principal (xinqiao.access.scope.Principal)."""

    def can(self, cap: str) -> bool: ...


def navigation_for(principal: Navigator) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if not getattr(principal, "grants", None) and not getattr(
        getattr(principal, "user", None), "is_authenticated", False
    ):
        return items
    for item in sorted(NAV_ITEMS, key=lambda i: i.order):
        if item.cap is not None and not principal.can(item.cap):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append(
            {
                "url": url,
                "label": item.label,
                "icon": item.icon,
                "description": item.description,
                "url_name": item.url_name,
            }
        )
    return items
