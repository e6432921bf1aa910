from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """The last time a background runner (a Celery worker's sweeps, the embedded scheduler)
    finished a round: operators and the alert worklist read its age (xinqiao.core.health)."""

    name = models.CharField(_("runner"), max_length=200, unique=True)
    at = models.DateTimeField(_("last round"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return self.name


class CryptoState(models.Model):
    """Which hash key and suite made the stored keyed hashes (one row); `rotate_keys` recomputes
    them when today's differ (core/rotation.py)."""

    hash_fingerprint = models.CharField(max_length=40)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.hash_fingerprint
