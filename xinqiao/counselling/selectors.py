"""Reads of the counselling service, from the access layer's principal: a unit's roster and who
is on duty now, counsellors and rooms, free times, the appointments a user may see, a
counsellor's calendar and feed.

Who sees an appointment: its counsellor, whoever booked it, and the counsellors of its unit
(the psychology teachers of a school, the counsellors of a station) — nobody else, whatever
their role: a school leader keeps the roster but does not see who comes to counselling; a head
teacher sees the appointments they booked.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from xinqiao.access.holders import users_with_role, users_with_role_by_unit
from xinqiao.access.roles import Cap, Role
from xinqiao.access.scope import Principal
from xinqiao.cases.models import Case as CaseModel
from xinqiao.orgs.models import Kind, OrgUnit, Term

from .models import (
    COUNSELLING_UNIT_KINDS,
    Appointment,
    AppointmentQuerySet,
    AppointmentStatus,
    Availability,
    AvailabilityKind,
    CalendarFeed,
    DutyException,
    DutySlot,
    ExceptionKind,
    Room,
    RoomHours,
    Session,
    UnitSettings,
    WaitlistEntry,
    WaitlistStatus,
)


# --- units, counsellors, rooms ------------------------------------------------------------------
def get_unit(*, principal: Principal, code: Any, cap: str = Cap.VIEW_COUNSELLING) -> OrgUnit:
    """A school, station or centre by code: 404 outside the user's areas (or another kind of
    unit), 403 without `cap` there."""
    unit = principal.get_unit(code, Cap.VIEW_ORG_TREE)
    if unit.kind not in COUNSELLING_UNIT_KINDS or not principal.sees_unit(
        unit, Cap.VIEW_COUNSELLING
    ):
        raise Http404
    allowed = manages(principal, unit) if cap == Cap.MANAGE_DUTY_ROSTER else None
    if not (principal.sees_unit(unit, cap) if allowed is None else allowed):
        raise PermissionDenied
    return unit


def manages(principal: Principal, unit: OrgUnit) -> bool:
    """Whether the user keeps `unit`'s roster: by a grant at the unit itself (a school's own
    leader and psychology teachers, a station's counsellors; never a station for its schools)."""
    return any(g.unit.pk == unit.pk for g in principal.grants_with(Cap.MANAGE_DUTY_ROSTER))


def units_in_scope(principal: Principal, cap: str = Cap.VIEW_COUNSELLING) -> QuerySet[OrgUnit]:
    return (
        principal.units(cap)
        .filter(kind__in=COUNSELLING_UNIT_KINDS, is_active=True)
        .select_related("parent")
        .order_by("path")
    )


def counsellors_of(unit: OrgUnit) -> list[Any]:
    """Who counsels at `unit`: its psychology teachers, and at a station or the centre its
    counsellors too."""
    people = users_with_role(Role.PSYCHOLOGY_TEACHER, [unit])
    if unit.kind in (Kind.STATION, Kind.CENTRE):
        seen = {u.pk for u in people}
        people += [u for u in users_with_role(Role.STATION_COUNSELLOR, [unit]) if u.pk not in seen]
    return people


def counsellor_of(unit: OrgUnit, user_id: Any) -> Any | None:
    return next((u for u in counsellors_of(unit) if str(u.pk) == str(user_id)), None)


def rooms_of(unit: OrgUnit, *, active_only: bool = True) -> QuerySet[Room]:
    rooms = Room.objects.filter(unit=unit)
    return rooms.filter(is_active=True) if active_only else rooms


def counselling_units_of(principal: Principal, cap: str = Cap.COUNSEL) -> list[OrgUnit]:
    """The units where the user holds `cap` by their own assignment (not the area below)."""
    units = {g.unit.pk: g.unit for g in principal.grants_with(cap)}
    return [u for u in units.values() if u.kind in COUNSELLING_UNIT_KINDS]


def confirms_bookings(unit: OrgUnit) -> bool:
    return UnitSettings.objects.filter(unit=unit, confirm_bookings=True).exists()


# --- the duty roster ------------------------------------------------------------------------------
def roster(unit: OrgUnit) -> list[DutySlot]:
    return list(
        DutySlot.objects.filter(unit=unit).select_related("counsellor", "counsellor__staff", "room")
    )


def upcoming_exceptions(unit: OrgUnit, *, since: datetime.date) -> list[DutyException]:
    return list(
        DutyException.objects.filter(unit=unit, date__gte=since).select_related(
            "slot", "substitute", "substitute__staff"
        )
    )


def is_holiday(unit: OrgUnit, day: datetime.date) -> bool:
    """A school day outside every term is a holiday (stations and the centre keep their roster
    in the holidays). With no term recorded at all, every day is term time."""
    if unit.kind != Kind.SCHOOL:
        return False
    return Term.objects.exists() and Term.objects.on(day) is None


@dataclass(frozen=True)
class Duty:
    slot: DutySlot
    counsellor: Any
    substitute: bool = False


def duties_on(unit: OrgUnit, day: datetime.date) -> list[Duty]:
    """The roster of one date: its weekly slots in force, less the closed ones, with their
    substitutes."""
    if is_holiday(unit, day):
        return []
    changes = list(
        DutyException.objects.filter(unit=unit, date=day).select_related("substitute__staff")
    )
    if any(c.kind == ExceptionKind.CLOSED and c.slot_id is None for c in changes):
        return []
    by_slot = {c.slot_id: c for c in changes if c.slot_id is not None}
    slots = (
        DutySlot.objects.filter(unit=unit, weekday=day.weekday())
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=day))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=day))
        .select_related("counsellor", "counsellor__staff", "room")
    )
    duties = []
    for slot in slots:
        change = by_slot.get(slot.pk)
        if change is None:
            duties.append(Duty(slot, slot.counsellor))
        elif change.kind == ExceptionKind.SUBSTITUTE:
            duties.append(Duty(slot, change.substitute, substitute=True))
    return duties


class Source:
    ROSTER = "roster"
    UNIT = "unit"
    STATION = "station"
    NOBODY = "nobody"


@dataclass(frozen=True)
class OnDuty:
    """Who answers at `unit` now, and how they were found: the roster, else the unit's
    counsellors, else the district station's on-duty counsellors (or its counsellors)."""

    unit: OrgUnit
    users: list[Any]
    source: str
    duties: list[Duty] = field(default_factory=list)
    station: OrgUnit | None = None


def _district_stations(unit: OrgUnit) -> list[OrgUnit]:
    district = unit.ancestors().filter(kind=Kind.DISTRICT).order_by("-depth").first()
    if district is None:
        return []
    return list(OrgUnit.objects.filter(parent=district, kind=Kind.STATION, is_active=True))


def _unique(users: Iterable[Any]) -> list[Any]:
    return list({u.pk: u for u in users if u is not None and u.is_active}.values())


def on_duty(unit: OrgUnit, at: datetime.datetime | None = None) -> OnDuty:
    """Who is on duty at `unit` at `at` (now): the duty slot covering that time (with its
    substitute), else the unit's psychology teachers (counsellors), else the district station's
    on duty."""
    at = timezone.localtime(at or timezone.now())
    day, now = at.date(), at.time()
    duties = [d for d in duties_on(unit, day) if d.slot.starts <= now < d.slot.ends]
    users = _unique(d.counsellor for d in duties)
    if users:
        return OnDuty(unit, users, Source.ROSTER, duties)
    users = _unique(counsellors_of(unit))
    if users:
        return OnDuty(unit, users, Source.UNIT)
    if unit.kind == Kind.SCHOOL:
        for station in _district_stations(unit):
            answer = on_duty(station, at)
            if answer.users:
                return OnDuty(unit, answer.users, Source.STATION, answer.duties, station)
    return OnDuty(unit, [], Source.NOBODY)


def duty_owners_for_students(students: Sequence[Any]) -> dict[int, Any]:
    """The owner of a new alert or concern for each student: the first counsellor on duty now at
    the student's school (the roster, else the school's psychology teachers, else the district
    station's on duty — `on_duty`'s chain). Registered in alerts.hooks after the cases app's
    resolver, so a high-care student's open case still wins.

    Cheap on the hand-in path: one query finds the schools with a duty slot today and one their
    psychology teachers; only a school with a slot today or without a psychology teacher asks
    `on_duty` (its exceptions, the term calendar, the station)."""
    schools = {s.school_id for s in students}
    now = timezone.now()
    rostered = set(
        DutySlot.objects.filter(unit_id__in=schools, weekday=timezone.localtime(now).weekday())
        .values_list("unit_id", flat=True)
        .distinct()
    )
    teachers = users_with_role_by_unit(Role.PSYCHOLOGY_TEACHER, schools - rostered)
    first: dict[int, Any] = {}
    for school_id, users in teachers.items():
        active = _unique(users)
        if active:
            first[school_id] = active[0]
    rest = schools - set(first)
    for unit in OrgUnit.objects.filter(pk__in=rest) if rest else []:
        answer = on_duty(unit, now)
        if answer.users:
            first[unit.pk] = answer.users[0]
    return {s.pk: first[s.school_id] for s in students if s.school_id in first}


# --- availability and free times ------------------------------------------------------------------
def _windows(unit: OrgUnit, counsellor: Any, day: datetime.date) -> list[Availability]:
    rows = Availability.objects.filter(unit=unit, counsellor=counsellor).filter(
        Q(kind=AvailabilityKind.WEEKLY, weekday=day.weekday()) | Q(date=day)
    )
    return list(rows.select_related("room"))


def _aware(day: datetime.date, at: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, at))


def within_availability(
    *, unit: OrgUnit, counsellor: Any, at: datetime.datetime, until: datetime.datetime
) -> bool:
    """Whether [at, until) lies inside one open window of the counsellor at `unit` that day and
    meets no blocked time (a school's holidays are blocked)."""
    local_at, local_until = timezone.localtime(at), timezone.localtime(until)
    day = local_at.date()
    if local_until.date() != day and local_until.time() != datetime.time(0):
        return False
    if is_holiday(unit, day):
        return False
    windows = _windows(unit, counsellor, day)
    for w in windows:
        if (
            w.kind == AvailabilityKind.BLOCKED
            and at < _aware(day, w.ends)
            and _aware(day, w.starts) < until
        ):
            return False
    return any(
        w.kind != AvailabilityKind.BLOCKED
        and _aware(day, w.starts) <= at
        and until <= _aware(day, w.ends)
        for w in windows
    )


@dataclass(frozen=True)
class FreeSlot:
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    room: Room | None


def free_slots(
    *, unit: OrgUnit, counsellor: Any, day: datetime.date, viewer: Any = None
) -> list[FreeSlot]:
    """The counsellor's open windows that day at `unit`, cut into slots, less blocked time, the
    past, the times already held by an appointment (of the counsellor or of the room), the
    times outside a room's opening hours and the times offered to someone on the waitlist
    (other than `viewer`)."""
    if is_holiday(unit, day):
        return []
    windows = _windows(unit, counsellor, day)
    blocked = [
        (_aware(day, w.starts), _aware(day, w.ends))
        for w in windows
        if w.kind == AvailabilityKind.BLOCKED
    ]
    start_of_day = _aware(day, datetime.time(0))
    end_of_day = start_of_day + datetime.timedelta(days=1)
    held = list(
        Appointment.objects.holding()
        .overlapping(start_of_day, end_of_day)
        .filter(Q(counsellor=counsellor) | Q(room__in=[w.room_id for w in windows if w.room_id]))
        .values_list("starts_at", "ends_at", "counsellor_id", "room_id")
    )
    now = timezone.now()
    opening = room_hours_on([w.room_id for w in windows if w.room_id], day)
    held += offered_to_others(counsellor=counsellor, day=day, viewer=viewer)
    slots: dict[datetime.datetime, FreeSlot] = {}
    for w in windows:
        if w.kind == AvailabilityKind.BLOCKED:
            continue
        step = datetime.timedelta(minutes=w.slot_minutes)
        starts, window_end = _aware(day, w.starts), _aware(day, w.ends)
        while starts + step <= window_end:
            ends = starts + step
            taken = starts < now or any(b0 < ends and starts < b1 for b0, b1 in blocked)
            if w.room_id in opening:  # a room with opening hours: only inside them
                taken = taken or not any(
                    o0 <= starts and ends <= o1 for o0, o1 in opening[w.room_id]
                )
            taken = taken or any(
                h0 < ends
                and starts < h1
                and (who == counsellor.pk or (w.room_id and room == w.room_id))
                for h0, h1, who, room in held
            )
            if not taken and starts not in slots:
                slots[starts] = FreeSlot(starts, ends, w.room)
            starts = ends
    return [slots[k] for k in sorted(slots)]


def availability_of(counsellor: Any, unit: OrgUnit) -> list[Availability]:
    today = timezone.localdate()
    rows = Availability.objects.filter(unit=unit, counsellor=counsellor).filter(
        Q(kind=AvailabilityKind.WEEKLY) | Q(date__gte=today)
    )
    return list(rows.select_related("room"))


def get_availability(*, principal: Principal, code: Any) -> Availability:
    row = Availability.objects.select_related("unit").filter(code=code).first()
    if row is None or row.counsellor_id != principal.user_id:
        raise Http404
    return row


# --- appointments -------------------------------------------------------------------------------
def _visible_q(principal: Principal) -> Q:
    user_id = principal.user_id
    q = Q(counsellor_id=user_id) | Q(booked_by_id=user_id)
    counselling_units = [u.pk for u in counselling_units_of(principal)]
    if counselling_units:
        q |= Q(unit_id__in=counselling_units)
    return q


def appointments(principal: Principal) -> AppointmentQuerySet:
    """The appointments this user may see (none without VIEW_COUNSELLING)."""
    if principal.user is None or not principal.can(Cap.VIEW_COUNSELLING):
        return Appointment.objects.none()
    return Appointment.objects.filter(_visible_q(principal)).select_related(
        "student", "student__school_class", "counsellor", "counsellor__staff", "room", "unit"
    )


def upcoming(principal: Principal, *, limit: int = 50) -> list[Appointment]:
    start = timezone.now() - datetime.timedelta(hours=2)
    return list(appointments(principal).holding().filter(ends_at__gte=start)[:limit])


def get_appointment(*, principal: Principal, code: Any) -> Appointment:
    appointment = appointments(principal).filter(code=code).first()
    if appointment is None:
        raise Http404
    return appointment


def may_handle(principal: Principal, appointment: Appointment) -> bool:
    """The counsellor, the unit's counsellors: confirm, record attendance."""
    return appointment.counsellor_id == principal.user_id or any(
        g.unit.pk == appointment.unit_id for g in principal.grants_with(Cap.COUNSEL)
    )


def may_change(principal: Principal, appointment: Appointment) -> bool:
    """Cancel or reschedule: those who handle it and whoever booked it."""
    return may_handle(principal, appointment) or appointment.booked_by_id == principal.user_id


def calendar(
    *, counsellor: Any, start: datetime.date, days: int
) -> list[tuple[datetime.date, list[Appointment]]]:
    """The counsellor's appointments (open, done, no-show) day by day."""
    since = _aware(start, datetime.time(0))
    until = since + datetime.timedelta(days=days)
    rows = list(
        Appointment.objects.filter(counsellor=counsellor, starts_at__gte=since, starts_at__lt=until)
        .exclude(status__in=["cancelled", "rescheduled"])
        .select_related("student", "student__school_class", "room", "unit")
    )
    out: list[tuple[datetime.date, list[Appointment]]] = []
    for offset in range(days):
        day = start + datetime.timedelta(days=offset)
        out.append((day, [a for a in rows if timezone.localtime(a.starts_at).date() == day]))
    return out


def feed_user(token: str) -> Any | None:
    feed = (
        CalendarFeed.objects.filter(
            token_hash=CalendarFeed.hash_token(token), revoked_at__isnull=True
        )
        .select_related("user")
        .first()
    )
    return feed.user if feed is not None and feed.user.is_active else None


def has_feed(user: Any) -> bool:
    return CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).exists()


def feed_appointments(user: Any) -> list[Appointment]:
    since = timezone.now() - datetime.timedelta(days=30)
    return list(
        Appointment.objects.holding()
        .filter(counsellor=user, ends_at__gte=since)
        .select_related("room", "unit")[:500]
    )


# --- roster rows a manager changes ------------------------------------------------------------
def _managed(principal: Principal, unit: OrgUnit) -> None:
    if not principal.sees_unit(unit, Cap.VIEW_COUNSELLING):
        raise Http404
    if not manages(principal, unit):
        raise PermissionDenied


def get_duty_slot(*, principal: Principal, code: Any) -> DutySlot:
    slot = DutySlot.objects.select_related("unit").filter(code=code).first()
    if slot is None:
        raise Http404
    _managed(principal, slot.unit)
    return slot


def get_duty_exception(*, principal: Principal, code: Any) -> DutyException:
    exception = DutyException.objects.select_related("unit").filter(code=code).first()
    if exception is None:
        raise Http404
    _managed(principal, exception.unit)
    return exception


def slots_of(unit: OrgUnit) -> QuerySet[DutySlot]:
    return DutySlot.objects.filter(unit=unit).select_related("counsellor__staff")


# --- room opening hours, usage, periods (R21) -----------------------------------------------------
def room_hours_on(room_ids: list[int], day: datetime.date) -> dict[int, list[tuple[Any, Any]]]:
    """{room id: its opening windows that day as aware (start, end)} for the rooms that have
    opening hours at all (a room without any is left out: open whenever a counsellor is)."""
    if not room_ids:
        return {}
    rows = RoomHours.objects.filter(room_id__in=room_ids).values_list(
        "room_id", "weekday", "starts", "ends"
    )
    out: dict[int, list[tuple[Any, Any]]] = {}
    for room_id, weekday, starts, ends in rows:
        windows = out.setdefault(room_id, [])
        if weekday == day.weekday():
            windows.append((_aware(day, starts), _aware(day, ends)))
    return out


def room_open(room: Room, starts_at: datetime.datetime, ends_at: datetime.datetime) -> bool:
    """Whether [starts_at, ends_at) lies inside the room's opening hours (always, without any)."""
    day = timezone.localtime(starts_at).date()
    windows = room_hours_on([room.pk], day)
    if room.pk not in windows:
        return True
    return any(o0 <= starts_at and ends_at <= o1 for o0, o1 in windows[room.pk])


def hours_of(room: Room) -> list[RoomHours]:
    return list(RoomHours.objects.filter(room=room))


def get_room(*, principal: Principal, code: Any) -> Room:
    """A room its unit's roster keepers keep: 404 outside, 403 for who only sees the unit."""
    room = Room.objects.select_related("unit").filter(code=code).first()
    if room is None:
        raise Http404
    _managed(principal, room.unit)
    return room


def get_room_hours(*, principal: Principal, code: Any) -> RoomHours:
    row = RoomHours.objects.select_related("room", "room__unit").filter(code=code).first()
    if row is None:
        raise Http404
    _managed(principal, row.room.unit)
    return row


class Period:
    WEEK = "week"
    MONTH = "month"
    TERM = "term"
    CHOICES = (WEEK, MONTH, TERM)


@dataclass(frozen=True)
class Span:
    """A period: [since, until) in days, its kind and the day it was chosen by."""

    kind: str
    since: datetime.date
    until: datetime.date
    day: datetime.date

    @property
    def previous(self) -> datetime.date:
        return self.since - datetime.timedelta(days=1)

    @property
    def next(self) -> datetime.date:
        return self.until


def period(kind: str | None, day: datetime.date | None = None) -> Span:
    """The week (from Monday), the month or the term holding `day` (today); a day outside every
    term takes the term that ends last before it (or, with none, the month)."""
    day = day or timezone.localdate()
    kind = kind if kind in Period.CHOICES else Period.WEEK
    if kind == Period.TERM:
        term = (
            Term.objects.on(day)
            or Term.objects.filter(end_date__lt=day).order_by("-end_date").first()
        )
        if term is not None:
            return Span(kind, term.start_date, term.end_date + datetime.timedelta(days=1), day)
        kind = Period.MONTH
    if kind == Period.MONTH:
        first = day.replace(day=1)
        following = (first + datetime.timedelta(days=32)).replace(day=1)
        return Span(kind, first, following, day)
    monday = day - datetime.timedelta(days=day.weekday())
    return Span(kind, monday, monday + datetime.timedelta(days=7), day)


def _days(since: datetime.date, until: datetime.date) -> Iterable[datetime.date]:
    day = since
    while day < until:
        yield day
        day += datetime.timedelta(days=1)


class _Terms:
    """The term calendar, read once: whether a school's day is a holiday."""

    def __init__(self) -> None:
        self.ranges = list(Term.objects.values_list("start_date", "end_date"))

    def holiday(self, unit_kind: str, day: datetime.date) -> bool:
        if unit_kind != Kind.SCHOOL or not self.ranges:
            return False
        return not any(a <= day <= b for a, b in self.ranges)


def _hours(delta: datetime.timedelta) -> float:
    return delta.total_seconds() / 3600


def _clock_hours(starts: datetime.time, ends: datetime.time) -> float:
    return (ends.hour * 60 + ends.minute - starts.hour * 60 - starts.minute) / 60


USED = ("requested", "confirmed", "done")  # holding or took place: the room was used


@dataclass
class Usage:
    """Booked and open hours of a room (or a unit's rooms), and the rate."""

    label: str
    booked: float = 0.0
    open: float = 0.0
    unit: OrgUnit | None = None

    @property
    def rate(self) -> float | None:
        return self.booked / self.open if self.open else None

    @property
    def percent(self) -> str:
        return "—" if self.rate is None else f"{self.rate * 100:.0f}%"


def room_usage(units: list[OrgUnit], span: Span) -> dict[int, list[Usage]]:
    """{unit id: one Usage per active room} over `span`: booked hours (holding and took-place
    appointments in the room) ÷ open hours (the room's weekly hours on each day of the span, a
    school's holidays outside its terms left out). A room without opening hours shows its booked
    hours and no rate."""
    rooms = list(Room.objects.filter(unit__in=units, is_active=True).select_related("unit"))
    hours: dict[int, list[RoomHours]] = {}
    for row in RoomHours.objects.filter(room__in=rooms):
        hours.setdefault(row.room_id, []).append(row)
    since = _aware(span.since, datetime.time(0))
    until = _aware(span.until, datetime.time(0))
    booked: dict[int, float] = {}
    for room_id, starts_at, ends_at in Appointment.objects.filter(
        room__in=rooms, status__in=USED, starts_at__lt=until, ends_at__gt=since
    ).values_list("room_id", "starts_at", "ends_at"):
        overlap = min(ends_at, until) - max(starts_at, since)
        booked[room_id] = booked.get(room_id, 0.0) + _hours(overlap)
    terms = _Terms()
    out: dict[int, list[Usage]] = {u.pk: [] for u in units}
    for room in rooms:
        opened = 0.0
        for day in _days(span.since, span.until):
            if terms.holiday(room.unit.kind, day):
                continue
            opened += sum(
                _clock_hours(h.starts, h.ends)
                for h in hours.get(room.pk, [])
                if h.weekday == day.weekday()
            )
        out[room.unit_id].append(Usage(room.name, booked.get(room.pk, 0.0), opened, room.unit))
    return out


def unit_usage(units: list[OrgUnit], span: Span) -> list[Usage]:
    """One Usage per unit: its rooms with opening hours together (a room without any has no
    open hours to divide by and is left out of the unit's rate); no appointment, no child."""
    per_room = room_usage(units, span)
    rows = []
    for unit in units:
        rooms = per_room.get(unit.pk, [])
        rows.append(
            Usage(
                unit.name,
                sum(r.booked for r in rooms if r.open),
                sum(r.open for r in rooms if r.open),
                unit,
            )
        )
    return rows


# --- duty hours and sessions (R28: the built-in workload sources) --------------------------------
def duty_hours(users: list[Any], since: datetime.date, until: datetime.date) -> dict[Any, float]:
    """{user id: hours on duty} over [since, until): the roster's weekly slots in force on each
    day, less closed days and slots and a school's holidays, a substitute's hours to the
    substitute. Read in three queries, whatever the span."""
    ids = [u.pk for u in users]
    slots = list(
        DutySlot.objects.filter(
            Q(counsellor_id__in=ids)
            | Q(exceptions__substitute_id__in=ids, exceptions__date__gte=since)
        )
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lt=until))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=since))
        .select_related("unit")
        .distinct()
    )
    unit_ids = {s.unit_id for s in slots}
    changes = list(
        DutyException.objects.filter(unit_id__in=unit_ids, date__gte=since, date__lt=until)
    )
    closed_days = {(c.unit_id, c.date) for c in changes if c.slot_id is None}
    by_slot = {(c.slot_id, c.date): c for c in changes if c.slot_id is not None}
    terms = _Terms()
    wanted = set(ids)
    out: dict[Any, float] = {}
    for day in _days(since, until):
        for slot in slots:
            if slot.weekday != day.weekday():
                continue
            if (slot.valid_from and day < slot.valid_from) or (
                slot.valid_until and day > slot.valid_until
            ):
                continue
            if (slot.unit_id, day) in closed_days or terms.holiday(slot.unit.kind, day):
                continue
            change = by_slot.get((slot.pk, day))
            if change is not None and change.kind == ExceptionKind.CLOSED:
                continue
            who = change.substitute_id if change is not None else slot.counsellor_id
            if who in wanted:
                out[who] = out.get(who, 0.0) + _clock_hours(slot.starts, slot.ends)
    return out


def _held(users: list[Any], since: datetime.date, until: datetime.date) -> list[tuple[Any, float]]:
    """(counsellor id, hours) of each individual session held in [since, until): every recorded
    session (its minutes), and every appointment that took place without a session record yet
    (its booked length)."""
    ids = [u.pk for u in users]
    start, end = _aware(since, datetime.time(0)), _aware(until, datetime.time(0))
    recorded = Session.objects.filter(
        counsellor_id__in=ids, starts_at__gte=start, starts_at__lt=end
    ).values_list("counsellor_id", "minutes")
    unrecorded = Appointment.objects.filter(
        counsellor_id__in=ids,
        status=AppointmentStatus.DONE,
        starts_at__gte=start,
        starts_at__lt=end,
        session__isnull=True,
    ).values_list("counsellor_id", "starts_at", "ends_at")
    return [(who, minutes / 60) for who, minutes in recorded] + [
        (who, _hours(ends_at - starts_at)) for who, starts_at, ends_at in unrecorded
    ]


def cases_owned(users: list[Any], since: datetime.date, until: datetime.date) -> dict[Any, int]:
    """{user id: high-care cases they own that were open at some time in [since, until)}."""
    start, end = _aware(since, datetime.time(0)), _aware(until, datetime.time(0))
    rows = (
        CaseModel.objects.filter(owner_id__in=[u.pk for u in users], opened_at__lt=end)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=start))
        .values("owner_id")
        .annotate(n=Count("pk"))
    )
    return {row["owner_id"]: row["n"] for row in rows}


def sessions_held(users: list[Any], since: datetime.date, until: datetime.date) -> dict[Any, int]:
    """{user id: individual sessions held} (recorded, or an appointment that took place)."""
    out: dict[Any, int] = {}
    for who, _hours_held in _held(users, since, until):
        out[who] = out.get(who, 0) + 1
    return out


def session_hours(users: list[Any], since: datetime.date, until: datetime.date) -> dict[Any, float]:
    out: dict[Any, float] = {}
    for who, hours in _held(users, since, until):
        out[who] = round(out.get(who, 0.0) + hours, 2)
    return out


# --- the waitlist ---------------------------------------------------------------------------------
def week_of(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def offered_to_others(
    *, counsellor: Any, day: datetime.date, viewer: Any = None
) -> list[tuple[Any, Any, Any, Any]]:
    """The times of `counsellor` that day offered to someone on the waitlist (not `viewer`), as
    held times (starts, ends, counsellor id, room id)."""
    start_of_day = _aware(day, datetime.time(0))
    rows = WaitlistEntry.objects.filter(
        status=WaitlistStatus.OFFERED,
        offered_counsellor=counsellor,
        offer_until__gt=timezone.now(),
        offered_starts_at__lt=start_of_day + datetime.timedelta(days=1),
        offered_ends_at__gt=start_of_day,
    )
    if viewer is not None:
        rows = rows.exclude(created_by_id=viewer.pk)
    return [
        (a, b, counsellor.pk, None)
        for a, b in rows.values_list("offered_starts_at", "offered_ends_at")
    ]


def my_waitlist(principal: Principal) -> list[WaitlistEntry]:
    """The entries this user made (open first, then the last closed ones)."""
    if principal.user is None:
        return []
    rows = WaitlistEntry.objects.filter(created_by_id=principal.user_id).select_related(
        "unit", "student", "counsellor", "counsellor__staff", "offered_room"
    )
    return list(rows.order_by("-week_start", "created_at")[:100])


def get_waitlist_entry(*, principal: Principal, code: Any) -> WaitlistEntry:
    row = WaitlistEntry.objects.select_related("unit").filter(code=code).first()
    if row is None or row.created_by_id != principal.user_id:
        raise Http404
    return row


# --- whose workload a unit counts ---------------------------------------------------------
def workload_people(units: list[OrgUnit]) -> dict[int, tuple[list[Any], frozenset[Any]]]:
    """{unit id: (its people, the ids of its part-time psychology teachers)}: the unit's
    counsellors, the staff holding a current psychology-teacher post there (a part-time
    psychology teacher counts for the school of the post, whatever their own unit), and its head
    teachers and mentors (their mentor talks count when that source is registered)."""
    from django.contrib.auth import get_user_model

    from xinqiao.access.holders import users_with_role_by_unit
    from xinqiao.people.models import Position, StaffPosition

    ids = [u.pk for u in units]
    out: dict[int, tuple[dict[Any, Any], set[Any]]] = {pk: ({}, set()) for pk in ids}
    for role in (Role.PSYCHOLOGY_TEACHER, Role.STATION_COUNSELLOR):
        for unit_id, users in users_with_role_by_unit(role, ids).items():
            out[unit_id][0].update({u.pk: u for u in users})
    posts = (
        StaffPosition.objects.current()
        .filter(
            org_unit__school_id__in=ids,
            staff__is_active=True,
            staff__user__isnull=False,
            position__in=[Position.PSYCHOLOGY_TEACHER_FULL, Position.PSYCHOLOGY_TEACHER_PART],
        )
        .values_list("org_unit__school_id", "staff__user_id", "position")
    )
    user_ids: dict[Any, int] = {}
    for school_id, user_id, position in posts:
        if school_id is None:
            continue
        user_ids[user_id] = school_id
        if position == Position.PSYCHOLOGY_TEACHER_PART:
            out[school_id][1].add(user_id)
    classes = OrgUnit.objects.filter(school_id__in=ids, kind__in=[Kind.CLASS]).values_list(
        "pk", "school_id"
    )
    school_of_class = dict(classes)
    for role in (Role.HEAD_TEACHER, Role.MENTOR):
        for class_id, users in users_with_role_by_unit(role, list(school_of_class)).items():
            out[school_of_class[class_id]][0].update({u.pk: u for u in users})
    known = {pk: u for people, _part in out.values() for pk, u in people.items()}
    missing = [pk for pk in user_ids if pk not in known]
    for user in get_user_model().objects.filter(pk__in=missing, is_active=True):
        known[user.pk] = user
    for user_id, school_id in user_ids.items():
        if user_id in known:
            out[school_id][0][user_id] = known[user_id]
    return {pk: (list(people.values()), frozenset(part)) for pk, (people, part) in out.items()}
