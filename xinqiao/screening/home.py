"""The home panel of screening: completion of the open campaigns in the user's area."""

from __future__ import annotations

import datetime
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from xinqiao.access.roles import Cap
from xinqiao.core.home import HomeCount, HomePanel, HomeRow

from . import selectors


def campaigns_panel(principal: Any, now: datetime.datetime) -> HomePanel | None:
    """Open campaigns, soonest to close first: how many of the students due have handed in.
    Figures only (no student is named)."""
    rows = selectors.open_campaign_completion(principal, cap=Cap.VIEW_SCREENING_PROGRESS)
    return HomePanel(
        title=_("Open screening campaigns"),
        url=reverse("screening:campaign-list"),
        counts=[HomeCount(_("Open campaigns"), len(rows), key="open")],
        rows=[
            HomeRow(
                label=campaign.name,
                url=reverse("screening:campaign-progress", kwargs={"code": campaign.code}),
                due=campaign.closes_at,
                note=_("%(completed)s of %(due)s handed in (%(percent)s%%)")
                % {
                    "completed": row.completed,
                    "due": row.assigned - row.no_consent,
                    "percent": row.percent,
                },
            )
            for campaign, row in rows
        ],
        empty=_("No campaign is open."),
    )
