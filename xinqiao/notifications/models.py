"""One store for every notification: the transactional outbox and the in-app inbox.

A feature app writes `Notification` rows in the transaction of the change that caused them
(services.notify); a dispatcher that may run more than once moves each row to the recipient's
`InboxMessage` (exactly one per row: at-least-once delivery, shown once) and through the other
channels (email, later SMS or WeChat: backends.py). A row names what it is about by a generic
reference (`ref`), so that this app depends on no feature app.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class NotificationQuerySet(models.QuerySet["Notification"]):
    def about(self, obj: Any) -> NotificationQuerySet:
        """The rows whose reference is `obj` (an alert, a case, a class…)."""
        return self.filter(ref_type=ContentType.objects.get_for_model(obj), ref_id=obj.pk)


class Notification(models.Model):
    """A notification to deliver (an outbox row), written in the transaction of its cause."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=40)
    ref_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    ref_id = models.PositiveBigIntegerField(null=True, blank=True)
    ref = GenericForeignKey("ref_type", "ref_id")
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"], condition=Q(dispatched_at__isnull=True), name="notification_pending"
            ),
            models.Index(fields=["ref_type", "ref_id"], name="notification_ref"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"


class InboxMessage(models.Model):
    """What a user sees in the in-app inbox; one per notification however often it is
    dispatched (the one-to-one makes a second delivery of the same row a no-op)."""

    notification = models.OneToOneField(
        Notification, on_delete=models.CASCADE, related_name="inbox"
    )
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox_messages"
    )
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("inbox message")
        verbose_name_plural = _("inbox messages")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="inbox_message_unread")]

    def __str__(self) -> str:
        return self.subject
