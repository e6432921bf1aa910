"""Notifications about alerts: the store, the dispatcher and the inbox live in
xinqiao.notifications (rows written in the transaction of the change they announce, delivered at
least once, shown once); these wrappers make an alert the message's reference and its link."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils import timezone

from xinqiao.notifications import services as notifications
from xinqiao.notifications.models import Notification

from ..models import Alert


def _outbox_rows(
    *,
    recipients: Iterable[Any],
    kind: str,
    subject: str,
    body: str = "",
    alert: Alert | None,
    url: str = "",
    now: datetime.datetime,
) -> list[Notification]:
    """One unsaved message per recipient (each once). The link goes to `url`, else to the alert."""
    if not url and alert is not None:
        url = reverse("alerts:alert-detail", kwargs={"code": alert.code})
    return notifications.outbox_rows(
        recipients=recipients, kind=kind, subject=subject, body=body, url=url, ref=alert, now=now
    )


_queue = notifications.queue


def notify(
    *,
    recipients: Iterable[Any],
    kind: str,
    subject: str,
    body: str = "",
    alert: Alert | None,
    url: str = "",
) -> int:
    """Queue one message per recipient in the current transaction (the outbox). The link goes
    to `url`, else to the alert."""
    return _queue(
        _outbox_rows(
            recipients=recipients,
            kind=kind,
            subject=subject,
            body=body,
            alert=alert,
            url=url,
            now=timezone.now(),
        )
    )
