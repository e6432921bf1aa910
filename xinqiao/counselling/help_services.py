"""Writes of a student's own way to counselling: bookings the student makes (or cancels) from
their signed-in student page, and help requests — "I need help now" (urgent) — with their
answer by the counsellor on duty, escalation when nobody acknowledges in time, and what the
counsellor does with one (acknowledge, book a session, raise an alert, close with an outcome).

A student is not a Django user: the student functions take the `Student` the student page's
signed session names (never a form field), and the audit event has no actor and says
`"by": "student"`. Messages to staff never name the child (they travel by email too)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from xinqiao.access.holders import moral_education_leaders, station_counsellors
from xinqiao.alerts import selectors as alert_selectors
from xinqiao.alerts import services as alert_services
from xinqiao.alerts.models import Alert, Level
from xinqiao.alerts.models import Source as AlertSource
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import User
from xinqiao.notifications.services import notify
from xinqiao.orgs.models import OrgUnit
from xinqiao.people.models import Student

from . import services
from .models import (
    Appointment,
    AppointmentStatus,
    BookedAs,
    CancelReason,
    Channel,
    HelpOutcome,
    HelpRequest,
    Room,
    UnitSettings,
)
from .selectors import counsellor_of, counsellors_of, on_duty

MESSAGE_MAX = 500
# An urgent request escalates, unacknowledged: 1 at respond_by (the unit's psychology teachers),
# 2 at the red alert's "red_leader" offset (the school leader), 3 at "red_station" (the station).
LAST_STEP = 3


def _student_school(student: Student) -> OrgUnit:
    school = student.school
    if student.status != "enrolled" or not school.is_active:
        raise DomainError(_("This page is not available for you now. Ask your teacher."))
    return school


# --- bookings by the student ----------------------------------------------------------------
@transaction.atomic
def book_as_student(
    *,
    student: Student,
    counsellor: Any,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    room: Room | None = None,
) -> Appointment:
    """The student books one of the free times of a counsellor of their own school (face to
    face). The counsellor is the appointment's `booked_by` (the student has no account; the
    appointment says booked_as=student) and is told, without the student's name."""
    unit = _student_school(student)
    if counsellor_of(unit, counsellor.pk) is None:
        raise DomainError(_("Choose a counsellor of your school."), field="counsellor")
    services._check_slot(
        unit=unit, counsellor=counsellor, starts_at=starts_at, ends_at=ends_at, room=room
    )
    services._lock(counsellor_id=counsellor.pk, room_id=room.pk if room else None)
    services._hold_or_refuse(counsellor=counsellor, room=room, starts_at=starts_at, ends_at=ends_at)
    confirm = UnitSettings.objects.filter(unit=unit, confirm_bookings=True).exists()
    status = AppointmentStatus.REQUESTED if confirm else AppointmentStatus.CONFIRMED
    appointment = services._insert(
        Appointment(
            unit=unit,
            school_id=student.school_id,
            student=student,
            counsellor=counsellor,
            room=room,
            starts_at=starts_at,
            ends_at=ends_at,
            channel=Channel.FACE_TO_FACE,
            status=status,
            booked_by=counsellor,
            booked_as=BookedAs.STUDENT,
            booked_at=timezone.now(),
        )
    )
    record_event(
        actor=None,
        action="counselling.appointment.booked",
        obj=appointment,
        school_id=student.school_id,
        fields={
            "by": "student",
            "student": str(student.code),
            "counsellor": counsellor.pk,
            "room": room.pk if room else None,
            "starts_at": starts_at.isoformat(),
            "channel": Channel.FACE_TO_FACE,
            "status": status,
            "booked_as": BookedAs.STUDENT,
        },
    )
    services._tell(appointment, [counsellor], "counselling.appointment.booked")
    return appointment


@transaction.atomic
def cancel_as_student(*, student: Student, appointment: Appointment) -> Appointment:
    """The student cancels one of their own open appointments (whoever booked it)."""
    appointment = services._locked(appointment)
    if appointment.student_id != student.pk:
        raise DomainError(_("This appointment is not yours."))
    if not appointment.is_holding:
        raise DomainError(_("This appointment is no longer open."))
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancel_reason = CancelReason.STUDENT_UNAVAILABLE
    appointment.changed_by, appointment.changed_at = None, timezone.now()
    appointment.save(update_fields=["status", "cancel_reason", "changed_by", "changed_at"])
    record_event(
        actor=None,
        action="counselling.appointment.cancelled",
        obj=appointment,
        school_id=appointment.school_id,
        fields={"by": "student", "reason": CancelReason.STUDENT_UNAVAILABLE},
    )
    people = {appointment.counsellor_id: appointment.counsellor}
    people[appointment.booked_by_id] = appointment.booked_by
    services._tell(appointment, list(people.values()), "counselling.appointment.cancelled")
    return appointment


# --- help requests -------------------------------------------------------------------------
def _help_url(help_request: HelpRequest) -> str:
    return reverse("counselling:help-detail", kwargs={"code": help_request.code})


def _tell_help(help_request: HelpRequest, recipients: list[Any], *, escalated: bool) -> None:
    """An in-app message (it may travel by email): the school and the deadline, never the
    child's name or the message."""
    if not recipients:
        return
    when = timezone.localtime(help_request.respond_by).strftime("%H:%M")
    school = help_request.school.name
    if escalated:
        subject = _(
            "Not yet answered: a student of %(school)s asked for help now (answer by %(when)s)"
        )
    elif help_request.urgent:
        subject = _("A student of %(school)s needs help now: answer by %(when)s")
    else:
        subject = _("A student of %(school)s asked to talk with a counsellor")
    notify(
        recipients=recipients,
        kind="counselling.help.escalated" if escalated else "counselling.help.requested",
        subject=subject % {"school": school, "when": when},
        url=_help_url(help_request),
        ref=help_request,
    )


@transaction.atomic
def ask_for_help(
    *, student: Student, urgent: bool, message: str = "", request_key: str
) -> tuple[HelpRequest, bool]:
    """The student's request, to the counsellor on duty at their school (the roster, else the
    school's psychology teachers, else the district station). Urgent: answer by the red alert's
    acknowledge deadline; otherwise by the orange alert's verify deadline. The same form sent
    twice (`request_key`) gives the first request back. Returns (request, created)."""
    key = (request_key or "").strip()[:40]
    if not key:
        raise DomainError(_("Reload the page and try again."))
    message = (message or "").strip()
    if len(message) > MESSAGE_MAX:
        raise DomainError(
            _("Keep the message under %(n)s characters.") % {"n": MESSAGE_MAX}, field="message"
        )
    school = _student_school(student)
    existing = HelpRequest.objects.filter(student=student, request_key=key).first()
    if existing is not None:
        return existing, False
    now = timezone.now()
    answer = on_duty(school, now)
    owner = answer.users[0] if answer.users else None
    deadlines = alert_selectors.deadlines_of(Level.RED if urgent else Level.ORANGE, now)
    respond_by = deadlines.acknowledge_by if urgent else deadlines.verify_by
    assert respond_by is not None  # a red alert always has an acknowledge deadline
    help_request = HelpRequest(
        school=school,
        student=student,
        urgent=urgent,
        message=message,
        request_key=key,
        created_at=now,
        respond_by=respond_by,
        owner=owner,
    )
    try:
        with transaction.atomic():
            help_request.save()
    except IntegrityError:  # the same key from a concurrent double click
        return HelpRequest.objects.get(student=student, request_key=key), False
    record_event(
        actor=None,
        action="counselling.help.requested",
        obj=help_request,
        school_id=school.pk,
        fields={
            "by": "student",
            "student": str(student.code),
            "urgent": urgent,
            "owner": owner.pk if owner else None,
            "routed_by": answer.source,
            "respond_by": respond_by.isoformat(),
        },
    )
    # Urgent: everyone on duty now hears of it; otherwise the one it went to.
    _tell_help(help_request, answer.users if urgent else [owner] if owner else [], escalated=False)
    return help_request, True


def _locked_help(help_request: HelpRequest) -> HelpRequest:
    rows = HelpRequest.objects.select_for_update(of=("self",)).select_related("school", "student")
    return rows.get(pk=help_request.pk)


def _open(help_request: HelpRequest) -> HelpRequest:
    locked = _locked_help(help_request)
    if not locked.is_open:
        raise DomainError(_("This request for help is closed."))
    return locked


def _acknowledge(help_request: HelpRequest, actor: User, now: datetime.datetime) -> bool:
    if help_request.acknowledged_at is not None:
        return False
    help_request.acknowledged_by, help_request.acknowledged_at = actor, now
    help_request.save(update_fields=["acknowledged_by", "acknowledged_at"])
    record_event(
        actor=actor,
        action="counselling.help.acknowledged",
        obj=help_request,
        school_id=help_request.school_id,
        fields={"late": now > help_request.respond_by},
    )
    return True


@transaction.atomic
def acknowledge_help(*, actor: User, help_request: HelpRequest) -> HelpRequest:
    """ "I have it": stops the escalation. Twice is harmless."""
    help_request = _open(help_request)
    _acknowledge(help_request, actor, timezone.now())
    return help_request


@transaction.atomic
def book_for_help(
    *,
    actor: User,
    help_request: HelpRequest,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    channel: str,
    room: Room | None = None,
    meeting_link: str = "",
) -> Appointment:
    """A session for the request with the acting counsellor, as the student asked for it
    (booked_as=student); the request keeps the link and counts as acknowledged."""
    help_request = _open(help_request)
    unit = help_request.school
    if counsellor_of(unit, actor.pk) is None:
        # A station counsellor answering an escalated request counsels at their station.
        units = [u for u in _counselling_units(actor) if u.kind != "school"]
        if not units:
            raise DomainError(_("Only a counsellor can book a session."))
        unit = units[0]
    appointment = services.book_appointment(
        actor=actor,
        booked_as=BookedAs.STUDENT,
        unit=unit,
        student=help_request.student,
        counsellor=actor,
        starts_at=starts_at,
        ends_at=ends_at,
        channel=channel,
        room=room,
        meeting_link=meeting_link,
    )
    now = timezone.now()
    _acknowledge(help_request, actor, now)
    help_request.appointment = appointment
    help_request.save(update_fields=["appointment"])
    record_event(
        actor=actor,
        action="counselling.help.session_booked",
        obj=help_request,
        school_id=help_request.school_id,
        fields={"appointment": str(appointment.code)},
    )
    return appointment


def _counselling_units(actor: User) -> list[OrgUnit]:
    from xinqiao.access.scope import principal_for

    from .selectors import counselling_units_of

    return counselling_units_of(principal_for(actor))


@transaction.atomic
def raise_alert_for_help(*, actor: User, help_request: HelpRequest, level: str) -> Alert:
    """Into the alert loop through the alerts app's raising service (source help_request): a
    new alert, or the student's open one with this trigger attached."""
    if level not in (Level.RED, Level.ORANGE, Level.YELLOW):
        raise DomainError(_("Choose a level."), field="level")
    help_request = _open(help_request)
    alert = alert_services.raise_alert(
        student=help_request.student,
        level=level,
        source=AlertSource.HELP_REQUEST,
        evidence={"help_request": str(help_request.code), "urgent": help_request.urgent},
        rule="help_request",
        actor=actor,
    )
    _acknowledge(help_request, actor, timezone.now())
    help_request.alert = alert
    help_request.save(update_fields=["alert"])
    record_event(
        actor=actor,
        action="counselling.help.alert_raised",
        obj=help_request,
        school_id=help_request.school_id,
        fields={"alert": alert.pk, "level": level},
    )
    return alert


@transaction.atomic
def close_help(*, actor: User, help_request: HelpRequest, outcome: str) -> HelpRequest:
    if outcome not in HelpOutcome.values:
        raise DomainError(pgettext("help request", "Choose an outcome."), field="outcome")
    help_request = _open(help_request)
    now = timezone.now()
    _acknowledge(help_request, actor, now)
    help_request.outcome = outcome
    help_request.closed_by, help_request.closed_at = actor, now
    help_request.save(update_fields=["outcome", "closed_by", "closed_at"])
    record_event(
        actor=actor,
        action="counselling.help.closed",
        obj=help_request,
        school_id=help_request.school_id,
        fields={"outcome": outcome},
    )
    return help_request


# --- escalation ---------------------------------------------------------------------------------
def step_due(help_request: HelpRequest, step: int) -> datetime.datetime:
    """When an unacknowledged urgent request reaches `step` (1..3)."""
    if step == 1:
        return help_request.respond_by
    step_name = "red_leader" if step == 2 else "red_station"
    return alert_selectors.escalation_time(step_name, help_request.created_at)


def _recipients(help_request: HelpRequest, step: int) -> list[Any]:
    if step == 1:
        return counsellors_of(help_request.school)
    if step == 2:
        return moral_education_leaders(help_request.school_id)
    return station_counsellors(help_request.school_id)


def run_help_escalations(*, now: datetime.datetime | None = None) -> int:
    """Escalate every urgent, open, unacknowledged request whose next step is due; the number
    of steps taken. Idempotent and safe to run concurrently: each step is taken once, under the
    row's lock, in its own transaction."""
    now = now or timezone.now()
    done = 0
    candidates = HelpRequest.objects.filter(
        urgent=True,
        closed_at__isnull=True,
        acknowledged_at__isnull=True,
        escalation_step__lt=LAST_STEP,
        respond_by__lte=now,
    ).values_list("pk", flat=True)
    for pk in list(candidates):
        with transaction.atomic():
            row = _locked_help(HelpRequest(pk=pk))
            if row.acknowledged_at is not None or not row.is_open:
                continue
            while row.escalation_step < LAST_STEP and step_due(row, row.escalation_step + 1) <= now:
                row.escalation_step += 1
                row.escalated_at = now
                row.save(update_fields=["escalation_step", "escalated_at"])
                people = _recipients(row, row.escalation_step)
                record_event(
                    actor=None,
                    action="counselling.help.escalated",
                    obj=row,
                    school_id=row.school_id,
                    fields={"step": row.escalation_step, "to": sorted(u.pk for u in people)},
                )
                _tell_help(row, people, escalated=True)
                done += 1
    return done
