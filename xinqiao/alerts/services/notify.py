"""Notifications of the alerts app: rows in `Outbox`, written in the transaction of the change they
announce (a crash after commit loses nothing), delivered later by the dispatcher
(tasks.dispatch_outbox) at least once, and shown once in the inbox (InboxMessage.outbox is
unique)."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.core.errors import DomainError
from xinqiao.core.queue import kick_soon

from ..models import Alert, InboxMessage, Outbox

log = logging.getLogger(__name__)


def _outbox_rows(
    *,
    recipients: Iterable[Any],
    kind: str,
    subject: str,
    body: str = "",
    alert: Alert | None,
    url: str = "",
    now: datetime.datetime,
) -> list[Outbox]:
    """One unsaved message per recipient (each once). The link goes to `url`, else to the alert."""
    if not url and alert is not None:
        url = reverse("alerts:alert-detail", kwargs={"code": alert.code})
    return [
        Outbox(
            recipient=user,
            kind=kind,
            alert=alert,
            subject=subject[:200],
            body=body,
            url=url,
            created_at=now,
        )
        for user in {u.pk: u for u in recipients if u is not None}.values()
    ]


def _queue(rows: list[Outbox]) -> int:
    """Write outbox rows in the current transaction; the dispatcher runs soon after it commits."""
    Outbox.objects.bulk_create(rows)
    if rows:
        transaction.on_commit(_kick_dispatcher)
    return len(rows)


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


def _kick_dispatcher() -> None:
    from ..tasks import dispatch_outbox

    kick_soon(dispatch_outbox)


# An email that keeps failing is given up after this many delivery attempts (the inbox message
# was delivered on the first one; the failure is logged each time).
EMAIL_MAX_ATTEMPTS = 5


def deliver(outbox: Outbox, *, now: datetime.datetime) -> bool:
    """Move one outbox row to the recipient's inbox (once) and email them (at least once);
    True when this call finished the row.

    One transaction holds the row's lock for the whole delivery, taken with SKIP LOCKED (on
    PostgreSQL): a row another dispatcher is delivering is left to it, so two dispatchers never
    both deliver it. The inbox message is unique per outbox row (get_or_create), so a dispatcher
    killed before it marked the row has its work rolled back or redone — never shown twice. An
    email that fails does not hold back the inbox message: the row stays pending for another email
    attempt, up to EMAIL_MAX_ATTEMPTS."""
    with transaction.atomic():
        row = (
            Outbox.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=outbox.pk, dispatched_at__isnull=True)
            .select_related("recipient")
            .first()
        )
        if row is None:
            return False  # already delivered, or being delivered by another dispatcher
        row.attempts += 1
        InboxMessage.objects.get_or_create(
            outbox=row,
            defaults={
                "recipient_id": row.recipient_id,
                "subject": row.subject,
                "body": row.body,
                "url": row.url,
                "created_at": row.created_at,
            },
        )
        if row.recipient.email and row.emailed_at is None:
            try:
                # Email carries no student data: only that something waits in Xinqiao.
                send_mail(
                    subject=_("Xinqiao: an alert needs your attention"),
                    message=_("Please sign in to Xinqiao and open your inbox."),
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    recipient_list=[row.recipient.email],
                    fail_silently=False,
                )
            except Exception:
                log.exception(
                    "alerts: email for outbox row %s failed (attempt %s)", row.pk, row.attempts
                )
                if row.attempts < EMAIL_MAX_ATTEMPTS:
                    row.save(update_fields=["attempts"])
                    return False  # the inbox message is delivered; the email is retried
            else:
                row.emailed_at = now
        row.dispatched_at = now
        row.save(update_fields=["attempts", "dispatched_at", "emailed_at"])
    return True


def _to_email(row: Outbox) -> bool:
    return bool(row.recipient.email) and row.emailed_at is None


def dispatch_outbox(*, limit: int = 500, now: datetime.datetime | None = None) -> int:
    """Deliver pending outbox rows; the number finished. Safe to run concurrently and repeatedly
    (idempotent).

    One transaction moves a whole batch to the inbox: the rows are locked with SKIP LOCKED (rows
    another dispatcher holds are left to it), their inbox messages written by one INSERT that
    skips any already there, and the rows without an email to send marked done by one UPDATE.
    Rows whose recipient is emailed then go through `deliver` one by one (the email is sent at
    least once, and retried; their inbox message is already there)."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            Outbox.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(dispatched_at__isnull=True)
            .select_related("recipient")
            .order_by("id")[:limit]
        )
        InboxMessage.objects.bulk_create(
            [
                InboxMessage(
                    outbox=row,
                    recipient_id=row.recipient_id,
                    subject=row.subject,
                    body=row.body,
                    url=row.url,
                    created_at=row.created_at,
                )
                for row in rows
            ],
            ignore_conflicts=True,  # a row whose email failed has its message already
        )
        quiet = [row.pk for row in rows if not _to_email(row)]
        Outbox.objects.filter(pk__in=quiet).update(attempts=F("attempts") + 1, dispatched_at=now)
    done = len(quiet)
    for row in rows:
        if not _to_email(row):
            continue
        try:
            done += deliver(row, now=now)
        except Exception:  # one bad address must not block the rest; retried next run
            log.exception("alerts: delivering outbox row %s failed", row.pk)
    return done


@transaction.atomic
def mark_read(message: InboxMessage, *, actor: Any) -> None:
    if message.recipient_id != actor.pk:
        raise DomainError(_("This message is not yours."))
    if message.read_at is None:
        message.read_at = timezone.now()
        message.save(update_fields=["read_at"])
