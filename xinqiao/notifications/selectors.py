"""Reads of the notifications app: a user's own messages only (no one reads another's inbox)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from .models import InboxMessage, Notification


def inbox(*, user: Any) -> QuerySet[InboxMessage]:
    return InboxMessage.objects.filter(recipient=user).order_by("-created_at", "-id")


def unread_count(*, user: Any) -> int:
    return InboxMessage.objects.filter(recipient=user, read_at__isnull=True).count()


def get_message(*, user: Any, code: Any) -> InboxMessage:
    """One of the user's messages; 404 for anyone else's (it is not theirs to know of)."""
    return get_object_or_404(InboxMessage, recipient=user, code=code)


def unread_of_kind(*, user: Any, kind: str, limit: int = 20) -> list[Notification]:
    """The user's notifications of `kind` not read yet, newest first, whether or not the
    dispatcher has moved them to the inbox (a page can show them before it runs)."""
    return list(
        Notification.objects.filter(recipient=user, kind=kind)
        .filter(Q(inbox__isnull=True) | Q(inbox__read_at__isnull=True))
        .order_by("-created_at", "-id")[:limit]
    )


def oldest_undelivered() -> datetime.datetime | None:
    """When the oldest notification still to deliver was written (operators' health figure)."""
    return (
        Notification.objects.filter(dispatched_at__isnull=True)
        .order_by("id")
        .values_list("created_at", flat=True)
        .first()
    )
