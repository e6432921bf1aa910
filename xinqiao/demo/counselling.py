"""The demo city's counselling service (docs/counselling.md): in every school and station, two
bookable rooms with opening hours (weekdays 08:00–17:30), a weekly duty roster of its counsellors
(with, next week, a substitute where a unit has two counsellors and a closed day otherwise), a
holiday (the coming Friday closed, 校庆 at schools, 培训 at stations), the first counsellor's
weekly availability (Tuesday and Thursday 14:00–17:00 in the individual room), and appointments
of students of the unit (a station's: of its district's first school): two took place last week,
two confirmed next week (one booked by the student's head teacher) and one cancelled.

Written with bulk_create (a few statements for the whole city, no audit events: demo data, not
actions), deterministic for a seed and the day it is loaded (dates count from this week's
Monday)."""

from __future__ import annotations

import datetime
import random
import uuid
from typing import Any

from django.utils import timezone

from xinqiao.access.holders import users_with_role_by_unit
from xinqiao.access.roles import Role
from xinqiao.counselling.models import (
    Appointment,
    AppointmentStatus,
    Availability,
    AvailabilityKind,
    BookedAs,
    CancelReason,
    Channel,
    DutyException,
    DutySlot,
    ExceptionKind,
    Room,
    RoomHours,
    RoomKind,
)
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.people.models import Student, StudentStatus

T = datetime.time


def _aware(day: datetime.date, at: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, at))


def seed_demo_counselling(*, seed: int) -> dict[str, int]:
    """Call inside the demo city's transaction, after the org tree, staff and students exist."""
    rnd = random.Random(seed + 15)
    codes = random.Random(seed + 150)

    def code() -> uuid.UUID:  # the same opaque codes after a reset
        return uuid.UUID(int=codes.getrandbits(128), version=4)

    today = timezone.localdate()
    monday = today - datetime.timedelta(days=today.weekday())
    last_week, next_week = monday - datetime.timedelta(days=7), monday + datetime.timedelta(days=7)
    units = list(
        OrgUnit.objects.filter(kind__in=[Kind.SCHOOL, Kind.STATION], is_active=True).order_by(
            "path"
        )
    )
    ids = [u.pk for u in units]
    counsellors: dict[int, list[Any]] = {pk: [] for pk in ids}
    for role in (Role.PSYCHOLOGY_TEACHER, Role.STATION_COUNSELLOR):
        for unit_id, users in users_with_role_by_unit(role, ids).items():
            seen = {u.pk for u in counsellors[unit_id]}
            counsellors[unit_id] += [u for u in users if u.pk not in seen]
    students: dict[int, list[tuple[int, int]]] = {}
    for pk, school_id, class_id in (
        Student.objects.filter(school_id__in=ids, status=StudentStatus.ENROLLED)
        .order_by("school_id", "pk")
        .values_list("pk", "school_id", "school_class_id")
    ):
        rows = students.setdefault(school_id, [])
        if len(rows) < 40:
            rows.append((pk, class_id))
    class_ids = {c for rows in students.values() for _pk, c in rows}
    heads = users_with_role_by_unit(Role.HEAD_TEACHER, class_ids)

    rooms = Room.objects.bulk_create(
        [
            Room(code=code(), unit=u, name=name, kind=kind, capacity=cap)
            for u in units
            for name, kind, cap in (
                ("个体辅导室", RoomKind.INDIVIDUAL, 1),
                ("团体辅导室", RoomKind.GROUP, 12),
            )
        ]
    )
    room_of = {(r.unit_id, r.kind): r for r in rooms}
    RoomHours.objects.bulk_create(
        [
            RoomHours(code=code(), room=r, weekday=d, starts=T(8), ends=T(17, 30))
            for r in rooms
            for d in range(5)
        ]
    )
    slots, availability, appointments, exceptions = [], [], [], []
    held: set[tuple[Any, datetime.datetime]] = set()
    for unit in units:
        people = counsellors[unit.pk]
        if not people:
            continue
        room = room_of[(unit.pk, RoomKind.INDIVIDUAL)]
        for weekday in range(5):
            who = people[weekday % len(people)]
            slots.append(
                DutySlot(
                    code=code(),
                    unit=unit,
                    room=room,
                    counsellor=who,
                    weekday=weekday,
                    starts=T(12),
                    ends=T(13, 30),
                )
            )
            slots.append(
                DutySlot(
                    code=code(),
                    unit=unit,
                    counsellor=who,
                    weekday=weekday,
                    starts=T(16),
                    ends=T(17, 30),
                )
            )
        first = people[0]
        for weekday in (1, 3):
            availability.append(
                Availability(
                    code=code(),
                    unit=unit,
                    counsellor=first,
                    room=room,
                    kind=AvailabilityKind.WEEKLY,
                    weekday=weekday,
                    starts=T(14),
                    ends=T(17),
                    slot_minutes=50,
                )
            )
        school_id = unit.pk
        if unit.kind == Kind.STATION:
            school_id = next(
                (s.pk for s in units if s.parent_id == unit.parent_id and s.kind == Kind.SCHOOL), 0
            )
        pool = students.get(school_id, [])
        if len(pool) < 5:
            continue
        picked = rnd.sample(pool, 5)
        plan = [
            (last_week + datetime.timedelta(days=1), T(14), AppointmentStatus.DONE),
            (last_week + datetime.timedelta(days=3), T(14, 50), AppointmentStatus.DONE),
            (next_week + datetime.timedelta(days=1), T(14), AppointmentStatus.CONFIRMED),
            (next_week + datetime.timedelta(days=3), T(14), AppointmentStatus.CONFIRMED),
            (next_week + datetime.timedelta(days=1), T(14, 50), AppointmentStatus.CANCELLED),
        ]
        for i, ((student_id, class_id), (day, at, status)) in enumerate(
            zip(picked, plan, strict=True)
        ):
            starts_at = _aware(day, at)
            if status != AppointmentStatus.CANCELLED and (first.pk, starts_at) in held:
                continue  # a counsellor of two units holds that time at the other one
            held.add((first.pk, starts_at))
            head = (heads.get(class_id) or [None])[0]
            by_head = i == 3 and head is not None
            appointments.append(
                Appointment(
                    code=code(),
                    unit=unit,
                    school_id=school_id,
                    student_id=student_id,
                    counsellor=first,
                    room=room,
                    starts_at=starts_at,
                    ends_at=starts_at + datetime.timedelta(minutes=50),
                    channel=Channel.FACE_TO_FACE,
                    status=status,
                    booked_by=head if by_head else first,
                    booked_as=BookedAs.HEAD_TEACHER if by_head else BookedAs.COUNSELLOR,
                    booked_at=_aware(day - datetime.timedelta(days=5), T(9)),
                    cancel_reason=CancelReason.STUDENT_UNAVAILABLE
                    if status == AppointmentStatus.CANCELLED
                    else "",
                    changed_by=first if status != AppointmentStatus.CONFIRMED else None,
                    changed_at=starts_at if status == AppointmentStatus.DONE else None,
                )
            )
    slots = DutySlot.objects.bulk_create(slots)
    friday = monday + datetime.timedelta(days=4)
    for unit in units:
        if not counsellors[unit.pk]:
            continue
        reason = "校庆" if unit.kind == Kind.SCHOOL else "全员培训"
        exceptions.append(
            DutyException(
                code=code(), unit=unit, date=friday, kind=ExceptionKind.CLOSED, reason=reason
            )
        )
        tuesday_slot = next(s for s in slots if s.unit_id == unit.pk and s.weekday == 1)
        others = [u for u in counsellors[unit.pk] if u.pk != tuesday_slot.counsellor_id]
        date = next_week + datetime.timedelta(days=1)
        if others:
            exceptions.append(
                DutyException(
                    code=code(),
                    unit=unit,
                    date=date,
                    kind=ExceptionKind.SUBSTITUTE,
                    slot=tuesday_slot,
                    substitute=others[0],
                    reason="调休",
                )
            )
        else:
            exceptions.append(
                DutyException(
                    code=code(),
                    unit=unit,
                    date=date,
                    kind=ExceptionKind.CLOSED,
                    slot=tuesday_slot,
                    reason="外出教研",
                )
            )
    DutyException.objects.bulk_create(exceptions)
    Availability.objects.bulk_create(availability)
    Appointment.objects.bulk_create(appointments)
    return {
        "counselling_rooms": len(rooms),
        "counselling_duty_slots": len(slots),
        "counselling_duty_exceptions": len(exceptions),
        "counselling_appointments": len(appointments),
    }
