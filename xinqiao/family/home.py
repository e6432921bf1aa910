"""What the family app adds to the shell: its navigation entries (the 家校 group) and the
parent's home panels (their landing page after sign-in, core/home.py)."""

from __future__ import annotations

import datetime
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from xinqiao.access.roles import Cap
from xinqiao.core import navigation
from xinqiao.core.home import HomeCount, HomePanel, HomePanelSpec, HomeRow
from xinqiao.core.navigation import NavItem

from . import selectors

NAV_ITEMS = [
    NavItem(
        "family:home",
        _("My children"),
        Cap.VIEW_OWN_CHILDREN,
        "people",
        _("Your child's school and class, and the screening consent the school asks of you."),
        order=10,
        group=navigation.FAMILY,
    ),
    NavItem(
        "family:messages",
        _("School messages"),
        Cap.VIEW_OWN_CHILDREN,
        "envelope",
        _("What the school has told you."),
        order=11,
        group=navigation.FAMILY,
        badge="inbox_unread",
    ),
    NavItem(
        "family:guidance",
        _("Guidance for parents"),
        Cap.VIEW_OWN_CHILDREN,
        "book",
        _("Signs to notice, how to listen, what to do in a crisis, and where to get help."),
        order=12,
        group=navigation.FAMILY,
    ),
]


def children_panel(principal: Any, now: datetime.datetime) -> HomePanel | None:
    """The parent's children and what needs them now: consent requests awaiting their answer
    and unread school messages (four queries whatever the number of children)."""
    overview = selectors.family_overview(principal=principal)
    rows = []
    for child in overview.children:
        student = child.student
        note = ""
        if child.awaiting:
            note = ngettext(
                "%(count)d consent request awaits your answer",
                "%(count)d consent requests await your answer",
                child.awaiting,
            ) % {"count": child.awaiting}
        rows.append(
            HomeRow(
                label=f"{student.name} · {selectors.school_and_class(student)}",
                url=reverse("family:child-detail", args=[student.code]),
                note=note,
            )
        )
    return HomePanel(
        title=_("My children"),
        url=reverse("family:home"),
        counts=[
            HomeCount(
                _("Consent requests awaiting my answer"),
                overview.awaiting,
                reverse("family:home"),
                alarm=True,
                key="consents",
            ),
            HomeCount(
                _("Unread school messages"),
                overview.unread,
                reverse("family:messages"),
                key="messages",
            ),
        ],
        rows=rows,
        empty=_("No child is linked to your account yet. Please contact the school."),
    )


def help_panel(principal: Any, now: datetime.datetime) -> HomePanel:
    """Guidance and the helplines, each a tappable number."""
    rows = [HomeRow(label=_("Guidance for parents"), url=reverse("family:guidance"))]
    rows += [
        HomeRow(label=f"{h.number} {h.label}", url=f"tel:{h.number}")
        for h in selectors.hotlines(principal)
    ]
    return HomePanel(title=_("Help and hotlines"), url=reverse("family:guidance"), rows=rows)


HOME_PANELS = [
    HomePanelSpec("family.children", Cap.VIEW_OWN_CHILDREN, children_panel, 5),
    HomePanelSpec("family.help", Cap.VIEW_OWN_CHILDREN, help_panel, 6),
]
