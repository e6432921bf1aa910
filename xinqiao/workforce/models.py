"""Workforce records: training (R13), research activities (R17), registries of expert teams,
skills competitions and name-teacher studios (R14), and the expert pool with committee terms.

Who holds what is kept over time: a registry member or committee member has start and end dates,
and ending sets the end date."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from xinqiao.orgs.models import OrgUnit
from xinqiao.people.models import Staff


class TrainingLevel(models.TextChoices):
    NATIONAL = "national", _("National")
    PROVINCIAL = "provincial", _("Provincial")
    CITY = "city", _("City")
    DISTRICT = "district", _("District")
    SCHOOL = "school", _("School")


class TrainingMode(models.TextChoices):
    ONLINE = "online", _("Online")
    OFFLINE = "offline", _("Offline")


class TrainingRecord(models.Model):
    """One course a staff member attended. Natural key: staff + course + start date."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    staff = models.ForeignKey(
        Staff,
        on_delete=models.CASCADE,
        related_name="training_records",
        verbose_name=_("staff member"),
    )
    course = models.CharField(_("course"), max_length=200)
    provider = models.CharField(_("provider"), max_length=200, blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    hours = models.DecimalField(_("hours"), max_digits=6, decimal_places=1)
    level = models.CharField(_("level"), max_length=16, choices=TrainingLevel.choices)
    mode = models.CharField(_("mode"), max_length=8, choices=TrainingMode.choices)
    certificate_name = models.CharField(max_length=200, blank=True)
    certificate_type = models.CharField(max_length=40, blank=True)
    certificate_storage = models.CharField(max_length=80, blank=True)
    certificate_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("training record")
        verbose_name_plural = _("training records")
        ordering = ["-start_date", "course"]
        constraints = [
            models.UniqueConstraint(
                fields=["staff", "course", "start_date"], name="training_natural_key"
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")), name="training_end_after_start"
            ),
            models.CheckConstraint(condition=Q(hours__gt=0), name="training_hours_positive"),
        ]
        indexes = [models.Index(fields=["start_date"], name="training_start_idx")]

    def __str__(self) -> str:
        return f"{self.staff} — {self.course}"


class ResearchActivity(models.Model):
    """A district research activity (教研活动)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    district = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("district")
    )
    date = models.DateField(_("date"))
    theme = models.CharField(_("theme"), max_length=200)
    organiser = models.CharField(_("organiser"), max_length=100, blank=True)
    participants = models.ManyToManyField(
        Staff, related_name="research_activities", blank=True, verbose_name=_("participants")
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("research activity")
        verbose_name_plural = _("research activities")
        ordering = ["-date", "theme"]
        indexes = [models.Index(fields=["district", "date"], name="research_district_date_idx")]

    def __str__(self) -> str:
        return f"{self.date} {self.theme}"


class RegistryKind(models.TextChoices):
    EXPERT_TEAM = "expert_team", _("Expert team")
    COMPETITION = "competition", _("Skills competition")
    STUDIO = "studio", _("Name-teacher studio")


class Registry(models.Model):
    """An expert team, a skills competition or a name-teacher studio (名师工作室) of a unit."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=RegistryKind.choices)
    owner = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)

    class Meta:
        verbose_name = _("workforce registry entry")
        verbose_name_plural = _("workforce registries")
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="registry_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.name


class RegistryMember(models.Model):
    """A staff member in a team, competition or studio from one date to another."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="members")
    staff = models.ForeignKey(
        Staff, on_delete=models.PROTECT, related_name="+", verbose_name=_("staff member")
    )
    role = models.CharField(_("role"), max_length=60, blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)

    class Meta:
        ordering = ["end_date", "start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["registry", "staff"],
                condition=Q(end_date__isnull=True),
                name="registry_member_once_open",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="registry_member_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.staff} @ {self.registry}"


class RegistryEvent(models.Model):
    """Something a team, competition or studio did (a meeting, a round, a public lesson)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    registry = models.ForeignKey(Registry, on_delete=models.CASCADE, related_name="events")
    date = models.DateField(_("date"))
    title = models.CharField(_("title"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["-date"]

    def __str__(self) -> str:
        return self.title


class Availability(models.TextChoices):
    AVAILABLE = "available", _("Available")
    LIMITED = "limited", _("Limited")
    UNAVAILABLE = "unavailable", _("Unavailable")


class Expert(models.Model):
    """A member of the expert pool (专家库) of a city or district."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    name = models.CharField(_("name"), max_length=60)
    affiliation = models.CharField(_("unit / affiliation"), max_length=200, blank=True)
    expertise = models.CharField(_("expertise"), max_length=300, blank=True)
    availability = models.CharField(
        _("availability"),
        max_length=16,
        choices=Availability.choices,
        default=Availability.AVAILABLE,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user account"),
    )
    is_active = models.BooleanField(_("in the pool"), default=True)

    class Meta:
        verbose_name = _("expert")
        verbose_name_plural = _("experts")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CommitteeRole(models.TextChoices):
    CHAIR = "chair", _("Chair")
    VICE_CHAIR = "vice_chair", _("Vice chair")
    MEMBER = "member", pgettext_lazy("expert committee role", "Member")


class CommitteeTerm(models.Model):
    """An expert's seat on the expert committee (专家委员会) of the pool's unit, with dates."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="committee_terms")
    role = models.CharField(_("role"), max_length=16, choices=CommitteeRole.choices)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)

    class Meta:
        ordering = ["end_date", "-start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["expert"], condition=Q(end_date__isnull=True), name="committee_once_open"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="committee_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.expert} ({self.get_role_display()})"


class ExpertInvitation(models.Model):
    """A one-time, expiring invitation with which a pool expert sets up their own account with
    the `expert` role (the staff invitation's mechanism, access/staffing.py: only the SHA-256 of
    the code is stored; the code is shown once; accepted at account:invitation)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("expert invitation")
        verbose_name_plural = _("expert invitations")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.expert} ({self.created_at:%Y-%m-%d})"
