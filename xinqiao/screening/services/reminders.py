"""Progress reminders: head teachers of classes behind schedule hear of it once a day."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from xinqiao.access.roles import Role
from xinqiao.orgs.models import OrgUnit

from ..models import Assignment, AssignmentStatus, Campaign, CampaignStatus


def behind_schedule(*, completed: int, due: int, opens_at: Any, closes_at: Any, now: Any) -> bool:
    """A class is behind when its completion trails the share of the window already gone by
    more than 20 points (and the campaign is at least a quarter of the way through)."""
    if due <= 0:
        return False
    window = (closes_at - opens_at).total_seconds()
    elapsed = min(max((now - opens_at).total_seconds() / window, 0.0), 1.0) if window > 0 else 1.0
    return elapsed >= 0.25 and completed / due < elapsed - 0.2


@transaction.atomic
def send_progress_reminders(*, now: Any = None) -> int:
    """In-app reminder (and an email, by the notification channels) to head teachers of classes
    behind, once a day per class and campaign. The message is about the class (its reference)
    and names the campaign, so one sent today for the same class and text is not sent again."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Count
    from django.urls import reverse

    from xinqiao.access.models import RoleAssignment
    from xinqiao.notifications import services as notifications
    from xinqiao.notifications.models import Notification

    from ..models import REMINDER_KIND

    now = now or timezone.now()
    sent = 0
    for campaign in Campaign.objects.filter(status=CampaignStatus.OPEN, opens_at__lte=now):
        rows = (
            Assignment.objects.filter(campaign=campaign, resit_of__isnull=True)
            .exclude(school_class=None)
            .exclude(status__in=[AssignmentStatus.SUSPENDED, AssignmentStatus.NO_CONSENT])
            .values("school_class")
            .annotate(
                due=Count("id"),
                done=Count(
                    "id",
                    filter=Q(status__in=[AssignmentStatus.COMPLETED, AssignmentStatus.INVALID]),
                ),
            )
        )
        behind = [
            r["school_class"]
            for r in rows
            if behind_schedule(
                completed=r["done"],
                due=r["due"],
                opens_at=campaign.opens_at,
                closes_at=campaign.closes_at,
                now=now,
            )
        ]
        if not behind:
            continue
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        already = set(
            Notification.objects.filter(
                kind=REMINDER_KIND,
                ref_type=ContentType.objects.get_for_model(OrgUnit),
                ref_id__in=behind,
                created_at__gte=day_start,
            ).values_list("recipient_id", "ref_id", "subject")
        )
        heads = (
            RoleAssignment.objects.active()
            .filter(role=Role.HEAD_TEACHER, org_unit_id__in=behind)
            .select_related("user", "org_unit")
        )
        url = reverse("screening:my-classes")
        new = []
        for head in heads:
            notes = notifications.outbox_rows(
                recipients=[head.user],
                kind=REMINDER_KIND,
                params={"class": head.org_unit.name, "campaign": campaign.name},
                url=url,
                ref=head.org_unit,
                now=now,
            )
            new += [n for n in notes if (n.recipient_id, n.ref_id, n.subject) not in already]
        sent += notifications.queue(new)
    return sent
