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

import hashlib
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from xinqiao.alerts.models import Alert
from xinqiao.core.fields import EncryptedTextField
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
    ONLINE = "online", _("Online")
    GROUP = "group", _("Group")


class AppointmentStatus(models.TextChoices):
    REQUESTED = "requested", _("Awaiting confirmation")
    CONFIRMED = "confirmed", _("Confirmed")
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
