"""Helpers every case service uses: locking, the follow-up schedule, notifications."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.urls import reverse

from xinqiao.alerts import services as alert_services

from .. import policy
from ..models import Case, ReferralStatus


def lock_case(case: Case) -> Case:
    """Re-read the case under a row lock (call inside a transaction)."""
    return Case.objects.select_for_update().select_related("student", "school").get(pk=case.pk)


def referral_done(case: Case) -> bool:
    return case.referrals.filter(status=ReferralStatus.FEEDBACK).exists()


def reschedule_follow_up(case: Case, *, after: datetime.datetime) -> None:
    """Set when the next follow-up is due, from `after` (the last follow-up or a level change),
    by the case's level. Saves only that field."""
    if not case.is_open:
        case.next_follow_up_due = None
    else:
        interval = policy.follow_up_interval(case.level, referral_done=referral_done(case))
        case.next_follow_up_due = after + interval
    case.save(update_fields=["next_follow_up_due", "updated_at"])


def case_url(case: Case) -> str:
    return reverse("cases:case-detail", kwargs={"code": case.code})


def notify_case(*, case: Case, recipients: Iterable[Any], kind: str, subject: str) -> int:
    """In-app (and email) notification linking to the case page, through the alerts outbox.
    Subjects never carry clinical detail: a level word and the student's class at most."""
    return alert_services.notify(
        recipients=recipients, kind=kind, subject=subject, alert=None, url=case_url(case)
    )
