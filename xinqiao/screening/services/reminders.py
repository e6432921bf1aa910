"""Progress reminders: head teachers of classes behind schedule hear of it once a day."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access.roles import Role

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
    """In-app reminder (and an email where configured) to head teachers of classes behind."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.db.models import Count
    from django.urls import reverse

    from xinqiao.access.models import RoleAssignment

    from ..models import Notification

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
                campaign=campaign, school_class_id__in=behind, created_at__gte=day_start
            ).values_list("recipient_id", "school_class_id")
        )
        heads = (
            RoleAssignment.objects.active()
            .filter(role=Role.HEAD_TEACHER, org_unit_id__in=behind)
            .select_related("user", "org_unit")
        )
        url = reverse("screening:my-classes")
        new = []
        for head in heads:
            if (head.user_id, head.org_unit_id) in already:
                continue
            message = _(
                "%(class)s is behind schedule in “%(campaign)s”: please arrange a sitting."
            ) % {
                "class": head.org_unit.name,
                "campaign": campaign.name,
            }
            new.append(
                Notification(
                    recipient=head.user,
                    campaign=campaign,
                    school_class=head.org_unit,
                    message=message[:300],
                    url=url,
                    created_at=now,
                )
            )
            if head.user.email and getattr(settings, "XINQIAO_SEND_REMINDER_EMAIL", True):
                send_mail(
                    _("Screening reminder"), message, None, [head.user.email], fail_silently=True
                )
        Notification.objects.bulk_create(new)
        sent += len(new)
    return sent
