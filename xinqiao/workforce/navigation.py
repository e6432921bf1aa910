"""The workforce entries of the navigation (统计与督导 for the indicators, 管理 for the
registries)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xinqiao.access.roles import Cap
from xinqiao.core import navigation
from xinqiao.core.navigation import NavItem

NAV_ITEMS = [
    NavItem(
        "workforce:training-summary",
        _("Training hours"),
        Cap.VIEW_WORKFORCE,
        "mortarboard",
        _("Each teacher's training hours this school year against the thresholds."),
        order=40,
        group=navigation.INDICATORS,
    ),
    NavItem(
        "workforce:research-indicator",
        _("Research activities"),
        Cap.VIEW_WORKFORCE,
        "calendar-check",
        _("District research activities, at least one a month."),
        order=41,
        group=navigation.INDICATORS,
    ),
    NavItem(
        "workforce:registry-list",
        _("Teams, competitions and studios"),
        Cap.VIEW_WORKFORCE,
        "people",
        _("Expert teams, skills competitions and name-teacher studios."),
        order=60,
        group=navigation.ADMIN,
    ),
    NavItem(
        "workforce:expert-list",
        _("Expert pool"),
        Cap.VIEW_WORKFORCE,
        "person-badge",
        _("The expert committee and the expert pool."),
        order=61,
        group=navigation.ADMIN,
    ),
]
