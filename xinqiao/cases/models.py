"""High-care cases (高关怀学生, issue 5): the closed loop after a confirmed alert.

A `Case` is opened when a psychology teacher confirms an alert (or attaches it to the student's open
case). Everything that happens to it is a row of its own, so the case page's timeline is the union
of: `LevelChange` (opened, raised, attached, stepped down, closed, reopened, transferred),
`FollowUp`, `GuardianContact`, `Referral`, `SchoolingChange`, `CaseTransfer` and `SweepReview`.
Free-text notes are encrypted at rest (`EncryptedTextField`); uploaded files are encrypted too
(`CaseDocument`, see documents.py). A closed case stays in the archive; any new trigger reopens it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from xinqiao.alerts.models import Alert, Level
from xinqiao.core.fields import EncryptedJSONField, EncryptedTextField
from xinqiao.orgs.models import OrgUnit
from xinqiao.people.models import Guardian, Student

USER = settings.AUTH_USER_MODEL


class CaseStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("case status", "Open")
    CLOSED = "closed", pgettext_lazy("case status", "Closed")


class CaseQuerySet(models.QuerySet["Case"]):
    def open(self) -> CaseQuerySet:
        return self.filter(status=CaseStatus.OPEN)


class Case(models.Model):
    """One student's high-care record. At most one open case per student."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="cases")
    # The school that holds the case now (changes only through a CaseTransfer).
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    level = models.CharField(_("level"), max_length=8, choices=Level.choices)
    level_since = models.DateTimeField(_("at this level since"))
    status = models.CharField(
        _("status"), max_length=8, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    owner = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("owner")
    )
    opened_at = models.DateTimeField(_("opened"))
    opened_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, related_name="+")
    # Denormalised for the overdue lists: when the next follow-up is due (null when closed).
    next_follow_up_due = models.DateTimeField(_("next follow-up due"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("high-care case")
        verbose_name_plural = _("high-care cases")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["student"], condition=Q(status="open"), name="case_one_open_per_student"
            )
        ]
        indexes = [
            models.Index(fields=["school", "status", "level"], name="case_school_open"),
            models.Index(fields=["status", "next_follow_up_due"], name="case_follow_up_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.student_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == CaseStatus.OPEN


class ChangeKind(models.TextChoices):
    OPENED = "opened", _("Case opened")
    RAISED = "raised", _("Level raised")
    ATTACHED = "attached", _("Alert attached")
    STEPPED_DOWN = "stepped_down", _("Level stepped down")
    CLOSED = "closed", _("Case closed")
    REOPENED = "reopened", _("Case reopened")
    TRANSFERRED = "transferred", _("Case transferred")


class LevelChange(models.Model):
    """The case's full history of levels: who changed it, when, why, on what evidence."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="level_changes")
    kind = models.CharField(max_length=14, choices=ChangeKind.choices)
    from_level = models.CharField(max_length=8, choices=Level.choices, blank=True)
    # Blank when the case closed (no level any more).
    to_level = models.CharField(max_length=8, choices=Level.choices, blank=True)
    reason = EncryptedTextField(_("reason"), blank=True)
    # {"alert": code} / {"follow_ups": [...], "referral": code, "response": id, ...}: encrypted,
    # as verified levels and rule checks describe the child's state
    evidence = EncryptedJSONField(default=dict)
    alert = models.ForeignKey(
        Alert, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changed_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, related_name="+")
    approved_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.kind} {self.from_level}→{self.to_level}"


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class StepDownRequest(models.Model):
    """A psychology teacher asks to lower the level one step (or close a yellow case); the
    moral-education leader approves. The minimum stays are checked when asked and when approved."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="step_down_requests")
    from_level = models.CharField(max_length=8, choices=Level.choices)
    to_level = models.CharField(max_length=8, choices=Level.choices, blank=True)  # blank: close
    reason = EncryptedTextField(_("reason"))
    evidence = EncryptedJSONField(default=dict)
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    status = models.CharField(
        max_length=8, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    decided_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = EncryptedTextField(_("note"), blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="pending"), name="step_down_one_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.from_level}→{self.to_level or 'closed'} ({self.status})"


class TeamTier(models.IntegerChoices):
    """The three-level support team (三级帮扶队伍, R6)."""

    SCHOOL = 1, _("Level 1: moral-education leader and psychology teacher")
    CLASS = 2, _("Level 2: head teacher, subject teachers and mentor")
    PEERS = 3, _("Level 3: class psychology committee members")


class CaseTeamMember(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="team")
    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="case_team_memberships")
    tier = models.PositiveSmallIntegerField(_("team level"), choices=TeamTier.choices)
    role = models.CharField(_("role"), max_length=32)  # access.roles.Role value
    # What this member is asked to do. Tier 3 only ever gets "keep an eye, report changes".
    task = models.CharField(_("task"), max_length=300)
    added_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tier", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "user"],
                condition=Q(removed_at__isnull=True),
                name="case_team_member_once",
            )
        ]
        indexes = [models.Index(fields=["user", "removed_at"], name="case_team_user")]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.user_id} (tier {self.tier})"


class SupportPlan(models.Model):
    """The support plan; a new version replaces the previous one (the newest is in force)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="plans")
    goal = EncryptedTextField(_("goal"))
    actions = EncryptedTextField(_("actions"))
    owner = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    review_on = models.DateField(_("review date"))
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.case_id}: plan {self.created_at:%Y-%m-%d}"


class FollowUpMethod(models.TextChoices):
    INTERVIEW = "interview", _("Interview")
    PHONE = "phone", _("Phone call")
    OBSERVATION = "observation", _("Observation in class")
    HOME_VISIT = "home_visit", _("Home visit")
    ONLINE = "online", _("Online")


class Trend(models.TextChoices):
    IMPROVING = "improving", _("Improving")
    STABLE = "stable", _("No change")
    WORSE = "worse", _("Worse")


class FollowUp(models.Model):
    """One follow-up (跟踪随访) as a short structured note."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="follow_ups")
    due_at = models.DateTimeField(_("was due"), null=True, blank=True)
    done_at = models.DateTimeField(_("when"))
    method = models.CharField(_("how"), max_length=14, choices=FollowUpMethod.choices)
    trend = models.CharField(_("since last time"), max_length=10, choices=Trend.choices)
    risk_signs = models.BooleanField(_("signs of risk (thoughts, plan, means)"), default=False)
    level_at_time = models.CharField(max_length=8, choices=Level.choices)
    note = EncryptedTextField(_("note"), row_key="client_key")
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    # Retry-safe: the form carries a key; a double submit records one follow-up.
    client_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-done_at", "-id"]

    def __str__(self) -> str:
        return f"{self.case_id}: follow-up {self.done_at:%Y-%m-%d}"


class ContactMethod(models.TextChoices):
    PHONE = "phone", _("Phone call")
    MEETING = "meeting", _("Meeting at school")
    HOME_VISIT = "home_visit", _("Home visit")
    MESSAGE = "message", _("Message")


class ConsentAnswer(models.TextChoices):
    NOT_ASKED = "not_asked", _("Not asked")
    GIVEN = "given", _("Consent given")
    REFUSED = "refused", _("Consent refused")


class GuardianContact(models.Model):
    """Guardian communication log (家校沟通记录)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="guardian_contacts")
    guardian = models.ForeignKey(
        Guardian, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    method = models.CharField(_("how"), max_length=12, choices=ContactMethod.choices)
    contacted_at = models.DateTimeField(_("when"))
    what_was_said = EncryptedTextField(_("what was said"), row_key="client_key")
    guardian_response = EncryptedTextField(
        _("guardian's response"), blank=True, row_key="client_key"
    )
    # Consent to what this contact asked about (support, referral); referral consent is separate.
    consent = models.CharField(
        _("consent"), max_length=10, choices=ConsentAnswer.choices, default=ConsentAnswer.NOT_ASKED
    )
    informed_of_level = models.CharField(max_length=8, choices=Level.choices, blank=True)
    acknowledgement = models.ForeignKey(
        "CaseDocument",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("signed acknowledgement"),
    )
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    client_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-contacted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.case_id}: guardian contact {self.contacted_at:%Y-%m-%d}"


class DocumentKind(models.TextChoices):
    GUARDIAN_ACKNOWLEDGEMENT = "guardian_ack", _("Guardian's signed acknowledgement")
    REFERRAL_CONSENT = "referral_consent", _("Guardian's consent to referral")
    MEDICAL = "medical", _("Medical document")
    MEDICAL_OPINION = "medical_opinion", _("Medical opinion on return to school")
    REFERRAL_FEEDBACK = "referral_feedback", _("Hospital's feedback letter on a referral")
    OTHER = "other", _("Other")


class CaseDocument(models.Model):
    """An uploaded file, stored encrypted under MEDIA_ROOT/cases/ (documents.py)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("kind"), max_length=18, choices=DocumentKind.choices)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=200, unique=True)
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return self.original_name


class ConsentBasis(models.TextChoices):
    GUARDIAN_CONSENT = "guardian_consent", _("Guardian's separate consent (PIPL art. 23)")
    EMERGENCY = "emergency", _("Emergency: to protect the student's life and health")


class ReferralStatus(models.TextChoices):
    SENT = "sent", pgettext_lazy("referral status", "Sent")
    RECEIVED = "received", _("Received by the hospital")
    SEEN = "seen", _("Seen by the psychiatrist")
    FEEDBACK = "feedback", _("Feedback given")
    CANCELLED = "cancelled", _("Cancelled")


class DiagnosisCategory(models.TextChoices):
    """Optional, coarse (ICD-10 chapter V blocks); the school needs advice, not a diagnosis."""

    NONE = "", _("Not stated")
    MOOD = "F30-F39", _("Mood (affective) disorders")
    ANXIETY = "F40-F48", _("Anxiety, stress-related and somatoform disorders")
    BEHAVIOURAL_CHILDHOOD = "F90-F98", _("Behavioural and emotional disorders of childhood")
    DEVELOPMENTAL = "F80-F89", _("Disorders of psychological development")
    PSYCHOTIC = "F20-F29", _("Schizophrenia, schizotypal and delusional disorders")
    EATING_SLEEP = "F50-F59", _("Behavioural syndromes (eating, sleep)")
    SUBSTANCE = "F10-F19", _("Substance use")
    OTHER = "other", _("Other")
    NO_DISORDER = "none", _("No mental disorder found")


class FeedbackSource(models.TextChoices):
    """Who put the hospital's feedback into Xinqiao: its psychiatrist, or the case's psychology
    teacher from the letter the hospital sent (hospitals without accounts answer on paper)."""

    PSYCHIATRIST = "psychiatrist", _("Given by the psychiatrist")
    PAPER = "paper", _("Recorded from the hospital's letter")


class CancelReason(models.TextChoices):
    """Why a referral was withdrawn: a fixed list, so no free text lands in the audit log."""

    CONSENT_WITHDRAWN = "consent_withdrawn", _("The guardian withdrew consent")
    OTHER_PROVIDER = "other_provider", _("The family chose another hospital or doctor")
    NOT_NEEDED = "not_needed", _("No longer needed after reassessment")
    SENT_IN_ERROR = "sent_in_error", _("Sent in error (wrong hospital or details)")
    STUDENT_LEFT = "student_left", _("The student left the school")
    OTHER = "other", _("Other")


class Referral(models.Model):
    """Referral through the green channel (绿色通道, R9/R25) to a partner hospital."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="referrals")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="referrals")
    hospital = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("hospital")
    )
    psychiatrist = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals_received",
        verbose_name=_("psychiatrist"),
    )
    reason = EncryptedTextField(_("reason for referral"))
    consent_basis = models.CharField(_("legal basis"), max_length=18, choices=ConsentBasis.choices)
    consent_document = models.ForeignKey(
        CaseDocument, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    consent_contact = models.ForeignKey(
        GuardianContact, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    emergency_reason = EncryptedTextField(_("emergency: why consent could not wait"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ReferralStatus.choices, default=ReferralStatus.SENT
    )
    sent_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField()
    received_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(null=True, blank=True)
    feedback_at = models.DateTimeField(null=True, blank=True)
    feedback_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Encrypted (T3): no count or filter by diagnosis anywhere (docs/security.md).
    diagnosis_category = EncryptedTextField(
        _("diagnosis category"), choices=DiagnosisCategory.choices, blank=True
    )
    advice_for_school = EncryptedTextField(_("advice for the school"), blank=True)
    next_review_on = models.DateField(_("next review"), null=True, blank=True)
    # Blank until the feedback is in; "paper": feedback_by is the teacher who recorded the letter.
    feedback_source = models.CharField(
        _("feedback from"), max_length=12, choices=FeedbackSource.choices, blank=True
    )
    feedback_letter = models.ForeignKey(
        CaseDocument, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Retry key of the paper-feedback form: a double submit on this referral records once.
    feedback_client_key = models.CharField(max_length=64, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancel_reason = models.CharField(
        _("why cancelled"), max_length=20, choices=CancelReason.choices, blank=True
    )
    client_key = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [
            models.Index(fields=["psychiatrist", "status"], name="referral_psychiatrist"),
            models.Index(fields=["hospital", "status"], name="referral_hospital"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: referral ({self.status})"


class SchoolingChangeKind(models.TextChoices):
    SUSPENSION = "suspension", _("Suspension")
    RETURN = "return", _("Return to school")


class SchoolingChange(models.Model):
    """Suspension and return (R10). A return needs a medical opinion, the psychology teacher's
    return assessment and a return plan; the student's status follows."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="schooling_changes")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=SchoolingChangeKind.choices)
    effective_on = models.DateField(_("from"))
    expected_until = models.DateField(_("expected until"), null=True, blank=True)
    reason = EncryptedTextField(_("reason"), blank=True, row_key="client_key")
    medical_opinion = EncryptedTextField(_("medical opinion"), blank=True, row_key="client_key")
    return_assessment = EncryptedTextField(_("return assessment"), blank=True, row_key="client_key")
    return_plan = EncryptedTextField(_("return plan"), blank=True, row_key="client_key")
    documents = models.ManyToManyField(CaseDocument, blank=True, related_name="+")
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    # Retry-safe: the form carries a key; a double submit records one change.
    client_key = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-effective_on", "-id"]

    def __str__(self) -> str:
        return f"{self.student_id}: {self.kind} {self.effective_on}"


class TransferStatus(models.TextChoices):
    REQUESTED = "requested", _("Sent to the district station")
    FORWARDED = "forwarded", _("Forwarded by the station")
    ACCEPTED = "accepted", _("Accepted by the receiving school")


class CaseTransfer(models.Model):
    """An open case follows a student to a new school only through the district station."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="transfers")
    from_school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    to_school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    station = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=10, choices=TransferStatus.choices, default=TransferStatus.REQUESTED
    )
    handover_note = EncryptedTextField(_("handover note"))
    requested_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    forwarded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    forwarded_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(status__in=["requested", "forwarded"]),
                name="case_transfer_one_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.from_school_id}→{self.to_school_id} ({self.status})"


class SweepKind(models.TextChoices):
    EXAM_SEASON = "exam_season", _("Exam season")
    TERM_START = "term_start", _("Term start")
    GRADUATION = "graduation", _("Graduation")
    HOLIDAY = "holiday", _("Before a holiday")
    INCIDENT = "incident", _("After an incident")
    OTHER = "other", _("Other special period")


class Sweep(models.Model):
    """A special-period sweep (R7): every open case of the school is reviewed; a chosen group may
    be re-screened (a campaign)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=SweepKind.choices)
    title = models.CharField(_("title"), max_length=120)
    review_by = models.DateField(_("review every open case by"))
    campaign = models.ForeignKey(
        "screening.Campaign", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    started_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    # Retry-safe: the form carries a key; a double submit starts one sweep.
    client_key = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return self.title


class SweepReview(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sweep = models.ForeignKey(Sweep, on_delete=models.CASCADE, related_name="reviews")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="sweep_reviews")
    reviewed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    note = EncryptedTextField(_("note"), blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["sweep", "case"], name="sweep_review_once")]

    def __str__(self) -> str:
        return f"{self.sweep_id}: {self.case_id}"


class Incident(models.Model):
    """A critical incident (R8): the affected group gets a follow-up campaign and group sessions."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=120)
    occurred_on = models.DateField(_("date"))
    description = EncryptedTextField(_("what happened"))
    affected = models.ManyToManyField(
        Student, related_name="+", verbose_name=_("affected students")
    )
    campaign = models.ForeignKey(
        "screening.Campaign", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    # Retry-safe: the form carries a key; a double submit records one incident.
    client_key = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-occurred_on", "-id"]

    def __str__(self) -> str:
        return self.title


class GroupSession(models.Model):
    """A group session (团体辅导) held for an incident's affected group."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="group_sessions")
    held_at = models.DateTimeField(_("held"))
    facilitator = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    participants = models.ManyToManyField(Student, related_name="+")
    topic = models.CharField(_("topic"), max_length=120)
    note = EncryptedTextField(_("note"), blank=True, row_key="client_key")
    recorded_at = models.DateTimeField()
    # Retry-safe: the form carries a key; a double submit records one session.
    client_key = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-held_at", "-id"]

    def __str__(self) -> str:
        return self.topic
