"""Crisis-intervention teams, emergency plans with their versions, drills, the plan and team a
major-event campaign runs under, and the helpline directory (R9, R11, R20).

History is never overwritten: a member's service has start and end dates, a plan's new version is
a new row beside the old ones, a campaign's arrangement is a new row (the latest one holds), and a
helpline taken out of service is made inactive, not deleted.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from xinqiao.core.fields import EncryptedTextField
from xinqiao.orgs.models import OrgUnit
from xinqiao.people.models import Staff

validate_phone_number = RegexValidator(
    r"^[0-9][0-9-]{2,19}$",
    _("Enter a telephone number: digits, with an optional dash (0791-88330120)."),
)


class Hotline(models.Model):
    """One line of the helpline directory: the city's lines (no unit: an instance serves one
    city, and the lines are there before the org tree is), and each district's own."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(
        OrgUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("unit"),
    )
    name = models.CharField(pgettext_lazy("of a thing", "name"), max_length=100)
    number = models.CharField(
        _("telephone number"), max_length=20, validators=[validate_phone_number]
    )
    hours = models.CharField(_("hours"), max_length=60, blank=True)
    audience = models.CharField(_("for whom"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    order = models.PositiveIntegerField(_("order"), default=100)
    is_active = models.BooleanField(_("in service"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "number"],
                condition=Q(is_active=True, unit__isnull=False),
                name="emergency_hotline_one_active_number_per_unit",
            ),
            models.UniqueConstraint(
                fields=["number"],
                condition=Q(is_active=True, unit__isnull=True),
                name="emergency_hotline_one_active_city_number",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class CrisisTeam(models.Model):
    """A crisis-intervention team (心理危机干预工作队) of the city or of a district."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    name = models.CharField(pgettext_lazy("of a thing", "name"), max_length=100)
    # An office's duty line, published to schools: not a person's phone, so not sealed.
    duty_phone = models.CharField(
        _("duty phone"), max_length=20, validators=[validate_phone_number]
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["unit__path", "pk"]

    def __str__(self) -> str:
        return self.name


class TeamRole(models.TextChoices):
    LEADER = "leader", _("Team leader")
    DEPUTY = "deputy", _("Deputy leader")
    COUNSELLOR = "counsellor", _("Crisis counsellor")
    PSYCHIATRIST = "psychiatrist", _("Psychiatrist")
    LIAISON = "liaison", _("Liaison")
    MEMBER = "member", _("Member")


class TeamMember(models.Model):
    """A member's service on a team, from a start date to an end date (never overwritten):
    either a staff record, or a named outside person (a hospital's psychiatrist, a social
    worker) with their organisation and phone (sealed)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(CrisisTeam, on_delete=models.CASCADE, related_name="members")
    staff = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    name = models.CharField(pgettext_lazy("of a thing", "name"), max_length=60, blank=True)
    organisation = models.CharField(_("organisation"), max_length=100, blank=True)
    phone = EncryptedTextField(_("phone"), blank=True, row_key="code")
    role = models.CharField(_("role"), max_length=16, choices=TeamRole.choices)
    started_on = models.DateField(_("from"))
    ended_on = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        ordering = ["ended_on", "role", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(staff__isnull=False) | ~Q(name=""),
                name="emergency_member_staff_or_name",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="emergency_member_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.staff.name if self.staff_id is not None and self.staff else self.name

    @property
    def is_current(self) -> bool:
        return self.ended_on is None


class PlanKind(models.TextChoices):
    CRISIS = "crisis", _("Student psychological crisis")
    PUBLIC_EMERGENCY = "public_emergency", _("Major public emergency")
    DISASTER = "disaster", _("Natural disaster")
    PUBLIC_HEALTH = "public_health", _("Public-health emergency")
    SAFETY = "safety", _("School safety incident")
    OTHER = "other", _("Other")


class EmergencyPlan(models.Model):
    """An emergency plan (应急预案) of a unit; its text lives in its versions."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    title = models.CharField(_("title"), max_length=150)
    kind = models.CharField(_("kind"), max_length=20, choices=PlanKind.choices)
    is_active = models.BooleanField(_("in force"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["unit__path", "title"]

    def __str__(self) -> str:
        return self.title


class PlanVersion(models.Model):
    """One version of a plan's document: a new version is a new row, the old ones stay."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    plan = models.ForeignKey(EmergencyPlan, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    effective_on = models.DateField(_("in force from"))
    summary = models.TextField(_("what changed"), blank=True)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=80, unique=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="emergency_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.plan} v{self.number}"


class Drill(models.Model):
    """A drill of a unit (optionally under one of its plans): date, scenario, who took part,
    what was found."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    plan = models.ForeignKey(
        EmergencyPlan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="drills",
        verbose_name=_("plan"),
    )
    held_on = models.DateField(_("date"))
    scenario = models.TextField(_("scenario"))
    participants = models.TextField(_("participants"), blank=True)
    participant_count = models.PositiveIntegerField(_("number of participants"), default=0)
    findings = models.TextField(_("findings"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-held_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.held_on} {self.scenario[:30]}"


class CampaignArrangement(models.Model):
    """Which plan and team a major-event campaign (screening, kind incident / emergency) runs
    under. Each change is a new row; the latest holds (screening's model is not changed)."""

    campaign = models.ForeignKey("screening.Campaign", on_delete=models.CASCADE, related_name="+")
    plan = models.ForeignKey(
        EmergencyPlan, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey(
        CrisisTeam, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    set_at = models.DateTimeField()

    class Meta:
        ordering = ["-set_at", "-pk"]
        get_latest_by = ["set_at", "pk"]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.plan_id} / {self.team_id}"
