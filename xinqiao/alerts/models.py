"""Alerts (三级预警, issue 5): rule sets, alerts, verification, escalation, concerns, notifications.

An `Alert` is the preliminary level a rule or a human report gave a student; it stays preliminary
until a psychology teacher verifies it in an interview (`Verification`, PIPL art. 24). A student has
at most one open alert (new or acknowledged): a new trigger attaches to it (`AlertTrigger`) and may
raise its level. Notifications go to the notifications app's outbox in the same transaction as the
alert (the alert is their reference) and reach each recipient's inbox (and email) from there.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xinqiao.core.fields import EncryptedJSONField, EncryptedTextField
from xinqiao.orgs.models import OrgUnit
from xinqiao.people.models import Student


class Level(models.TextChoices):
    RED = "red", _("Red")
    ORANGE = "orange", _("Orange")
    YELLOW = "yellow", _("Yellow")


LEVEL_RANK: dict[str, int] = {Level.YELLOW: 1, Level.ORANGE: 2, Level.RED: 3}


def higher(a: str, b: str) -> str:
    return a if LEVEL_RANK[a] >= LEVEL_RANK[b] else b


class Source(models.TextChoices):
    SCREENING = "screening", _("Screening result")
    HEAD_TEACHER = "head_teacher", _("Head teacher")
    MENTOR = "mentor", _("Subject teacher / mentor")
    COMMITTEE_MEMBER = "committee_member", _("Class psychology committee member")
    PARENT = "parent", _("Parent")
    COUNSELLING = "counselling", _("Counselling session")
    HELP_REQUEST = "help_request", _("Student's own request for help")
    HOTLINE = "hotline", _("Hotline or online consultation")
    HOSPITAL = "hospital", _("Hospital")
    ONLINE_MONITORING = "online_monitoring", _("Online monitoring")
    OTHER = "other", _("Other")


class Status(models.TextChoices):
    NEW = "new", _("New (preliminary)")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    VERIFIED = "verified", _("Verified")


OPEN_STATUSES = (Status.NEW, Status.ACKNOWLEDGED)


class Outcome(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    CHANGED = "changed", _("Level changed")
    DISMISSED = "dismissed", _("Dismissed")


class RuleSet(models.Model):
    """One version of the rules for a school stage (blank: every stage), city- or district-wide.

    Versions are never edited: saving creates the next version, and the newest one is in force."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("applies to")
    )
    stage = models.CharField(_("school stage"), max_length=16, blank=True)
    version = models.PositiveIntegerField(_("version"))
    definition = models.JSONField(_("rules"))
    source = models.TextField(_("rules (YAML)"))
    note = models.CharField(_("reason for the change"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("rule set")
        verbose_name_plural = _("rule sets")
        ordering = ["unit__path", "stage", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "stage", "version"], name="ruleset_unique_version"
            )
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.unit_id}/{self.stage or 'all'}@{self.version}"


class AlertQuerySet(models.QuerySet["Alert"]):
    def open(self) -> AlertQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def at_level(self, level: str) -> AlertQuerySet:
        return self.filter(level=level)


class Alert(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="alerts")
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    level = models.CharField(_("level"), max_length=8, choices=Level.choices)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    status = models.CharField(
        _("status"), max_length=14, choices=Status.choices, default=Status.NEW
    )
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    ruleset_version = models.CharField(_("rule set"), max_length=60, blank=True)
    # Evidence (T3): one entry per trigger, {"rule", "level", "instrument", "items", "scores"}
    # or {"concern": code}; the reporter's own words live encrypted on the Concern. Encrypted.
    evidence = EncryptedJSONField(_("evidence"), default=list)
    level_since = models.DateTimeField(_("at this level since"))
    acknowledge_by = models.DateTimeField(_("acknowledge by"), null=True, blank=True)
    verify_by = models.DateTimeField(_("verify by"))
    guardian_informed_by = models.DateTimeField(_("inform guardian by"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    guardian_informed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    # The notifications about it (their generic reference): deleted with it, and found by
    # `Notification.objects.filter(alert=…)`.
    notifications = GenericRelation(
        "notifications.Notification",
        content_type_field="ref_type",
        object_id_field="ref_id",
        related_query_name="alert",
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["verify_by", "id"]
        constraints = [
            # De-duplication: one open alert per student; new triggers attach to it.
            models.UniqueConstraint(
                fields=["student"],
                condition=Q(status__in=["new", "acknowledged"]),
                name="alert_one_open_per_student",
            )
        ]
        indexes = [
            models.Index(fields=["school", "status", "verify_by"], name="alert_school_open"),
            models.Index(fields=["status", "level", "level_since"], name="alert_escalation"),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.student_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def next_deadline(self) -> object:
        if self.status == Status.NEW and self.acknowledge_by:
            return self.acknowledge_by
        return self.verify_by


class AlertTrigger(models.Model):
    """One reason the alert was raised or raised again (a rule on a response, or a concern)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # the row key
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="triggers")
    level = models.CharField(max_length=8, choices=Level.choices)
    source = models.CharField(max_length=20, choices=Source.choices)
    rule = models.CharField(max_length=80, blank=True)
    ruleset_version = models.CharField(max_length=60, blank=True)
    response_id = models.BigIntegerField(null=True, blank=True)
    concern = models.ForeignKey(
        "Concern", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    evidence = EncryptedJSONField(default=dict)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.alert_id}: {self.rule or self.source}"


class Verification(models.Model):
    """The verification interview (复核访谈): a human decision on a preliminary level."""

    alert = models.OneToOneField(Alert, on_delete=models.CASCADE, related_name="verification")
    interviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    interviewed_at = models.DateTimeField(_("interview time"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    previous_level = models.CharField(max_length=8, choices=Level.choices)
    new_level = models.CharField(
        _("verified level"), max_length=8, choices=Level.choices, blank=True
    )
    reason = EncryptedTextField(_("reason"), row_key="alert_id")
    guardian_informed = models.BooleanField(_("guardian informed"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("verification interview")
        verbose_name_plural = _("verification interviews")

    def __str__(self) -> str:
        return f"{self.alert_id}: {self.outcome}"


class EscalationStep(models.TextChoices):
    """A missed deadline and who hears of it (docs/alert-rules.md, services.run_escalations)."""

    RED_LEADER = "red_leader", _("Red alert not acknowledged in 2 hours: moral-education leader")
    RED_STATION = "red_station", _("Red alert not verified in 24 hours: district station")
    RED_GUARDIAN = (
        "red_guardian",
        _("Red alert: guardian not informed the same school day: moral-education leader"),
    )
    ORANGE_LEADER = "orange_leader", _("Orange alert past its deadline: moral-education leader")
    YELLOW_OWNER = "yellow_owner", _("Yellow alert past its deadline: reminder to the owner")


# Who each step goes to, for other apps' lists: escalations to the school's moral-education leader,
# to the district station, and reminders that stay with the owner (not an escalation upwards).
LEADER_STEPS = (
    EscalationStep.RED_LEADER,
    EscalationStep.RED_GUARDIAN,
    EscalationStep.ORANGE_LEADER,
)
STATION_STEPS = (EscalationStep.RED_STATION,)
OWNER_STEPS = (EscalationStep.YELLOW_OWNER,)


class Escalation(models.Model):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="escalations")
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    step = models.CharField(max_length=16, choices=EscalationStep.choices)
    due_at = models.DateTimeField()
    escalated_at = models.DateTimeField()
    recipients = models.JSONField(default=list)

    class Meta:
        ordering = ["escalated_at"]
        constraints = [
            # An escalation happens exactly once, however often the task runs.
            models.UniqueConstraint(fields=["alert", "step"], name="escalation_once")
        ]

    def __str__(self) -> str:
        return f"{self.alert_id}: {self.step}"


class Urgency(models.TextChoices):
    PLAN = "plan", _("Talks of a current plan, an attempt, or has the means (urgent)")
    SOON = "soon", _("Worrying change, should be seen within days")
    WATCH = "watch", _("Something to keep an eye on")


URGENCY_LEVEL: dict[str, str] = {
    Urgency.PLAN: Level.RED,
    Urgency.SOON: Level.ORANGE,
    Urgency.WATCH: Level.YELLOW,
}


class Concern(models.Model):
    """A human report about a student (线索报告). The reporter sees only a coarse status."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="concerns")
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="alert_concerns"
    )
    source = models.CharField(_("reported as"), max_length=20, choices=Source.choices)
    what_seen = EncryptedTextField(_("what you saw or heard"))
    seen_on = models.DateField(_("when"))
    urgency = models.CharField(_("how urgent"), max_length=8, choices=Urgency.choices)
    alert = models.ForeignKey(
        Alert, on_delete=models.SET_NULL, null=True, blank=True, related_name="concerns"
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("concern report")
        verbose_name_plural = _("concern reports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["reporter", "created_at"], name="concern_reporter")]

    def __str__(self) -> str:
        return f"{self.student_id} ({self.created_at:%Y-%m-%d})"

    @property
    def coarse_status(self) -> str:
        """What the reporter may know: received, or being followed up — never a level."""
        if self.alert is not None and self.alert.status != Status.NEW:
            return str(_("Being followed up"))
        return str(_("Received"))


class PendingSubmission(models.Model):
    """A hand-in whose alert rules fired, its alert still to be raised.

    Written in the hand-in's own transaction, so it commits with the responses or not at all, and
    deleted in the transaction that raises the alert (`services.raise_pending_alerts`): at once in
    the embedded default, else by the worker within seconds, many hand-ins per transaction. Plain
    ids, not foreign keys: screening calls alerts through a hook, not the other way round."""

    assignment_id = models.BigIntegerField(primary_key=True)
    student_id = models.BigIntegerField()
    school_id = models.BigIntegerField()
    stage_band = models.CharField(max_length=16, blank=True)
    queued_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"hand-in {self.assignment_id}"
