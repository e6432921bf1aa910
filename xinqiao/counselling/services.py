"""Writes of the counselling service: rooms, the duty roster and its exceptions, availability,
appointments (book, confirm, cancel, reschedule, no-show, took place), the unit's settings and
the calendar feed. One transaction each with its audit event; callers have checked the actor's
scope through the selectors.

Booking never double-books a counsellor or a room: the overlap check below runs inside the
transaction, and the database refuses what slips past it (PostgreSQL: the exclusion constraints
of migration 0002; every database: one holding row per counsellor and start, per room and
start). A refused race comes back as the same DomainError as a checked one: "that time is
taken", never a server error.
"""

from __future__ import annotations

import datetime
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor, User
from xinqiao.notifications.services import notify
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.people.models import Student

from .models import (
    COUNSELLING_UNIT_KINDS,
    Appointment,
    AppointmentStatus,
    Availability,
    AvailabilityKind,
    BookedAs,
    CalendarFeed,
    CancelReason,
    Channel,
    DutyException,
    DutySlot,
    ExceptionKind,
    ProgrammeSession,
    Reminder,
    Room,
    RoomHours,
    UnitSettings,
    WaitlistEntry,
    WaitlistStatus,
    Weekday,
)
from .selectors import offered_to_others, room_open, week_of, within_availability


def _school_id(unit: OrgUnit) -> int | None:
    return unit.pk if unit.kind == Kind.SCHOOL else None


def _check_unit(unit: OrgUnit) -> None:
    if unit.kind not in COUNSELLING_UNIT_KINDS:
        raise DomainError(_("Counselling belongs to a school, a station or the city centre."))


def _check_times(starts: datetime.time, ends: datetime.time) -> None:
    if ends <= starts:
        raise DomainError(_("The end must come after the start."), field="ends")


def _check_room(room: Room | None, unit: OrgUnit) -> None:
    if room is not None and (room.unit_id != unit.pk or not room.is_active):
        raise DomainError(_("Choose a room of this unit."), field="room")


# --- rooms ----------------------------------------------------------------------------------------
@transaction.atomic
def save_room(
    *,
    actor: Actor,
    unit: OrgUnit,
    name: str,
    kind: str,
    capacity: int = 1,
    is_active: bool = True,
    room: Room | None = None,
) -> Room:
    """Add a bookable room to `unit`, or change `room`."""
    _check_unit(unit)
    name = " ".join(name.split())
    same_name = Room.objects.filter(unit=unit, name=name)
    if room is not None:
        same_name = same_name.exclude(pk=room.pk)
    if same_name.exists():
        raise DomainError(_("This unit already has a room of that name."), field="name")
    created = room is None
    room = room or Room(unit=unit)
    room.name, room.kind, room.capacity, room.is_active = name, kind, capacity, is_active
    room.full_clean(exclude=["unit"])
    room.save()
    record_event(
        actor=actor,
        action="counselling.room.created" if created else "counselling.room.updated",
        obj=room,
        school_id=_school_id(unit),
        fields={"unit": unit.pk, "kind": kind, "capacity": capacity, "active": is_active},
    )
    return room


# --- the duty roster ------------------------------------------------------------------------------
@transaction.atomic
def add_duty_slot(
    *,
    actor: Actor,
    unit: OrgUnit,
    counsellor: User,
    weekday: int,
    starts: datetime.time,
    ends: datetime.time,
    room: Room | None = None,
    valid_from: datetime.date | None = None,
    valid_until: datetime.date | None = None,
) -> DutySlot:
    """Put `counsellor` on duty at `unit` every `weekday` from `starts` to `ends`."""
    _check_unit(unit)
    _check_times(starts, ends)
    _check_room(room, unit)
    if valid_from and valid_until and valid_until < valid_from:
        raise DomainError(_("The end must come after the start."), field="valid_until")
    slot = DutySlot.objects.create(
        unit=unit,
        room=room,
        counsellor=counsellor,
        weekday=weekday,
        starts=starts,
        ends=ends,
        valid_from=valid_from,
        valid_until=valid_until,
        created_by=actor,
    )
    record_event(
        actor=actor,
        action="counselling.duty.added",
        obj=slot,
        school_id=_school_id(unit),
        fields={
            "unit": unit.pk,
            "counsellor": counsellor.pk,
            "weekday": weekday,
            "starts": starts.isoformat("minutes"),
            "ends": ends.isoformat("minutes"),
        },
    )
    return slot


@transaction.atomic
def remove_duty_slot(*, actor: Actor, slot: DutySlot) -> None:
    """Take a slot off the roster (with its exceptions)."""
    fields = {"unit": slot.unit_id, "counsellor": slot.counsellor_id, "weekday": slot.weekday}
    record_event(
        actor=actor,
        action="counselling.duty.removed",
        obj=slot,
        school_id=_school_id(slot.unit),
        fields=fields,
    )
    slot.delete()


@transaction.atomic
def add_duty_exception(
    *,
    actor: Actor,
    unit: OrgUnit,
    date: datetime.date,
    kind: str,
    slot: DutySlot | None = None,
    substitute: User | None = None,
    reason: str = "",
) -> DutyException:
    """One date's change: no duty (the whole unit, or one slot), or a substitute taking a slot
    that day (a swap is two substitutes)."""
    if slot is not None and slot.unit_id != unit.pk:
        raise DomainError(_("Choose a duty of this unit."), field="slot")
    if kind == ExceptionKind.SUBSTITUTE:
        if slot is None:
            raise DomainError(_("Choose the duty the substitute takes."), field="slot")
        if substitute is None:
            raise DomainError(_("Choose the substitute."), field="substitute")
    else:
        substitute = None
    if slot is not None and slot.weekday != date.weekday():
        raise DomainError(_("This duty is not on that weekday."), field="date")
    try:
        with transaction.atomic():
            exception = DutyException.objects.create(
                unit=unit,
                date=date,
                kind=kind,
                slot=slot,
                substitute=substitute,
                reason=reason.strip()[:200],
                created_by=actor,
            )
    except IntegrityError:
        raise DomainError(_("This duty already has a change on that date."), field="date") from None
    record_event(
        actor=actor,
        action="counselling.duty_exception.added",
        obj=exception,
        school_id=_school_id(unit),
        fields={
            "unit": unit.pk,
            "date": date.isoformat(),
            "kind": kind,
            "slot": slot.pk if slot else None,
            "substitute": substitute.pk if substitute else None,
        },
    )
    return exception


@transaction.atomic
def remove_duty_exception(*, actor: Actor, exception: DutyException) -> None:
    record_event(
        actor=actor,
        action="counselling.duty_exception.removed",
        obj=exception,
        school_id=_school_id(exception.unit),
        fields={"date": exception.date.isoformat(), "kind": exception.kind},
    )
    exception.delete()


# --- settings and availability ----------------------------------------------------------------
@transaction.atomic
def set_confirmation(*, actor: Actor, unit: OrgUnit, confirm_bookings: bool) -> UnitSettings:
    """Whether the unit's counsellors confirm every booking (else a booking is confirmed)."""
    _check_unit(unit)
    row, _created = UnitSettings.objects.update_or_create(
        unit=unit, defaults={"confirm_bookings": confirm_bookings}
    )
    record_event(
        actor=actor,
        action="counselling.settings.updated",
        obj=row,
        school_id=_school_id(unit),
        fields={"confirm_bookings": confirm_bookings},
    )
    return row


@transaction.atomic
def publish_availability(
    *,
    actor: User,
    unit: OrgUnit,
    kind: str,
    starts: datetime.time,
    ends: datetime.time,
    weekday: int | None = None,
    date: datetime.date | None = None,
    room: Room | None = None,
    slot_minutes: int = 50,
) -> Availability:
    """The acting counsellor's time at `unit`: weekly, once, or blocked."""
    _check_unit(unit)
    _check_times(starts, ends)
    _check_room(room, unit)
    if kind == AvailabilityKind.WEEKLY:
        if weekday is None:
            raise DomainError(_("Choose the weekday."), field="weekday")
        date = None
    else:
        if date is None:
            raise DomainError(_("Choose the date."), field="date")
        weekday = None
    row = Availability(
        unit=unit,
        counsellor=actor,
        room=room,
        kind=kind,
        weekday=weekday,
        date=date,
        starts=starts,
        ends=ends,
        slot_minutes=slot_minutes,
    )
    row.full_clean(exclude=["unit", "counsellor", "room"])
    row.save()
    record_event(
        actor=actor,
        action="counselling.availability.published",
        obj=row,
        school_id=_school_id(unit),
        fields={"kind": kind, "weekday": weekday, "date": date.isoformat() if date else None},
    )
    return row


@transaction.atomic
def remove_availability(*, actor: User, availability: Availability) -> None:
    record_event(
        actor=actor,
        action="counselling.availability.removed",
        obj=availability,
        school_id=_school_id(availability.unit),
        fields={"kind": availability.kind},
    )
    availability.delete()


# --- appointments -------------------------------------------------------------------------------
def _lock(*, counsellor_id: int, room_id: int | None) -> None:
    """Take the booking locks: the room's row, then the counsellor's (always in this order, so
    two bookings never wait on each other in a circle). Bookings of one counsellor or one room
    then run one after the other, and the overlap check below sees every committed booking.
    Without them PostgreSQL's exclusion constraint still refuses an overlap, but two concurrent
    inserts that conflict can deadlock while it checks (bench/booking.py found it). SQLite
    serialises writers anyway (IMMEDIATE transactions) and ignores FOR UPDATE."""
    if room_id is not None:
        list(Room.objects.select_for_update().filter(pk=room_id).values_list("pk"))
    users = get_user_model().objects.select_for_update(no_key=True).filter(pk=counsellor_id)
    list(users.values_list("pk"))


def _hold_or_refuse(
    *,
    counsellor: Any,
    room: Room | None,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    ignore: Appointment | None = None,
) -> None:
    """Refuse a time that overlaps a holding appointment of the counsellor or the room, or a
    group programme's session in the room (services_groups holds rooms the same way)."""
    holding = Appointment.objects.holding().overlapping(starts_at, ends_at)
    if ignore is not None:
        holding = holding.exclude(pk=ignore.pk)
    if holding.filter(counsellor=counsellor).exists():
        raise DomainError(_("That time is taken: the counsellor has another appointment then."))
    if room is not None and holding.filter(room=room).exists():
        raise DomainError(_("That time is taken: the room is booked then."), field="room")
    sessions = ProgrammeSession.objects.filter(starts_at__lt=ends_at, ends_at__gt=starts_at)
    if room is not None and sessions.filter(room=room).exists():
        raise DomainError(
            _("That time is taken: the room is booked then for a group session."), field="room"
        )


def _time_taken() -> DomainError:
    return DomainError(_("That time has just been taken. Choose another time."))


def _insert(appointment: Appointment) -> Appointment:
    """Save a new holding appointment; the database's refusal (a race lost) becomes the
    'time taken' error."""
    try:
        with transaction.atomic():
            appointment.save()
    except IntegrityError:
        raise _time_taken() from None
    return appointment


def _check_slot(
    *,
    unit: OrgUnit,
    counsellor: Any,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    room: Room | None,
) -> None:
    if ends_at <= starts_at:
        raise DomainError(_("The end must come after the start."), field="ends_at")
    if starts_at < timezone.now():
        raise DomainError(_("Choose a time in the future."), field="starts_at")
    _check_room(room, unit)
    if not within_availability(unit=unit, counsellor=counsellor, at=starts_at, until=ends_at):
        raise DomainError(
            _("The counsellor has not published this time. Choose one of the free times."),
            field="starts_at",
        )
    if room is not None and not room_open(room, starts_at, ends_at):
        raise DomainError(_("The room is not open then."), field="room")


@transaction.atomic
def book_appointment(
    *,
    actor: User,
    booked_as: str,
    unit: OrgUnit,
    student: Student,
    counsellor: Any,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    channel: str,
    room: Room | None = None,
    meeting_link: str = "",
) -> Appointment:
    """Book `student` with `counsellor` at `unit` for [starts_at, ends_at).

    Effects, in order: the time is checked against the counsellor's published availability
    (a counsellor booking for themself may book any time); the overlap check; the row (the
    database refuses a race lost); the audit event; the counsellor is told of a booking someone
    else made. With the unit's confirmation on, a head teacher's booking awaits the counsellor.
    """
    _check_unit(unit)
    if channel not in Channel.values:
        raise DomainError(_("Choose a channel."), field="channel")
    if channel == Channel.ONLINE and not meeting_link:
        raise DomainError(_("An online appointment needs its meeting link."), field="meeting_link")
    if channel != Channel.FACE_TO_FACE and channel != Channel.GROUP:
        room = None
    if actor.pk != counsellor.pk:
        _check_slot(
            unit=unit, counsellor=counsellor, starts_at=starts_at, ends_at=ends_at, room=room
        )
    elif ends_at <= starts_at:
        raise DomainError(_("The end must come after the start."), field="ends_at")
    else:
        _check_room(room, unit)
    _lock(counsellor_id=counsellor.pk, room_id=room.pk if room else None)
    _hold_or_refuse(counsellor=counsellor, room=room, starts_at=starts_at, ends_at=ends_at)
    if actor.pk != counsellor.pk:
        _refuse_offered(actor=actor, counsellor=counsellor, starts_at=starts_at, ends_at=ends_at)
    confirm = UnitSettings.objects.filter(unit=unit, confirm_bookings=True).exists()
    status = (
        AppointmentStatus.REQUESTED
        if confirm and booked_as != BookedAs.COUNSELLOR
        else AppointmentStatus.CONFIRMED
    )
    now = timezone.now()
    appointment = _insert(
        Appointment(
            unit=unit,
            school_id=student.school_id,
            student=student,
            counsellor=counsellor,
            room=room,
            starts_at=starts_at,
            ends_at=ends_at,
            channel=channel,
            meeting_link=meeting_link if channel == Channel.ONLINE else "",
            status=status,
            booked_by=actor,
            booked_as=booked_as,
            booked_at=now,
        )
    )
    record_event(
        actor=actor,
        action="counselling.appointment.booked",
        obj=appointment,
        school_id=student.school_id,
        fields={
            "student": str(student.code),
            "counsellor": counsellor.pk,
            "room": room.pk if room else None,
            "starts_at": starts_at.isoformat(),
            "channel": channel,
            "status": status,
            "booked_as": booked_as,
        },
    )
    if actor.pk != counsellor.pk:
        _tell(appointment, [counsellor], "counselling.appointment.booked")
    _close_offer(actor=actor, appointment=appointment)
    return appointment


def _tell(appointment: Appointment, recipients: list[Any], kind: str) -> None:
    """An in-app message without the student's name (it travels by email too)."""
    when = timezone.localtime(appointment.starts_at).strftime("%Y-%m-%d %H:%M")
    subjects = {
        "counselling.appointment.booked": _("New counselling appointment at %(when)s"),
        "counselling.appointment.confirmed": _("Counselling appointment at %(when)s confirmed"),
        "counselling.appointment.cancelled": _("Counselling appointment at %(when)s cancelled"),
        "counselling.appointment.rescheduled": _("Counselling appointment at %(when)s rescheduled"),
    }
    notify(
        recipients=recipients,
        kind=kind,
        subject=subjects[kind] % {"when": when},
        url=reverse("counselling:appointment-detail", kwargs={"code": appointment.code}),
        ref=appointment,
    )


def _locked(appointment: Appointment) -> Appointment:
    rows = Appointment.objects.select_for_update(of=("self",)).select_related("unit")
    return rows.get(pk=appointment.pk)


@transaction.atomic
def confirm_appointment(*, actor: User, appointment: Appointment) -> Appointment:
    appointment = _locked(appointment)
    if appointment.status != AppointmentStatus.REQUESTED:
        raise DomainError(_("Only an appointment awaiting confirmation can be confirmed."))
    appointment.status = AppointmentStatus.CONFIRMED
    appointment.changed_by, appointment.changed_at = actor, timezone.now()
    appointment.save(update_fields=["status", "changed_by", "changed_at"])
    record_event(
        actor=actor,
        action="counselling.appointment.confirmed",
        obj=appointment,
        school_id=appointment.school_id,
    )
    if appointment.booked_by_id != actor.pk:
        _tell(appointment, [appointment.booked_by], "counselling.appointment.confirmed")
    return appointment


def _others(appointment: Appointment, actor: User) -> list[Any]:
    people = {appointment.counsellor_id: appointment.counsellor}
    people[appointment.booked_by_id] = appointment.booked_by
    return [u for pk, u in people.items() if pk != actor.pk]


@transaction.atomic
def cancel_appointment(
    *, actor: User, appointment: Appointment, reason: str, note: str = ""
) -> Appointment:
    """Cancel with a coded reason (and a short note): the time and the room are free again."""
    appointment = _locked(appointment)
    if not appointment.is_holding:
        raise DomainError(_("This appointment is no longer open."))
    if reason not in CancelReason.values:
        raise DomainError(_("Choose a reason."), field="reason")
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancel_reason, appointment.cancel_note = reason, note.strip()[:200]
    appointment.changed_by, appointment.changed_at = actor, timezone.now()
    appointment.save(
        update_fields=["status", "cancel_reason", "cancel_note", "changed_by", "changed_at"]
    )
    record_event(
        actor=actor,
        action="counselling.appointment.cancelled",
        obj=appointment,
        school_id=appointment.school_id,
        fields={"reason": reason},
    )
    _tell(appointment, _others(appointment, actor), "counselling.appointment.cancelled")
    offer_freed_time(appointment)
    return appointment


@transaction.atomic
def reschedule_appointment(
    *,
    actor: User,
    appointment: Appointment,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    reason: str,
    note: str = "",
    room: Room | None = None,
) -> Appointment:
    """Move an open appointment: the old row is kept (status rescheduled, with the reason and a
    link to the new one), the new one is booked under the same rules."""
    old = _locked(appointment)
    if not old.is_holding:
        raise DomainError(_("This appointment is no longer open."))
    if reason not in CancelReason.values:
        raise DomainError(_("Choose a reason."), field="reason")
    room = room if room is not None else old.room
    if actor.pk != old.counsellor_id:
        _check_slot(
            unit=old.unit,
            counsellor=old.counsellor,
            starts_at=starts_at,
            ends_at=ends_at,
            room=room,
        )
    elif ends_at <= starts_at:
        raise DomainError(_("The end must come after the start."), field="ends_at")
    _lock(counsellor_id=old.counsellor_id, room_id=room.pk if room else None)
    _hold_or_refuse(
        counsellor=old.counsellor_id, room=room, starts_at=starts_at, ends_at=ends_at, ignore=old
    )
    if actor.pk != old.counsellor_id:
        _refuse_offered(
            actor=actor, counsellor=old.counsellor, starts_at=starts_at, ends_at=ends_at
        )
    now = timezone.now()
    old.status = AppointmentStatus.RESCHEDULED
    old.cancel_reason, old.cancel_note = reason, note.strip()[:200]
    old.changed_by, old.changed_at = actor, now
    old.save(update_fields=["status", "cancel_reason", "cancel_note", "changed_by", "changed_at"])
    new = _insert(
        Appointment(
            unit=old.unit,
            school_id=old.school_id,
            student_id=old.student_id,
            counsellor_id=old.counsellor_id,
            room=room,
            starts_at=starts_at,
            ends_at=ends_at,
            channel=old.channel,
            meeting_link=old.meeting_link,
            status=_status_after_move(old),
            booked_by=old.booked_by,
            booked_as=old.booked_as,
            booked_at=now,
        )
    )
    old.rescheduled_to = new
    old.save(update_fields=["rescheduled_to"])
    record_event(
        actor=actor,
        action="counselling.appointment.rescheduled",
        obj=old,
        school_id=old.school_id,
        fields={"to": str(new.code), "starts_at": starts_at.isoformat(), "reason": reason},
    )
    _tell(new, _others(old, actor), "counselling.appointment.rescheduled")
    offer_freed_time(old)
    return new


def _status_after_move(old: Appointment) -> str:
    confirm = UnitSettings.objects.filter(unit_id=old.unit_id, confirm_bookings=True).exists()
    if confirm and old.booked_as != BookedAs.COUNSELLOR:
        return AppointmentStatus.REQUESTED
    return AppointmentStatus.CONFIRMED


@transaction.atomic
def record_attendance(*, actor: User, appointment: Appointment, attended: bool) -> Appointment:
    """After the start: the appointment took place, or the student did not come (no-show)."""
    appointment = _locked(appointment)
    if not appointment.is_holding:
        raise DomainError(_("This appointment is no longer open."))
    if appointment.starts_at > timezone.now():
        raise DomainError(_("Attendance is recorded once the appointment has begun."))
    appointment.status = AppointmentStatus.DONE if attended else AppointmentStatus.NO_SHOW
    appointment.changed_by, appointment.changed_at = actor, timezone.now()
    appointment.save(update_fields=["status", "changed_by", "changed_at"])
    record_event(
        actor=actor,
        action="counselling.appointment.attended"
        if attended
        else "counselling.appointment.no_show",
        obj=appointment,
        school_id=appointment.school_id,
    )
    return appointment


# --- the calendar feed ------------------------------------------------------------------------
@transaction.atomic
def create_feed(*, actor: User) -> str:
    """A new private feed for the acting counsellor (revoking the live one): the token, shown
    once; only its hash is kept."""
    revoke_feed(actor=actor)
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(
        user=actor, token_hash=CalendarFeed.hash_token(token), created_at=timezone.now()
    )
    record_event(actor=actor, action="counselling.feed.created", obj=feed)
    return token


@transaction.atomic
def revoke_feed(*, actor: User) -> bool:
    live = CalendarFeed.objects.select_for_update().filter(user=actor, revoked_at__isnull=True)
    feed = live.first()
    if feed is None:
        return False
    feed.revoked_at = timezone.now()
    feed.save(update_fields=["revoked_at"])
    record_event(actor=actor, action="counselling.feed.revoked", obj=feed)
    return True


# --- room opening hours ---------------------------------------------------------------------------
@transaction.atomic
def add_room_hours(
    *, actor: User, room: Room, weekday: int, starts: datetime.time, ends: datetime.time
) -> RoomHours:
    """A weekly window in which `room` is open; windows of one day never overlap."""
    _check_times(starts, ends)
    if weekday not in Weekday.values:
        raise DomainError(_("Choose the weekday."), field="weekday")
    list(Room.objects.select_for_update().filter(pk=room.pk).values_list("pk"))
    if RoomHours.objects.filter(
        room=room, weekday=weekday, starts__lt=ends, ends__gt=starts
    ).exists():
        raise DomainError(_("These hours overlap the room's other hours that day."), field="starts")
    row = RoomHours.objects.create(room=room, weekday=weekday, starts=starts, ends=ends)
    record_event(
        actor=actor,
        action="counselling.room_hours.added",
        obj=row,
        school_id=_school_id(room.unit),
        fields={
            "room": str(room.code),
            "weekday": weekday,
            "starts": str(starts),
            "ends": str(ends),
        },
    )
    return row


@transaction.atomic
def remove_room_hours(*, actor: User, hours: RoomHours) -> None:
    record_event(
        actor=actor,
        action="counselling.room_hours.removed",
        obj=hours,
        school_id=_school_id(hours.room.unit),
        fields={"room": str(hours.room.code), "weekday": hours.weekday},
    )
    hours.delete()


# --- reminders ------------------------------------------------------------------------------------
REMINDER_AHEAD = datetime.timedelta(days=1)


def send_reminders(now: datetime.datetime | None = None) -> int:
    """Tell the counsellor and whoever booked it, once, a day before each holding appointment
    (in-app; the email names the time, never the student). The `Reminder` row, unique per
    appointment and written in the same transaction as the messages, makes a second run (or a
    concurrent one) send nothing twice. The number of appointments reminded."""
    now = now or timezone.now()
    due = (
        Appointment.objects.holding()
        .filter(starts_at__gt=now, starts_at__lte=now + REMINDER_AHEAD)
        .exclude(pk__in=Reminder.objects.values("appointment_id"))
        .select_related("counsellor", "booked_by")
    )
    sent = 0
    for appointment in due[:2000]:
        try:
            with transaction.atomic():
                Reminder.objects.create(appointment=appointment, sent_at=now)
                people = {appointment.counsellor_id: appointment.counsellor}
                people[appointment.booked_by_id] = appointment.booked_by
                when = timezone.localtime(appointment.starts_at).strftime("%Y-%m-%d %H:%M")
                notify(
                    recipients=list(people.values()),
                    kind="counselling.appointment.reminder",
                    subject=_("Reminder: counselling appointment at %(when)s") % {"when": when},
                    url=reverse(
                        "counselling:appointment-detail", kwargs={"code": appointment.code}
                    ),
                    ref=appointment,
                )
        except IntegrityError:
            continue  # another run reminded it first
        sent += 1
    return sent


# --- the waitlist ---------------------------------------------------------------------------------
WAITLIST_OFFER_FOR = datetime.timedelta(hours=24)


@transaction.atomic
def join_waitlist(
    *,
    actor: User,
    booked_as: str,
    unit: OrgUnit,
    student: Student,
    week_start: datetime.date,
    counsellor: Any = None,
) -> WaitlistEntry:
    """Wait for a time with `counsellor` (None: any counsellor of `unit`) in the week from
    `week_start`. Once per booker, student, unit and week (a second click finds the first)."""
    _check_unit(unit)
    week_start = week_of(week_start)
    if week_start + datetime.timedelta(days=7) <= timezone.localdate():
        raise DomainError(_("That week is over. Choose this week or a later one."), field="week")
    open_rows = WaitlistEntry.objects.filter(
        created_by=actor,
        student=student,
        unit=unit,
        week_start=week_start,
        status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED],
    )
    existing = open_rows.first()
    if existing is not None:
        return existing
    entry = WaitlistEntry(
        unit=unit,
        school_id=student.school_id,
        student=student,
        counsellor=counsellor,
        week_start=week_start,
        created_by=actor,
        booked_as=booked_as,
        created_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        return open_rows.get()
    record_event(
        actor=actor,
        action="counselling.waitlist.joined",
        obj=entry,
        school_id=student.school_id,
        fields={
            "student": str(student.code),
            "unit": str(unit.code),
            "counsellor": counsellor.pk if counsellor else None,
            "week": week_start.isoformat(),
        },
    )
    return entry


def _close_entry(entry: WaitlistEntry, status: str, *, actor: Actor, action: str) -> None:
    entry.status, entry.closed_at = status, timezone.now()
    entry.save(update_fields=["status", "closed_at"])
    record_event(actor=actor, action=action, obj=entry, school_id=entry.school_id)


@transaction.atomic
def leave_waitlist(*, actor: User, entry: WaitlistEntry) -> None:
    entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
    if not entry.is_open:
        raise DomainError(_("This waitlist entry is closed already."))
    _close_entry(entry, WaitlistStatus.LEFT, actor=actor, action="counselling.waitlist.left")


def _offer(entry: WaitlistEntry, appointment: Appointment, now: datetime.datetime) -> None:
    week_end = timezone.make_aware(
        datetime.datetime.combine(entry.week_start + datetime.timedelta(days=7), datetime.time(0))
    )
    entry.status = WaitlistStatus.OFFERED
    entry.offered_starts_at, entry.offered_ends_at = appointment.starts_at, appointment.ends_at
    entry.offered_counsellor_id = appointment.counsellor_id
    entry.offered_room_id = appointment.room_id
    entry.offer_until = min(now + WAITLIST_OFFER_FOR, appointment.starts_at, week_end)
    entry.save(
        update_fields=[
            "status",
            "offered_starts_at",
            "offered_ends_at",
            "offered_counsellor",
            "offered_room",
            "offer_until",
        ]
    )
    record_event(
        actor=None,
        action="counselling.waitlist.offered",
        obj=entry,
        school_id=entry.school_id,
        fields={
            "starts_at": appointment.starts_at.isoformat(),
            "counsellor": appointment.counsellor_id,
            "until": entry.offer_until.isoformat(),
        },
    )
    when = timezone.localtime(appointment.starts_at).strftime("%Y-%m-%d %H:%M")
    notify(
        recipients=[entry.created_by],
        kind="counselling.waitlist.offered",
        subject=_("A counselling time is free for you at %(when)s") % {"when": when},
        url=reverse("counselling:waitlist"),
        ref=entry,
    )


def offer_freed_time(appointment: Appointment, now: datetime.datetime | None = None) -> bool:
    """A holding appointment was cancelled or moved: offer its time to the first entry waiting
    for that counsellor (or any counsellor of the unit) in that week. Whether one was offered."""
    now = now or timezone.now()
    if appointment.starts_at <= now:
        return False
    week = week_of(timezone.localtime(appointment.starts_at).date())
    entry = (
        WaitlistEntry.objects.select_for_update()
        .filter(unit_id=appointment.unit_id, week_start=week, status=WaitlistStatus.WAITING)
        .filter(Q(counsellor__isnull=True) | Q(counsellor_id=appointment.counsellor_id))
        .select_related("created_by")
        .order_by("created_at", "pk")
        .first()
    )
    if entry is None:
        return False
    _offer(entry, appointment, now)
    return True


def _refuse_offered(
    *, actor: User, counsellor: Any, starts_at: datetime.datetime, ends_at: datetime.datetime
) -> None:
    day = timezone.localtime(starts_at).date()
    for a, b, _who, _room in offered_to_others(counsellor=counsellor, day=day, viewer=actor):
        if a < ends_at and starts_at < b:
            raise DomainError(
                _("That time is offered to someone on the waitlist. Choose another time."),
                field="starts_at",
            )


def _close_offer(*, actor: User, appointment: Appointment) -> None:
    """The booker took the time offered to them (or another time that week): their entry for the
    student at that unit is done."""
    week = week_of(timezone.localtime(appointment.starts_at).date())
    for entry in WaitlistEntry.objects.select_for_update().filter(
        created_by=actor,
        student_id=appointment.student_id,
        unit_id=appointment.unit_id,
        week_start=week,
        status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED],
    ):
        _close_entry(
            entry, WaitlistStatus.BOOKED, actor=actor, action="counselling.waitlist.booked"
        )


def expire_waitlist(now: datetime.datetime | None = None) -> int:
    """Close what is due: an offer past its time lapses (and the time, still free and ahead,
    goes to the next entry waiting); an entry whose week is over expires. Idempotent."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    done = 0
    with transaction.atomic():
        lapsed = list(
            WaitlistEntry.objects.select_for_update().filter(
                status=WaitlistStatus.OFFERED, offer_until__lte=now
            )
        )
        for entry in lapsed:
            _close_entry(
                entry, WaitlistStatus.LAPSED, actor=None, action="counselling.waitlist.lapsed"
            )
            done += 1
            _offer_again(entry, now)
        over = WaitlistEntry.objects.select_for_update().filter(
            status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED],
            week_start__lte=today - datetime.timedelta(days=7),
        )
        for entry in over:
            _close_entry(
                entry, WaitlistStatus.EXPIRED, actor=None, action="counselling.waitlist.expired"
            )
            done += 1
    return done


def _offer_again(entry: WaitlistEntry, now: datetime.datetime) -> None:
    """The lapsed offer's time, if still free and ahead, to the next entry waiting."""
    starts_at, ends_at = entry.offered_starts_at, entry.offered_ends_at
    if starts_at is None or ends_at is None or starts_at <= now:
        return
    if entry.offered_counsellor_id is None:
        return
    taken = Appointment.objects.holding().overlapping(starts_at, ends_at)
    if taken.filter(counsellor_id=entry.offered_counsellor_id).exists():
        return
    freed = Appointment(
        unit_id=entry.unit_id,
        counsellor_id=entry.offered_counsellor_id,
        room_id=entry.offered_room_id,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    offer_freed_time(freed, now)
