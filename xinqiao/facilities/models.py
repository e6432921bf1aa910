"""Counselling rooms of schools, stations and the city centre (R21): where, how big, which
functional rooms, equipment, opening hours; the checklist against the national guide and the city
standard, each item yes/no with an evidence photo; the status 未达标 / 达标 / 示范 with the date of
the last evaluation. The evaluation workflow itself (self-assessment, district review, city
approval, every two years) is a later issue: `StatusChange` keeps the facts it needs.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from xinqiao.orgs.models import OrgUnit


class RoomStatus(models.TextChoices):
    BELOW = "below", _("Below standard")
    COMPLIANT = "compliant", _("Compliant")
    MODEL = "model", _("Model")


class Function(models.TextChoices):
    """Functional rooms as the national guide names them (basic, then where conditions allow)."""

    INDIVIDUAL = "individual", _("Individual counselling room")
    GROUP = "group", _("Group counselling / activity room")
    RECEPTION = "reception", _("Office and reception area")
    ASSESSMENT = "assessment", _("Assessment room")
    RELAXATION = "relaxation", _("Relaxation / catharsis room")
    SAND_TRAY = "sand_tray", _("Sand-tray room")
    OTHER = "other", _("Other room")


class CounsellingRoom(models.Model):
    """The counselling room (心理辅导室, or a station's rooms) of one unit."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.OneToOneField(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    location = models.CharField(_("location"), max_length=200)
    area_m2 = models.DecimalField(
        _("total area (m²)"),
        max_digits=7,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    equipment = models.TextField(_("equipment"), blank=True)
    opening_hours = models.CharField(_("opening hours"), max_length=200, blank=True)
    # The current status, as the last StatusChange set it (denormalised for the lists' counts).
    status = models.CharField(
        _("status"), max_length=16, choices=RoomStatus.choices, default=RoomStatus.BELOW
    )
    evaluated_on = models.DateField(_("last evaluated"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["status"], name="facilities_room_status")]

    def __str__(self) -> str:
        return f"{self.unit.name}: {self.location}"

    @property
    def equipment_lines(self) -> list[str]:
        return [line.strip() for line in self.equipment.splitlines() if line.strip()]


class RoomArea(models.Model):
    """One functional room of a counselling room: how many, and their area."""

    room = models.ForeignKey(CounsellingRoom, on_delete=models.CASCADE, related_name="areas")
    function = models.CharField(_("function"), max_length=16, choices=Function.choices)
    count = models.PositiveSmallIntegerField(_("number of rooms"), default=1)
    area_m2 = models.DecimalField(
        _("area (m²)"),
        max_digits=7,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["room", "function"], name="facilities_area_function")
        ]

    def __str__(self) -> str:
        return self.get_function_display()


class ChecklistAnswer(models.Model):
    """One checklist item answered for a room: met or not, with an evidence photo."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    room = models.ForeignKey(CounsellingRoom, on_delete=models.CASCADE, related_name="answers")
    item = models.CharField(max_length=40)  # a key of checklist.ITEMS
    met = models.BooleanField(_("met"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    photo_name = models.CharField(max_length=200, blank=True)
    photo_type = models.CharField(max_length=40, blank=True)
    photo_size = models.PositiveIntegerField(default=0)
    photo_storage = models.CharField(max_length=80, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    answered_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "item"], name="facilities_answer_item")
        ]

    def __str__(self) -> str:
        return f"{self.item}: {self.met}"


class StatusChange(models.Model):
    """Each evaluation's result: the status and its date (never overwritten; the room keeps the
    latest)."""

    room = models.ForeignKey(CounsellingRoom, on_delete=models.CASCADE, related_name="evaluations")
    status = models.CharField(_("status"), max_length=16, choices=RoomStatus.choices)
    evaluated_on = models.DateField(_("evaluated on"))
    note = models.TextField(_("note"), blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    set_at = models.DateTimeField()

    class Meta:
        ordering = ["-evaluated_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.status} {self.evaluated_on}"
