"""Writes of the notifications app: queue (the outbox), dispatch, deliver, mark read.

`notify` writes one `Notification` per recipient in the caller's transaction: a crash after
commit loses nothing, and the dispatcher (tasks.dispatch_outbox, asked for on commit and run on a
schedule) delivers them later, at least once; the inbox shows each once (InboxMessage.notification
is unique).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.core.errors import DomainError
from xinqiao.core.queue import kick_soon
from xinqiao.core.types import User

from . import backends, message_templates
from .models import InboxMessage, Notification

log = logging.getLogger(__name__)

# An email (or another channel) that keeps failing is given up after this many delivery attempts
# (the inbox message was delivered on the first one; the failure is logged each time).
EMAIL_MAX_ATTEMPTS = 5


def outbox_rows(
    *,
    recipients: Iterable[Any],
    kind: str,
    subject: str = "",
    params: dict[str, Any] | None = None,
    body: str = "",
    url: str = "",
    ref: Any = None,
    now: datetime.datetime,
) -> list[Notification]:
    """One unsaved row per recipient (each once). Without `subject`, the kind's template renders
    it from `params` in the active language."""
    if not subject:
        subject = message_templates.render(kind, "subject", params)
    ref_type = ContentType.objects.get_for_model(ref) if ref is not None else None
    return [
        Notification(
            recipient=user,
            kind=kind,
            ref_type=ref_type,
            ref_id=ref.pk if ref is not None else None,
            subject=subject[:200],
            body=body,
            url=url,
            created_at=now,
        )
        for user in {u.pk: u for u in recipients if u is not None}.values()
    ]


def queue(rows: list[Notification]) -> int:
    """Write rows in the current transaction; the dispatcher runs soon after it commits."""
    Notification.objects.bulk_create(rows)
    if rows:
        transaction.on_commit(kick_dispatcher)
    return len(rows)


def notify(
    *,
    recipients: Iterable[Any],
    kind: str,
    subject: str = "",
    params: dict[str, Any] | None = None,
    body: str = "",
    url: str = "",
    ref: Any = None,
) -> int:
    """Queue one message per recipient in the current transaction (the outbox); the number
    queued. `ref`: the object the message is about (any model instance), for finding it again."""
    return queue(
        outbox_rows(
            recipients=recipients,
            kind=kind,
            subject=subject,
            params=params,
            body=body,
            url=url,
            ref=ref,
            now=timezone.now(),
        )
    )


def kick_dispatcher() -> None:
    from .tasks import dispatch_outbox

    kick_soon(dispatch_outbox)


def _to_send(row: Notification) -> list[backends.Backend]:
    return [channel for channel in backends.channels() if channel.wants(row)]


def deliver(row: Notification, *, now: datetime.datetime) -> bool:
    """Move one row to the recipient's inbox (once) and through the other channels (at least
    once); True when this call finished the row.

    One transaction holds the row's lock for the whole delivery, taken with SKIP LOCKED (on
    PostgreSQL): a row another dispatcher is delivering is left to it, so two dispatchers never
    both deliver it. The inbox message is unique per row (get_or_create), so a dispatcher killed
    before it marked the row has its work rolled back or redone — never shown twice. A channel
    that fails does not hold back the inbox message: the row stays pending for another attempt,
    up to EMAIL_MAX_ATTEMPTS."""
    with transaction.atomic():
        locked = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=row.pk, dispatched_at__isnull=True)
            .select_related("recipient")
            .first()
        )
        if locked is None:
            return False  # already delivered, or being delivered by another dispatcher
        locked.attempts += 1
        backends.inbox.deliver(locked)
        fields = ["attempts"]
        failed = False
        for channel in _to_send(locked):
            try:
                channel.send(locked)
            except Exception:
                log.exception(
                    "notifications: %s for row %s failed (attempt %s)",
                    channel.name,
                    locked.pk,
                    locked.attempts,
                )
                failed = True
            else:
                fields += channel.mark_sent(locked, now)
        if failed and locked.attempts < EMAIL_MAX_ATTEMPTS:
            locked.save(update_fields=fields)
            return False  # the inbox message is delivered; the failed channel is retried
        locked.dispatched_at = now
        locked.save(update_fields=[*fields, "dispatched_at"])
    return True


def dispatch_outbox(*, limit: int = 500, now: datetime.datetime | None = None) -> int:
    """Deliver pending rows; the number finished. Safe to run concurrently and repeatedly
    (idempotent).

    One transaction moves a whole batch to the inbox: the rows are locked with SKIP LOCKED (rows
    another dispatcher holds are left to it), their inbox messages written by one INSERT that
    skips any already there, and the rows with nothing else to send marked done by one UPDATE.
    Rows with a channel to go through (email) then go through `deliver` one by one (sent at least
    once, and retried; their inbox message is already there)."""
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(dispatched_at__isnull=True)
            .select_related("recipient")
            .order_by("id")[:limit]
        )
        backends.inbox.deliver_many(rows)
        loud = {row.pk for row in rows if _to_send(row)}
        quiet = [row.pk for row in rows if row.pk not in loud]
        Notification.objects.filter(pk__in=quiet).update(
            attempts=F("attempts") + 1, dispatched_at=now
        )
    done = len(quiet)
    for row in rows:
        if row.pk not in loud:
            continue
        try:
            done += deliver(row, now=now)
        except Exception:  # one bad address must not block the rest; retried next run
            log.exception("notifications: delivering row %s failed", row.pk)
    return done


@transaction.atomic
def mark_read(message: InboxMessage, *, actor: User) -> None:
    if message.recipient_id != actor.pk:
        raise DomainError(_("This message is not yours."))
    if message.read_at is None:
        message.read_at = timezone.now()
        message.save(update_fields=["read_at"])
