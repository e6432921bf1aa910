"""Delivery channels. The inbox always receives a notification (in the dispatcher's batch
transaction); every backend in settings.NOTIFICATION_BACKENDS is another channel tried after it,
row by row, at least once and retried on failure (services.deliver).

A new channel (SMS, WeChat) is one more class here or anywhere importable, named in the setting:
`wants` says whether the row still needs it, `send` delivers or raises, `mark_sent` records the
success on the row and returns the fields it changed (a channel keeps its own timestamp column,
like `emailed_at`, so that a retried row is not sent twice through a channel that succeeded).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

from . import message_templates

if TYPE_CHECKING:
    from .models import InboxMessage, Notification


class Backend:
    name = ""

    def wants(self, row: Notification) -> bool:
        raise NotImplementedError

    def send(self, row: Notification) -> None:
        raise NotImplementedError

    def mark_sent(self, row: Notification, now: datetime.datetime) -> list[str]:
        raise NotImplementedError


class InboxBackend:
    """The in-app inbox: one message per row (a second delivery of the row changes nothing)."""

    name = "inbox"

    @staticmethod
    def _message(row: Notification) -> InboxMessage:
        from .models import InboxMessage

        return InboxMessage(
            notification=row,
            recipient_id=row.recipient_id,
            subject=row.subject,
            body=row.body,
            url=row.url,
            created_at=row.created_at,
        )

    def deliver_many(self, rows: Sequence[Notification]) -> None:
        """One INSERT for a batch; a row delivered before (its email failed) is skipped."""
        from .models import InboxMessage

        InboxMessage.objects.bulk_create(
            [self._message(row) for row in rows], ignore_conflicts=True
        )

    def deliver(self, row: Notification) -> None:
        from .models import InboxMessage

        message = self._message(row)
        InboxMessage.objects.get_or_create(
            notification=row,
            defaults={
                "recipient_id": message.recipient_id,
                "subject": message.subject,
                "body": message.body,
                "url": message.url,
                "created_at": message.created_at,
            },
        )


def message_id(row: Notification) -> str:
    """The same Message-ID for every send of one row: a retried email (at least once) is one
    message to mail servers and clients that drop duplicates by id."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "localhost"
    return f"<notification-{row.pk}@{domain}>"


class EmailBackend(Backend):
    """Email to users with an address, in the dispatcher's language. It carries no student data:
    the texts come from the kind's template (message_templates), not from the row's subject.
    SMTP has no exactly-once: a dispatcher killed between the send and its commit sends again,
    with the same Message-ID (`message_id`)."""

    name = "email"

    def wants(self, row: Notification) -> bool:
        return bool(row.recipient.email) and row.emailed_at is None

    def send(self, row: Notification) -> None:
        params = {"subject": row.subject}
        EmailMessage(
            subject=message_templates.render(row.kind, "email_subject", params),
            body=message_templates.render(row.kind, "email_body", params),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[row.recipient.email],
            headers={"Message-ID": message_id(row)},
        ).send(fail_silently=False)

    def mark_sent(self, row: Notification, now: datetime.datetime) -> list[str]:
        row.emailed_at = now
        return ["emailed_at"]


inbox = InboxBackend()


@cache
def channels() -> tuple[Backend, ...]:
    """The configured channels besides the inbox, one instance each (cleared by tests that
    change the setting)."""
    return tuple(import_string(path)() for path in settings.NOTIFICATION_BACKENDS)
