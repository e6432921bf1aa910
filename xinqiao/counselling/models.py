"""The counselling service (issue 15): rooms one can book, the duty roster (值班表) and its
exceptions, counsellors' availability, appointments (预约) and a counsellor's calendar feed.

Sessions and their tiered notes, group programmes, the hotline log, supervision and mentors are
later work: an appointment is the point they attach to (a session will point at the appointment
it took place in).

No double booking: an active appointment holds its counsellor and its room for [starts_at,
ends_at). The database enforces it — on PostgreSQL an exclusion constraint over tstzrange
(migration 0002, btree_gist); everywhere a unique row per (counsellor, start) and (room, start),
and the booking service checks overlaps inside one transaction (SQLite's IMMEDIATE transactions
serialise writers).
"""

from __future__ import annotations

import datetime
import hashlib
import uuid
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from xinqiao.alerts.models import Alert
from xinqiao.core.fields import EncryptedJSONField, EncryptedTextField
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.people.models import Student

# Where counselling happens: a school's counselling room, a district station, the city centre.
COUNSELLING_UNIT_KINDS = frozenset({Kind.SCHOOL, Kind.STATION, Kind.CENTRE})


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class RoomKind(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual counselling")
    GROUP = "group", _("Group counselling")
    SAND_PLAY = "sand_play", _("Sand play")
    RELAXATION = "relaxation", _("Relaxation")


class Room(models.Model):
    """One bookable room of a unit's counselling room (facilities keeps the unit's counselling
    room as a whole, with its standard; this is the room a session takes place in)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(_("kind"), max_length=16, choices=RoomKind.choices)
    capacity = models.PositiveSmallIntegerField(
        _("capacity"), default=1, validators=[MinValueValidator(1), MaxValueValidator(200)]
    )
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="counselling_room_unit_name")
        ]

    def __str__(self) -> str:
        return self.name


# --- the duty roster ------------------------------------------------------------------------------
class DutySlot(models.Model):
    """A weekly recurring duty: `counsellor` is on duty at `unit` (optionally in `room`) every
    `weekday` from `starts` to `ends`, within [valid_from, valid_until], in term time only (a
    day outside every term is a holiday: no duty)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, null=True, blank=True)
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts = models.TimeField(_("from"))
    ends = models.TimeField(_("until"))
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["weekday", "starts", "pk"]
        indexes = [models.Index(fields=["unit", "weekday"], name="counselling_duty_unit_day")]
        constraints = [
            models.CheckConstraint(condition=Q(ends__gt=F("starts")), name="counselling_duty_ends"),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_until__gte=F("valid_from")),
                name="counselling_duty_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts:%H:%M}–{self.ends:%H:%M}"


class ExceptionKind(models.TextChoices):
    CLOSED = "closed", _("No duty (holiday, closure)")
    SUBSTITUTE = "substitute", _("Substitute")


class DutyException(models.Model):
    """One date's change to the roster: the unit closed (`slot` empty: the whole day; else that
    slot), or a substitute (or swap partner) taking `slot` on that date."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    date = models.DateField(_("date"))
    kind = models.CharField(_("change"), max_length=12, choices=ExceptionKind.choices)
    slot = models.ForeignKey(
        DutySlot, on_delete=models.CASCADE, null=True, blank=True, related_name="exceptions"
    )
    substitute = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["date", "pk"]
        indexes = [models.Index(fields=["unit", "date"], name="counselling_exc_unit_date")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="substitute")
                | (Q(slot__isnull=False) & Q(substitute__isnull=False)),
                name="counselling_exc_substitute",
            ),
            models.UniqueConstraint(
                fields=["slot", "date"],
                condition=Q(slot__isnull=False),
                name="counselling_exc_one_per_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.kind}"


# --- availability and appointments -------------------------------------------------------------
class AvailabilityKind(models.TextChoices):
    WEEKLY = "weekly", _("Every week")
    ONCE = "once", _("Once")
    BLOCKED = "blocked", _("Blocked time")


class Availability(models.Model):
    """A counsellor's published time at a unit: weekly (`weekday`), once (`date`), or blocked
    (`date`: no booking then, even inside a weekly window). Open windows are cut into slots of
    `slot_minutes`."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    room = models.ForeignKey(Room, on_delete=models.PROTECT, null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=AvailabilityKind.choices)
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), choices=Weekday.choices, null=True, blank=True
    )
    date = models.DateField(_("date"), null=True, blank=True)
    starts = models.TimeField(_("from"))
    ends = models.TimeField(_("until"))
    slot_minutes = models.PositiveSmallIntegerField(
        _("minutes per appointment"),
        default=50,
        validators=[MinValueValidator(10), MaxValueValidator(240)],
    )

    class Meta:
        ordering = ["kind", "weekday", "date", "starts", "pk"]
        indexes = [models.Index(fields=["counsellor", "kind"], name="counselling_avail_who")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends__gt=F("starts")), name="counselling_avail_ends"
            ),
            models.CheckConstraint(
                condition=(Q(kind="weekly") & Q(weekday__isnull=False) & Q(date__isnull=True))
                | (~Q(kind="weekly") & Q(date__isnull=False) & Q(weekday__isnull=True)),
                name="counselling_avail_when",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.starts:%H:%M}–{self.ends:%H:%M}"


class Channel(models.TextChoices):
    FACE_TO_FACE = "face_to_face", _("Face to face")
    PHONE = "phone", _("Phone")
    ONLINE = "online", pgettext_lazy("counselling channel", "Online")
    GROUP = "group", _("Group")


class AppointmentStatus(models.TextChoices):
    REQUESTED = "requested", _("Awaiting confirmation")
    CONFIRMED = "confirmed", pgettext_lazy("appointment status", "Confirmed")
    CANCELLED = "cancelled", _("Cancelled")
    RESCHEDULED = "rescheduled", _("Rescheduled")
    NO_SHOW = "no_show", _("No-show")
    DONE = "done", _("Took place")


# An appointment in these statuses holds its counsellor and room.
HOLDING = (AppointmentStatus.REQUESTED, AppointmentStatus.CONFIRMED)


class CancelReason(models.TextChoices):
    STUDENT_UNAVAILABLE = "student", _("The student cannot come")
    COUNSELLOR_UNAVAILABLE = "counsellor", _("The counsellor cannot")
    NOT_NEEDED = "not_needed", _("No longer needed")
    OTHER = "other", _("Other")


class BookedAs(models.TextChoices):
    COUNSELLOR = "counsellor", _("The counsellor")
    HEAD_TEACHER = "head_teacher", _("Head teacher, on the student's behalf")
    STUDENT = "student", _("The student")
    PARENT = "parent", _("A parent, for their child")
    MENTOR = "mentor", _("Mentor, on the student's behalf")


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def holding(self) -> AppointmentQuerySet:
        return self.filter(status__in=HOLDING)

    def overlapping(self, starts_at: object, ends_at: object) -> AppointmentQuerySet:
        return self.filter(starts_at__lt=ends_at, ends_at__gt=starts_at)


class Appointment(models.Model):
    """A booked time of a student with a counsellor (and a room for face-to-face)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    # The student's school: the distribution key every large table carries.
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="+")
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    room = models.ForeignKey(Room, on_delete=models.PROTECT, null=True, blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    meeting_link = models.URLField(_("meeting link"), blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=AppointmentStatus.choices, db_index=True
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    booked_as = models.CharField(max_length=16, choices=BookedAs.choices)
    booked_at = models.DateTimeField()
    cancel_reason = models.CharField(
        _("reason"), max_length=12, choices=CancelReason.choices, blank=True
    )
    cancel_note = models.CharField(_("note"), max_length=200, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(null=True)
    rescheduled_to = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="rescheduled_from"
    )

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [
            models.Index(fields=["counsellor", "starts_at"], name="counselling_appt_who_when"),
            models.Index(fields=["unit", "starts_at"], name="counselling_appt_unit_when"),
            models.Index(fields=["school", "student"], name="counselling_appt_student"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="counselling_appt_ends"
            ),
            # The same start twice: refused by every database (PostgreSQL's exclusion
            # constraints, migration 0002, refuse any overlap).
            models.UniqueConstraint(
                fields=["counsellor", "starts_at"],
                condition=Q(status__in=HOLDING),
                name="counselling_appt_counsellor_start",
            ),
            models.UniqueConstraint(
                fields=["room", "starts_at"],
                condition=Q(status__in=HOLDING) & Q(room__isnull=False),
                name="counselling_appt_room_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def is_holding(self) -> bool:
        return self.status in HOLDING


class UnitSettings(models.Model):
    """A unit's counselling settings: whether the counsellor confirms every booking."""

    unit = models.OneToOneField(OrgUnit, on_delete=models.CASCADE, related_name="+")
    confirm_bookings = models.BooleanField(
        _("the counsellor confirms every booking"), default=False
    )

    def __str__(self) -> str:
        return str(self.unit_id)


class CalendarFeed(models.Model):
    """A counsellor's private iCalendar feed: the URL carries a random token; only its hash is
    stored. Revoking ends the feed; a new one gets a new token."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(revoked_at__isnull=True),
                name="counselling_feed_one_live",
            )
        ]

    def __str__(self) -> str:
        return f"feed of {self.user_id}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


# --- sessions, confidentiality and supervision (咨询记录、保密例外、督导) ------------------
# Everything that describes the child's mental health is encrypted at rest (core.fields). Who
# reads what is decided in selectors_sessions.session_access: the process notes only their
# author and the author's supervisor; the summary the case team of the student's open case; a
# count the head teacher and the school leader (docs/counselling.md, "Sessions and
# confidentiality").
class ConcernCode(models.TextChoices):
    EMOTION = "emotion", _("Emotions (low mood, anxiety)")
    STUDY = "study", _("Study and exams")
    PEERS = "peers", _("Peers and friendship")
    FAMILY = "family", _("Family")
    BULLYING = "bullying", _("Bullying")
    SELF_HARM = "self_harm", _("Self-harm or suicidal thoughts")
    SLEEP = "sleep", _("Sleep and eating")
    INTERNET = "internet", _("Internet and gaming")
    ADAPTATION = "adaptation", _("Adapting to school")
    OTHER = "other", _("Other")


class InterventionCode(models.TextChoices):
    SUPPORTIVE = "supportive", _("Supportive listening")
    CBT = "cbt", _("Cognitive-behavioural techniques")
    SOLUTION = "solution", _("Solution-focused")
    RELAXATION = "relaxation", _("Relaxation training")
    SAND_PLAY = "sand_play", _("Sand play")
    SAFETY_PLAN = "safety_plan", _("Safety plan")
    PSYCHOEDUCATION = "psychoeducation", _("Psychoeducation")
    FAMILY = "family", _("Work with the family")
    OTHER = "other", _("Other")


class RiskLevel(models.TextChoices):
    RED = "red", _("Red")
    ORANGE = "orange", _("Orange")
    YELLOW = "yellow", _("Yellow")


class Session(models.Model):
    """One individual counselling session (咨询记录)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    # The student's school: the distribution key, as Appointment has.
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="+")
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    appointment = models.OneToOneField(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="session"
    )
    starts_at = models.DateTimeField(_("date and start"))
    minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    # Coded lists (ConcernCode, InterventionCode values) and texts: all encrypted.
    concerns = EncryptedJSONField(_("presenting concern"), default=list, blank=True)
    concern_text = EncryptedTextField(_("presenting concern, in words"), blank=True)
    # {"found": bool, "level": "" | RiskLevel}
    risk = EncryptedJSONField(_("risk check"), default=dict, blank=True)
    interventions = EncryptedJSONField(_("interventions used"), default=list, blank=True)
    plan = EncryptedTextField(_("plan"), blank=True)
    summary = EncryptedTextField(_("summary"), blank=True)
    notes = EncryptedTextField(_("process notes"), blank=True)
    next_appointment = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Links made from the session: the alert it raised, the case it was attached to.
    alert = models.ForeignKey(
        "alerts.Alert", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    client_key = models.CharField(max_length=64)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-starts_at", "-pk"]
        indexes = [
            models.Index(fields=["counsellor", "starts_at"], name="counselling_session_who"),
            models.Index(fields=["school", "student"], name="counselling_session_student"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["counsellor", "client_key"], name="counselling_session_once"
            )
        ]

    def __str__(self) -> str:
        return f"session {self.code}"

    @property
    def ends_at(self) -> Any:
        return self.starts_at + datetime.timedelta(minutes=self.minutes)

    @property
    def risk_found(self) -> bool:
        return bool((self.risk or {}).get("found"))

    @property
    def risk_level(self) -> str:
        return str((self.risk or {}).get("level") or "")

    def risk_label(self) -> str:
        return str(dict(RiskLevel.choices).get(self.risk_level, ""))

    def concern_labels(self) -> list[str]:
        labels = dict(ConcernCode.choices)
        return [str(labels.get(c, c)) for c in self.concerns or []]

    def intervention_labels(self) -> list[str]:
        labels = dict(InterventionCode.choices)
        return [str(labels.get(c, c)) for c in self.interventions or []]


class BreakReason(models.TextChoices):
    DANGER_SELF = "danger_self", _("Danger to the student's own life or safety")
    DANGER_OTHERS = "danger_others", _("Danger to others")
    ABUSE = "abuse", _("The student is being abused or neglected")
    LAW = "law", _("Required by law")
    OTHER = "other", _("Other")


class ConfidentialityBreak(models.Model):
    """A recorded decision to break confidentiality (保密例外): who decided, why, whom it was
    disclosed to and when. Its reason text is encrypted; the fact is shown to the author, the
    supervisor and the school leader — never the notes."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="breaks")
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=16, choices=BreakReason.choices)
    reason_text = EncryptedTextField(_("why, in words"))
    disclosed_to = EncryptedTextField(_("disclosed to"))
    disclosed_at = models.DateTimeField(_("disclosed at"))
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-disclosed_at", "-pk"]

    def __str__(self) -> str:
        return f"break {self.code}"


class SupervisionStatus(models.TextChoices):
    ASKED = "asked", _("Asked")
    GIVEN = "given", _("Advice given")


class SupervisionRequest(models.Model):
    """A counsellor asks a supervisor (督导) about one or more of their sessions; the supervisor
    reads those sessions' process notes and records the advice, follow-up actions and time."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    supervisee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    sessions = models.ManyToManyField(Session, related_name="supervisions")
    question = EncryptedTextField(_("question"))
    asked_at = models.DateTimeField()
    status = models.CharField(
        _("status"), max_length=8, choices=SupervisionStatus.choices, default="asked"
    )
    advice = EncryptedTextField(_("advice"), blank=True)
    actions = EncryptedTextField(_("follow-up actions"), blank=True)
    minutes = models.PositiveSmallIntegerField(
        _("time spent (minutes)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(5), MaxValueValidator(600)],
    )
    given_at = models.DateTimeField(null=True, blank=True)
    client_key = models.CharField(max_length=64)

    class Meta:
        ordering = ["-asked_at", "-pk"]
        indexes = [
            models.Index(fields=["supervisor", "given_at"], name="counselling_sup_given"),
            models.Index(fields=["supervisee", "given_at"], name="counselling_sup_received"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["supervisee", "client_key"], name="counselling_supervision_once"
            )
        ]

    def __str__(self) -> str:
        return f"supervision {self.code}"


# --- group programmes, the hotline log, case conferences (issue 15, docs/counselling.md) --------
class GroupKind(models.TextChoices):
    DEVELOPMENTAL = "developmental", _("Developmental")
    PROBLEM_FOCUSED = "problem_focused", _("Problem-focused")
    INCIDENT_SUPPORT = "incident_support", _("Incident support")


class GroupProgramme(models.Model):
    """A group counselling programme (团体辅导) of a unit: its theme, facilitators, members and
    planned sessions. Kept by the unit's counsellors (docs/counselling.md)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    theme = models.CharField(_("theme"), max_length=120)
    description = models.TextField(_("description"), blank=True, max_length=2000)
    kind = models.CharField(_("kind"), max_length=20, choices=GroupKind.choices)
    facilitators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="+", verbose_name=_("facilitators")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # A double submit makes one programme.
            models.UniqueConstraint(fields=["unit", "theme"], name="counselling_group_unit_theme")
        ]

    def __str__(self) -> str:
        return self.theme


class GroupMember(models.Model):
    programme = models.ForeignKey(GroupProgramme, on_delete=models.CASCADE, related_name="members")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "student"], name="counselling_group_member_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.programme_id}/{self.student_id}"


class ProgrammeSession(models.Model):
    """One planned session of a programme: it holds its room for [starts_at, ends_at) as an
    appointment does (services_groups: the same room lock and overlap check)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    programme = models.ForeignKey(GroupProgramme, on_delete=models.CASCADE, related_name="sessions")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    room = models.ForeignKey(Room, on_delete=models.PROTECT, null=True, blank=True)
    # The short record: it describes children, so it is sealed.
    record = EncryptedTextField(_("record"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [models.Index(fields=["room", "starts_at"], name="counselling_gsess_room")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="counselling_gsess_ends"
            ),
            models.UniqueConstraint(
                fields=["room", "starts_at"],
                condition=Q(room__isnull=False),
                name="counselling_gsess_room_start",
            ),
            models.UniqueConstraint(
                fields=["programme", "starts_at"], name="counselling_gsess_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def hours(self) -> float:
        return (self.ends_at - self.starts_at).total_seconds() / 3600


class SessionAttendance(models.Model):
    session = models.ForeignKey(
        ProgrammeSession, on_delete=models.CASCADE, related_name="attendance"
    )
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="+")
    present = models.BooleanField(_("present"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "student"], name="counselling_gsess_attendance_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.session_id}/{self.student_id}"


class CallChannel(models.TextChoices):
    PHONE = "phone", _("Phone hotline")
    ONLINE = "online", _("Online chat")


class CallerKind(models.TextChoices):
    STUDENT = "student", _("Student")
    PARENT = "parent", _("Parent")
    TEACHER = "teacher", _("Teacher")
    OTHER = "other", _("Other")


class CallRisk(models.TextChoices):
    NONE = "none", _("No risk seen")
    YELLOW = "yellow", _("Yellow")
    ORANGE = "orange", _("Orange")
    RED = "red", _("Red")


class CallOutcome(models.TextChoices):
    ADVICE = "advice", _("Advice given")
    FOLLOW_UP_CALL = "follow_up_call", _("Follow-up call")
    SCHOOL_COUNSELLOR = "school_counsellor", _("Referred to a school counsellor")
    HOSPITAL = "hospital", _("Referred to hospital")
    EMERGENCY = "emergency", _("Emergency services")


class HotlineCall(models.Model):
    """One call or chat of a station's or the centre's hotline (热线、网络咨询). The concern and
    the follow-up are sealed; an identified student's call can raise an alert (source hotline)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("channel"), max_length=8, choices=CallChannel.choices)
    started_at = models.DateTimeField(_("start"))
    minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), validators=[MinValueValidator(1), MaxValueValidator(600)]
    )
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    anonymous = models.BooleanField(_("anonymous caller"), default=True)
    caller_kind = models.CharField(_("caller"), max_length=8, choices=CallerKind.choices)
    student = models.ForeignKey(
        Student, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    school = models.ForeignKey(
        OrgUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    concern_code = models.CharField(_("concern"), max_length=16, choices=ConcernCode.choices)
    concern = EncryptedTextField(_("what the caller told"), blank=True)
    risk = models.CharField(_("risk"), max_length=8, choices=CallRisk.choices)
    outcome = models.CharField(_("outcome"), max_length=20, choices=CallOutcome.choices)
    follow_up = EncryptedTextField(_("follow-up"), blank=True)
    follow_up_on = models.DateField(_("follow up on"), null=True, blank=True)
    alert = models.ForeignKey(
        "alerts.Alert", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Retry-safe: the form carries a key; a double submit logs one call.
    client_key = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [
            models.Index(fields=["unit", "started_at"], name="counselling_call_unit"),
            models.Index(fields=["taken_by", "started_at"], name="counselling_call_who"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(anonymous=True, student__isnull=True) | Q(anonymous=False),
                name="counselling_call_anonymous",
            )
        ]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.channel}"


class CaseConference(models.Model):
    """A case conference (个案研讨): the author brings a de-identified case to a school's or a
    station's conference. Participants and the author see it; no student is linked."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    held_on = models.DateField(_("date"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="+", verbose_name=_("participants")
    )
    question = EncryptedTextField(_("the question"))
    presentation = EncryptedTextField(_("case presentation (de-identified)"))
    advice = EncryptedTextField(_("advice"), blank=True)
    created_at = models.DateTimeField()
    client_key = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-held_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.held_on}"


class ConferenceAction(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    conference = models.ForeignKey(CaseConference, on_delete=models.CASCADE, related_name="actions")
    text = EncryptedTextField(_("action"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField(_("due"))
    done = models.BooleanField(_("done"), default=False)

    class Meta:
        ordering = ["due_on", "pk"]

    def __str__(self) -> str:
        return f"{self.due_on}"


# --- room opening hours, the waitlist, reminders (issue 15: R21 room usage) ----------------------
class RoomHours(models.Model):
    """A weekly window in which a room is open (in term time at a school). A room with hours
    offers no free time outside them; a room without any is open whenever a counsellor is."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts = models.TimeField(_("from"))
    ends = models.TimeField(_("until"))

    class Meta:
        ordering = ["weekday", "starts", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends__gt=F("starts")), name="counselling_roomhours_ends"
            ),
            models.UniqueConstraint(
                fields=["room", "weekday", "starts"], name="counselling_roomhours_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts:%H:%M}–{self.ends:%H:%M}"


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    OFFERED = "offered", _("A time is offered")
    BOOKED = "booked", _("Booked")
    LEFT = "left", _("Left the waitlist")
    LAPSED = "lapsed", _("The offer lapsed")
    EXPIRED = "expired", _("The week is over")


WAITLIST_OPEN = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)


class WaitlistEntry(models.Model):
    """A booker waits for a time with a counsellor (or any counsellor of the unit) in one week.
    When a holding appointment of that week is cancelled or moved, the first waiting entry is
    offered the freed time until `offer_until`; entries expire at the week's end."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="+")
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    week_start = models.DateField(_("week of"))
    status = models.CharField(
        _("status"), max_length=8, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    booked_as = models.CharField(max_length=16, choices=BookedAs.choices)
    created_at = models.DateTimeField()
    offered_starts_at = models.DateTimeField(null=True, blank=True)
    offered_ends_at = models.DateTimeField(null=True, blank=True)
    offered_counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    offered_room = models.ForeignKey(Room, on_delete=models.PROTECT, null=True, blank=True)
    offer_until = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["unit", "week_start", "status"], name="counselling_wait_unit_wk")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "student", "unit", "week_start"],
                condition=Q(status__in=WAITLIST_OPEN),
                name="counselling_wait_once",
            )
        ]

    def __str__(self) -> str:
        return f"waitlist {self.week_start} {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status in WAITLIST_OPEN


class Reminder(models.Model):
    """The reminder of one appointment was sent (a day before): never twice."""

    appointment = models.OneToOneField(Appointment, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"reminder {self.appointment_id}"


# --- help requests (a student's "I'd like to talk" / "I need help now") ------------------------
class HelpOutcome(models.TextChoices):
    TALKED = "talked", _("Talked with the student")
    SESSION_BOOKED = "session_booked", _("A session was booked")
    ALERT_RAISED = "alert_raised", _("An alert was raised")
    REFERRED = "referred", _("Referred elsewhere")
    NO_ACTION = "no_action", _("No further action needed")


class HelpRequest(models.Model):
    """A student's own request for help, made from their signed-in student page (never in
    another student's name). Urgent ("I need help now") requests must be acknowledged by
    `respond_by` (the red-alert acknowledge deadline); past it they escalate (`escalation_step`:
    1 the unit's psychology teachers, 2 the school leader, 3 the district station). The optional
    message is encrypted at rest and never travels by email."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    school = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="+")
    urgent = models.BooleanField(_("urgent"), default=False)
    message = EncryptedTextField(_("message"), blank=True)
    # The form's one-time key: a double click (or a resent POST) never makes a second request.
    request_key = models.CharField(max_length=40)
    created_at = models.DateTimeField()
    respond_by = models.DateTimeField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    escalation_step = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    alert = models.ForeignKey(
        Alert, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=HelpOutcome.choices, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["school", "closed_at"], name="counselling_help_open"),
            models.Index(fields=["respond_by"], name="counselling_help_due"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "request_key"], name="counselling_help_one_per_key"
            ),
            models.CheckConstraint(
                condition=~Q(outcome="") | Q(closed_at__isnull=True),
                name="counselling_help_closed_outcome",
            ),
        ]

    def __str__(self) -> str:
        return f"help {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
