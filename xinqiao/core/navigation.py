"""The navigation: one entry per page, grouped by the legs of the policy, shown only to roles with
the capability it needs.

Each app registers its entries (`register(NavItem(...))`, in its AppConfig.ready) and names the
group each belongs to; core knows the groups but never the apps. An entry may carry a badge: the
name of a counter an app registers with `register_badge(name, count)` (the unread inbox, the
overdue items). base.html draws the registry: groups as dropdowns on a wide screen, an offcanvas
drawer on a phone. docs/architecture.md ("Navigation and home panels") tells how to add to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NavGroup:
    key: str
    label: str | Promise
    icon: str = ""


# The policy's legs, in the order the navigation shows them. A group with no entry a user may use
# is not shown to that user (counselling, education and family have no app yet).
MONITORING = "monitoring"
CASES = "cases"
COUNSELLING = "counselling"
EDUCATION = "education"
FAMILY = "family"
INDICATORS = "indicators"
ADMIN = "admin"
TOP = ""  # not in a group: home and the inbox, always at hand

GROUPS: list[NavGroup] = [
    NavGroup(MONITORING, _("Screening and alerts"), "activity"),
    NavGroup(CASES, _("Intervention"), "folder2-open"),
    NavGroup(COUNSELLING, _("Counselling"), "chat-heart"),
    NavGroup(EDUCATION, _("Health education"), "book"),
    NavGroup(FAMILY, _("Family and school"), "house-heart"),
    NavGroup(INDICATORS, _("Statistics and supervision"), "bar-chart"),
    NavGroup(ADMIN, _("Administration"), "gear"),
]
GROUP_KEYS = {g.key for g in GROUPS}


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str | Promise
    cap: str | None  # None: every signed-in user
    icon: str = ""
    description: str | Promise = ""
    order: int = 100  # lower comes first; equal orders keep registration order
    group: str = TOP  # one of GROUPS' keys, or TOP
    badge: str = ""  # the name of a registered badge counter, shown next to the label
    badge_alarm: bool = False  # the badge counts something late: drawn red
    # Not shown to a user whose every role holding `cap` also holds this one: a parent's own
    # pages replace the entry (the family group's school messages stand for the inbox, the
    # child's page links the concern form); a teacher who is also a parent keeps it.
    hidden_for: str | None = None


# Apps append their entries here (in their AppConfig.ready or at import of their urls).
NAV_ITEMS: list[NavItem] = [
    NavItem("home", _("Home"), None, "house", order=0),
]

Counter = Callable[[Any], int]
BADGES: dict[str, Counter] = {}


def register(item: NavItem) -> None:
    if item.group != TOP and item.group not in GROUP_KEYS:
        raise ValueError(f"navigation: unknown group {item.group!r} for {item.url_name}")
    if all(existing.url_name != item.url_name for existing in NAV_ITEMS):
        NAV_ITEMS.append(item)


def register_badge(name: str, count: Counter) -> None:
    """`count(principal) -> int`: a bounded number of queries, whatever the number of rows (it
    runs on every page that shows the navigation, and only for users who see its entry)."""
    BADGES[name] = count


class Navigator(Protocol):
    """What the navigation asks of a user's principal (xinqiao.access.scope.Principal)."""

    def can(self, cap: str) -> bool: ...


def _shown(principal: Navigator, item: NavItem) -> bool:
    if item.cap is not None and not principal.can(item.cap):
        return False
    if item.hidden_for is None or not principal.can(item.hidden_for):
        return True
    # Principal.holds_apart_from: some role gives `cap` without `hidden_for`.
    apart = getattr(principal, "holds_apart_from", None)
    return bool(apart(item.cap, item.hidden_for)) if apart is not None else False


def _signed_in(principal: Navigator) -> bool:
    return bool(
        getattr(principal, "grants", None)
        or getattr(getattr(principal, "user", None), "is_authenticated", False)
    )


def navigation_for(principal: Navigator) -> list[dict[str, Any]]:
    """The entries this principal may use, in order (no badge counted here: see Navigation)."""
    items: list[dict[str, Any]] = []
    if not _signed_in(principal):
        return items
    for item in sorted(NAV_ITEMS, key=lambda i: i.order):
        if not _shown(principal, item):
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
                "group": item.group,
                "badge": item.badge,
                "badge_alarm": item.badge_alarm,
            }
        )
    return items


class Navigation:
    """What base.html draws, computed on first use (a partial response never pays for it):
    `top` (entries outside any group), `groups` (those with an entry the user may use, each with
    its entries, whether the current page is in it, and the sum of its badges), `items` (all)."""

    def __init__(self, principal: Navigator, current: str = "") -> None:
        self.principal = principal
        self.current = current

    @cached_property
    def items(self) -> list[dict[str, Any]]:
        items = navigation_for(self.principal)
        counts: dict[str, int] = {}
        for item in items:
            name = item["badge"]
            if name and name in BADGES and name not in counts:
                counts[name] = BADGES[name](self.principal)
            item["count"] = counts.get(name, 0) if name else 0
            item["active"] = item["url_name"] == self.current
        return items

    @cached_property
    def top(self) -> list[dict[str, Any]]:
        return [i for i in self.items if i["group"] == TOP]

    @cached_property
    def current_group(self) -> str | None:
        """The group of the current page: its entry's, else that of the first entry of the same
        app (an alert's page belongs with the alerts), else none."""
        for item in self.items:
            if item["active"]:
                return str(item["group"])
        namespace = self.current.partition(":")[0] if ":" in self.current else ""
        for item in self.items:
            if namespace and item["url_name"].partition(":")[0] == namespace and item["group"]:
                return str(item["group"])
        return None

    @cached_property
    def groups(self) -> list[dict[str, Any]]:
        shown = []
        for group in GROUPS:
            entries = [i for i in self.items if i["group"] == group.key]
            if not entries:
                continue
            shown.append(
                {
                    "key": group.key,
                    "label": group.label,
                    "icon": group.icon,
                    "items": entries,
                    "active": group.key == self.current_group,
                    "count": sum(i["count"] for i in entries if i["badge_alarm"]),
                }
            )
        return shown

    def __iter__(self) -> Any:
        return iter(self.items)

    @cached_property
    def total_count(self) -> int:
        """Every badge once (the phone's menu button shows it while the drawer is closed)."""
        seen: dict[str, int] = {}
        for item in self.items:
            if item["badge"]:
                seen[item["badge"]] = item["count"]
        return sum(seen.values())
