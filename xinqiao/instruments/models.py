"""Stored instrument versions: custom definitions and licensed texts imported by a deployer.

Requirements R3 and R22.

Library definitions live as data files (xinqiao/instruments/library/); a row here exists only for a
custom instrument or for a library instrument whose licensed item texts were imported. Versions are
never edited in place: old versions stay so old responses keep the definition they were scored with.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    LIBRARY = "library", _("Library")
    CUSTOM = "custom", _("Custom")


class Status(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    RETIRED = "retired", _("Retired")


class InstrumentVersionQuerySet(models.QuerySet["InstrumentVersion"]):
    def approved(self) -> InstrumentVersionQuerySet:
        return self.filter(status=Status.APPROVED)


class InstrumentVersion(models.Model):
    code = models.CharField(_("instrument code"), max_length=40)
    version = models.CharField(_("version"), max_length=40)
    definition = models.JSONField(_("definition"))
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InstrumentVersionQuerySet.as_manager()

    class Meta:
        ordering = ["code", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "version"], name="instrument_code_version_unique"
            )
        ]
        verbose_name = _("instrument version")
        verbose_name_plural = _("instrument versions")

    def __str__(self) -> str:
        return f"{self.code} {self.version}"
