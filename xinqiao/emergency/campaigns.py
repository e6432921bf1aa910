"""The plan and team a major-event campaign runs under, as notes on the campaign's page
(screening's `register_campaign_notes` seam): the current arrangement's plan and team, when the
user sees them, and a link to set them for those who run the campaign."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from xinqiao.access.roles import Cap
from xinqiao.screening import services as screening_services

from . import selectors, services


def campaign_notes(*, campaign: Any, principal: Any) -> list[dict[str, Any]]:
    if campaign.kind not in services.MAJOR_EVENT_KINDS:
        return []
    notes: list[dict[str, Any]] = []
    current = selectors.arrangement_of(campaign=campaign)
    sees = principal.can(Cap.VIEW_EMERGENCY)
    if current is not None and current.plan is not None:
        url = reverse("emergency:plan-detail", args=[current.plan.code]) if sees else ""
        notes.append({"label": _("Emergency plan"), "value": current.plan.title, "url": url})
    if current is not None and current.team is not None:
        url = reverse("emergency:team-detail", args=[current.team.code]) if sees else ""
        notes.append(
            {"label": _("Crisis-intervention team"), "value": current.team.name, "url": url}
        )
    if principal.user is not None and screening_services.can_manage(
        principal.user, campaign.owner_unit
    ):
        notes.append(
            {
                "label": _("Plan and team"),
                "value": _("Change") if current is not None else _("Record"),
                "url": reverse("emergency:campaign-arrange", args=[campaign.code]),
            }
        )
    return notes
