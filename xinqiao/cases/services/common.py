"""Helpers every case service uses: locking, the follow-up schedule, notifications, and the
client keys that make creates from forms retry-safe."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext as _

from xinqiao.core.errors import DomainError
from xinqiao.notifications import services as notifications

from .. import policy
from ..models import Case, ReferralStatus

M = TypeVar("M", bound=models.Model)


def clean_client_key(key: str) -> str:
    """The form's hidden retry key: present and at most 64 characters, or the form is stale."""
    key = (key or "").strip()
    if not key or len(key) > 64:
        raise DomainError(_("The form has expired. Please reload the page and try again."))
    return key


def existing_row(model: type[M], client_key: str, **owner: Any) -> M | None:
    """The row an earlier submit of the same form made (a double submit), or None. `owner` names
    the fields the row must match (its case, school or incident): a key of someone else's row is
    refused like a stale form, never returned. Call it after the lock that serialises the create
    (a concurrent repeat then finds the first row)."""
    row = model._default_manager.filter(client_key=client_key).first()
    if row is not None and any(getattr(row, field) != value for field, value in owner.items()):
        raise DomainError(_("The form has expired. Please reload the page and try again."))
    return row


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
        interval = policy.follow_up_interval(
            case.level,
            referral_done=referral_done(case),
            family_flagged=policy.family_flagged(case.student),
        )
        case.next_follow_up_due = after + interval
    case.save(update_fields=["next_follow_up_due", "updated_at"])


def case_url(case: Case) -> str:
    return reverse("cases:case-detail", kwargs={"code": case.code})


def notify_case(*, case: Case, recipients: Iterable[Any], kind: str, subject: str) -> int:
    """In-app (and email) notification about the case, linking to its page. Subjects never carry
    clinical detail: a level word and the student's class at most."""
    return notifications.notify(
        recipients=recipients, kind=kind, subject=subject, ref=case, url=case_url(case)
    )
