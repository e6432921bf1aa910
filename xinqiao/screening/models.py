"""Screening campaigns (issue 4; R3, R7, R8, R11): plan, assignments, consent, sittings, responses.

A campaign covers org units (and optionally grade levels or an explicit list of students) and names
a battery of instruments per stage band. Opening it creates one `Assignment` per student in scope
(set-based SQL, see services.open_campaign). Students answer in a class `Sitting` (short code on the
classroom screen) or through a personal one-time link; answers are autosaved as `AnswerDraft`s and
submission scores them into one `Response` per instrument.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from xinqiao.core.fields import EncryptedJSONField, EncryptedTextField
from xinqiao.orgs.models import OrgUnit, Term
from xinqiao.people.models import Student


class CampaignKind(models.TextChoices):
    ROUTINE_SPRING = "routine_spring", _("Routine spring screening")
    ROUTINE_AUTUMN = "routine_autumn", _("Routine autumn screening")
    NEW_STUDENTS = "new_students", _("New-student adaptation")
    TERM_START = "term_start", _("Start of term")
    EXAM_SEASON = "exam_season", _("Exam season")
    GRADUATION = "graduation", _("Graduation")
    INCIDENT = "incident", _("After an incident")
    EMERGENCY = "emergency", _("Public emergency")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("campaign status", "Draft")
    OPEN = "open", pgettext_lazy("campaign status", "Open")
    CLOSED = "closed", pgettext_lazy("campaign status", "Closed")
    ARCHIVED = "archived", pgettext_lazy("campaign status", "Archived")


class ConsentBasis(models.TextChoices):
    GUARDIAN_CONSENT = "guardian_consent", _("Guardian consent")
    STATUTORY_DUTY = "statutory_duty", _("Statutory duty (recorded legal basis)")


class ResultsVisibility(models.TextChoices):
    SCHOOL_PSYCHOLOGY_TEACHERS = (
        "school_psychology_teachers",
        _("Each school's psychology teachers (individual results)"),
    )
    PSYCHOLOGY_AND_STATION = (
        "psychology_and_station",
        _("Psychology teachers and the district counselling station"),
    )


class StudentLogin(models.TextChoices):
    STUDENT_NUMBER = "student_number", _("National student number")
    LAST_DIGITS_BIRTH_DATE = "last_digits_birth_date", _("Last digits of the number and birth date")


class StageBand(models.TextChoices):
    PRIMARY_LOWER = "primary_lower", _("Primary, grades 1–3")
    PRIMARY_UPPER = "primary_upper", _("Primary, grades 4–6")
    JUNIOR = "junior", _("Junior high")
    SENIOR = "senior", _("Senior high")
    VOCATIONAL = "vocational", _("Vocational")


class Campaign(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(pgettext_lazy("of a thing", "name"), max_length=120)
    term = models.ForeignKey(
        Term, on_delete=models.PROTECT, related_name="+", verbose_name=_("term")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=CampaignKind.choices)
    owner_unit = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("run by")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    consent_basis = models.CharField(
        _("consent basis"),
        max_length=20,
        choices=ConsentBasis.choices,
        default=ConsentBasis.STATUTORY_DUTY,
    )
    legal_basis_note = models.CharField(_("legal basis"), max_length=300, blank=True)
    results_visibility = models.CharField(
        _("who sees individual results"),
        max_length=30,
        choices=ResultsVisibility.choices,
        default=ResultsVisibility.SCHOOL_PSYCHOLOGY_TEACHERS,
    )
    checks = models.JSONField(_("validity checks"), default=dict, blank=True)
    student_login = models.CharField(
        _("students sign in with"),
        max_length=24,
        choices=StudentLogin.choices,
        default=StudentLogin.STUDENT_NUMBER,
    )
    # Grade levels (1–12) covered; empty = every grade in the covered units.
    grade_levels = models.JSONField(_("grades"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("screening campaign")
        verbose_name_plural = _("screening campaigns")
        ordering = ["-opens_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")), name="campaign_closes_after_opens"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def needs_guardian_consent(self) -> bool:
        return self.consent_basis == ConsentBasis.GUARDIAN_CONSENT


class CampaignUnit(models.Model):
    """An org unit (city, district, school, grade or class) whose students the campaign covers."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="units")
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "unit"], name="campaignunit_unique")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.unit_id}"


class CampaignStudent(models.Model):
    """An explicitly listed student (e.g. those affected by an incident)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="listed_students")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "student"], name="campaignstudent_unique")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.student_id}"


class BatteryEntry(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="battery")
    stage_band = models.CharField(_("stage"), max_length=16, choices=StageBand.choices)
    instrument_code = models.CharField(_("instrument"), max_length=40)
    instrument_version = models.CharField(_("version"), max_length=40)
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["stage_band", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "stage_band", "instrument_code"], name="battery_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.stage_band}: {self.instrument_code} {self.instrument_version}"


class AssignmentStatus(models.TextChoices):
    ASSIGNED = "assigned", _("Assigned")
    STARTED = "started", _("Started")
    COMPLETED = "completed", _("Completed")
    INVALID = "invalid", _("Invalid")
    NO_CONSENT = "no_consent", _("No consent")
    ABSENT = "absent", _("Absent")
    SUSPENDED = "suspended", _("Suspended")
    # A hand-in a psychology teacher set aside (VoidedHandIn): kept, out of results and alerts.
    VOID = "void", _("Voided")


class Assignment(models.Model):
    # A million rows are inserted at once when a city campaign opens (bench/open_campaign.py):
    # only the indexes in Meta are kept, not one per foreign key, and the student and org-unit
    # columns carry no database-level FK constraint: on PostgreSQL each checked row costs a
    # trigger and a FOR KEY SHARE lock on the referenced student row. The values are copied
    # from people_student (whose own FKs are enforced) by the INSERT … SELECT that opens the
    # campaign; Django still applies on_delete (CASCADE / PROTECT) in Python.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="assignments", db_index=False
    )
    student = models.ForeignKey(
        Student, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    school = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    school_class = models.ForeignKey(
        OrgUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    # Denormalised at assignment time: which battery the student takes, progress per grade.
    grade = models.ForeignKey(
        OrgUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    stage_band = models.CharField(max_length=16, choices=StageBand.choices, blank=True)
    # Explicit instrument codes for a re-sit or follow-up; empty = the campaign battery of
    # `stage_band` (taking.services.battery_for gives the list of instruments).
    instruments = models.JSONField(default=list, blank=True)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=AssignmentStatus.choices,
        default=AssignmentStatus.ASSIGNED,
    )
    link_token = models.CharField(max_length=64, null=True, blank=True)  # unique when set
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    resit_of = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="resits",
        db_index=False,
    )
    created_at = models.DateTimeField(null=True, blank=True)
    # The latest sign-in's random nonce, also in the student's signed cookie: a request whose
    # nonce differs (an older sign-in, a copied cookie) is refused, so the newest sign-in wins.
    session_nonce = models.CharField(max_length=32, null=True, blank=True)
    # Sign-ins from a browser not already signed in to this assignment: more than one means the
    # questionnaire was opened on several devices (someone else may have used the code).
    sign_ins = models.PositiveIntegerField(db_default=0)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "student"],
                condition=Q(resit_of__isnull=True),
                name="assignment_one_per_student",
            ),
            models.UniqueConstraint(
                fields=["link_token"],
                condition=Q(link_token__isnull=False),
                name="assignment_link_token_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "school", "status"], name="assignment_camp_school"),
            models.Index(fields=["campaign", "school_class"], name="assignment_camp_class"),
            models.Index(fields=["student"], name="assignment_student"),
            models.Index(
                fields=["resit_of"], condition=Q(resit_of__isnull=False), name="assignment_resit_of"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.student_id} ({self.status})"


class Consent(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="consents")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")
    basis = models.CharField(_("basis"), max_length=20, choices=ConsentBasis.choices)
    granted = models.BooleanField(_("granted"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "student"], name="consent_unique")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.student_id}: {self.granted}"


class Sitting(models.Model):
    """A class sitting: the teacher shows `code` on the classroom screen; students type it in."""

    code = models.CharField(_("code"), max_length=6)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="sittings")
    school_class = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    opened_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    # Opaque handle for staff URLs (the short code is for students only).
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        verbose_name = _("sitting")
        verbose_name_plural = _("sittings")
        constraints = [
            models.UniqueConstraint(
                fields=["code"],
                condition=Q(closed_at__isnull=True),
                name="sitting_open_code_unique",
            )
        ]
        indexes = [models.Index(fields=["code"], name="sitting_code")]

    def __str__(self) -> str:
        return self.code


class AnswerDraft(models.Model):
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="drafts")
    instrument_code = models.CharField(max_length=40)
    item_id = models.CharField(max_length=20)
    # The option code chosen (T3), encrypted and bound to its assignment, instrument and item;
    # NULL while the student has cleared the item.
    answer = EncryptedJSONField(
        null=True, blank=True, row_key=("assignment_id", "instrument_code", "item_id")
    )
    seconds = models.FloatField(default=0)
    client_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "instrument_code", "item_id"], name="answerdraft_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id} {self.instrument_code}#{self.item_id}"


class Response(models.Model):
    """One scored instrument of one assignment. `client_key` is unique: the submission key
    (per instrument, e.g. "<key>:<instrument_code>") that makes a retried submission a no-op,
    and the row key the encrypted fields are bound to (never changed)."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="responses")
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    instrument_code = models.CharField(max_length=40)
    instrument_version = models.CharField(max_length=40)
    # Answers, scores, critical items and unanswered items (T3) are encrypted, bound to the
    # submission key; bands, flags, validity and times stay plaintext for aggregates and checks.
    answers = EncryptedJSONField(default=list, row_key="client_key")
    times = models.JSONField(default=list)
    scores = EncryptedJSONField(default=dict, row_key="client_key")
    bands = models.JSONField(default=dict)
    critical = EncryptedJSONField(default=list, row_key="client_key")
    missing = EncryptedJSONField(default=list, row_key="client_key")
    flags = models.JSONField(default=list)
    valid = models.BooleanField(default=True)
    submitted_at = models.DateTimeField()
    client_key = models.CharField(max_length=100, unique=True)
    resit_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="resits"
    )

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        constraints = [
            models.UniqueConstraint(
                fields=["assignment", "instrument_code"], name="response_one_per_instrument"
            )
        ]
        indexes = [models.Index(fields=["school", "submitted_at"], name="response_school_time")]

    def __str__(self) -> str:
        return f"{self.assignment_id} {self.instrument_code}"


class VoidedHandIn(models.Model):
    """A hand-in a psychology teacher voided (作废) as not the student's own: the assignment and its
    responses are kept, never deleted, but left out of results, aggregates and alert evaluation
    from then on; a re-sit replaces it. The reason is encrypted, bound to the assignment."""

    assignment = models.OneToOneField(
        Assignment, on_delete=models.CASCADE, primary_key=True, related_name="voiding"
    )
    previous_status = models.CharField(max_length=12, choices=AssignmentStatus.choices)
    reason = EncryptedTextField(_("reason"), row_key="assignment_id")
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    voided_at = models.DateTimeField()
    resit = models.ForeignKey(
        Assignment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("voided hand-in")
        verbose_name_plural = _("voided hand-ins")

    def __str__(self) -> str:
        return f"{self.assignment_id} voided"


# The kind of the in-app reminder to head teachers of classes behind schedule (its texts:
# xinqiao/notifications/message_templates.py).
REMINDER_KIND = "screening.behind_schedule"
