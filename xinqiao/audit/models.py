"""Append-only, keyed hash-chained audit log.

Each event's hash covers its own content and the previous event's hash, so altering or deleting any
event breaks the chain from that point (`manage.py verify_audit` finds the first break). Since
scheme 2 the hash is an HMAC under a key that is not in the database (xinqiao/audit/keys.py), so
recomputing the hashes after an edit is detected too; `KeyedChainStart` records, under the same
key, where the keyed events begin. On PostgreSQL a trigger also refuses UPDATE and DELETE.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    pass


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    """Bulk updates and deletes would bypass the model's refusal (SQLite has no trigger)."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit events cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events cannot be deleted")


class Scheme(models.IntegerChoices):
    SHA256 = 1, "SHA-256"  # events written before the keyed chain (verifiable, not keyed)
    HMAC_SHA256 = 2, "HMAC-SHA256"


class AuditEvent(models.Model):
    seq = models.BigIntegerField(_("sequence"), unique=True, editable=False)
    at = models.DateTimeField(_("time"), db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
        editable=False,
    )
    actor_username = models.CharField(_("user"), max_length=150, blank=True, editable=False)
    actor_role = models.CharField(_("role"), max_length=32, blank=True, editable=False)
    action = models.CharField(_("action"), max_length=80, db_index=True, editable=False)
    object_type = models.CharField(_("object type"), max_length=60, blank=True, editable=False)
    object_id = models.CharField(_("object"), max_length=64, blank=True, editable=False)
    school_id = models.BigIntegerField(null=True, blank=True, editable=False)
    fields = models.JSONField(_("fields"), default=dict, editable=False)
    result = models.CharField(_("result"), max_length=16, default="ok", editable=False)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)
    # How `hash` is computed; every event from KeyedChainStart.first_seq on must be HMAC_SHA256.
    scheme = models.PositiveSmallIntegerField(
        choices=Scheme.choices, default=Scheme.HMAC_SHA256, editable=False
    )

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["actor", "at"], name="audit_actor_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("audit events cannot be deleted")


class KeyedChainStart(models.Model):
    """Where the keyed (HMAC) chain begins: one row, written once, itself under the chain key.

    Events before `first_seq` are SHA-256 events of the old scheme; the event at `first_seq` must
    link to `prev_hash` (which pins the old events as they were at the cut-over) and every event
    from it on must be keyed. Without this row a forger could rewrite the newest events as
    "old-scheme" events with plain SHA-256; its `mac` cannot be made without the key."""

    first_seq = models.BigIntegerField(unique=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    at = models.DateTimeField(editable=False)
    mac = models.CharField(max_length=64, editable=False)

    class Meta:
        verbose_name = _("keyed chain start")
        verbose_name_plural = _("keyed chain starts")

    def __str__(self) -> str:
        return f"keyed from #{self.first_seq}"


class DeniedRequestTally(models.Model):
    """Denied requests (403/404) per subject (a user, or a client address) and minute: the first
    AUDIT_DENIED_PER_MINUTE become events, the rest one summary event when the minute is over.
    A counter, not part of the chain; rows are deleted once summarised."""

    subject = models.CharField(max_length=80, editable=False)
    minute = models.DateTimeField(editable=False)
    count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "minute"], name="audit_denied_subject_minute"
            )
        ]
        indexes = [models.Index(fields=["minute"], name="audit_denied_minute")]

    def __str__(self) -> str:
        return f"{self.subject} {self.minute:%H:%M} ×{self.count}"
