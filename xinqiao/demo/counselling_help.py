"""The demo city's students' own way to counselling (docs/counselling.md, "Students ask for
help"): in every school with students, a closed "I need help now" from three days ago, an open
"please find a time with me" from yesterday, in every third school an urgent request from half
an hour ago still awaiting its counsellor (the inbox's red line), and two bookings students made
from their page for next week. Bulk inserts, deterministic for a seed (the times follow today)."""

from __future__ import annotations

import datetime
import random
from typing import Any

from django.utils import timezone

from xinqiao.access.holders import psychology_teachers_by_school
from xinqiao.alerts.deadlines import SchoolCalendar, deadlines_for
from xinqiao.counselling.models import (
    Appointment,
    AppointmentStatus,
    BookedAs,
    Channel,
    HelpOutcome,
    HelpRequest,
)
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.people.models import Student, StudentStatus

MESSAGES = [
    "最近睡不好，总觉得很烦。",
    "和同学闹矛盾了，想找老师聊聊。",
    "考试压力太大了。",
    "",
    "家里的事让我很难过。",
    "",
]


def _request(
    rng: random.Random,
    calendar: SchoolCalendar,
    school: OrgUnit,
    owner: Any,
    student: Student,
    created: datetime.datetime,
    urgent: bool,
    key: str,
) -> HelpRequest:
    deadlines = deadlines_for("red" if urgent else "orange", created, calendar)
    respond_by = deadlines.acknowledge_by if urgent else deadlines.verify_by
    return HelpRequest(
        school=school,
        student=student,
        urgent=urgent,
        message=rng.choice(MESSAGES),
        request_key=f"demo-{key}",
        created_at=created,
        respond_by=respond_by or created,
        owner=owner,
    )


def seed_demo_counselling_help(*, seed: int = 1) -> dict[str, int]:
    rng = random.Random(seed)
    now = timezone.now()
    calendar = SchoolCalendar()
    schools = list(OrgUnit.objects.filter(kind=Kind.SCHOOL, is_active=True).order_by("path"))
    teachers = psychology_teachers_by_school([s.pk for s in schools])
    today = timezone.localdate()
    next_monday = today + datetime.timedelta(days=7 - today.weekday())
    requests: list[HelpRequest] = []
    bookings: list[Appointment] = []
    for index, school in enumerate(schools):
        students = list(
            Student.objects.filter(school=school, status=StudentStatus.ENROLLED).order_by("pk")[:12]
        )
        if len(students) < 4:
            continue
        picked = rng.sample(students, 4)
        owner = next(iter(teachers.get(school.pk, [])), None)

        made = (rng, calendar, school, owner)
        closed = _request(*made, picked[0], now - datetime.timedelta(days=3), True, "closed")
        if owner is not None:
            closed.acknowledged_by = owner
            closed.acknowledged_at = closed.created_at + datetime.timedelta(minutes=20)
            closed.closed_by = owner
        closed.closed_at = closed.created_at + datetime.timedelta(hours=2)
        closed.outcome = HelpOutcome.TALKED
        requests.append(closed)
        requests.append(_request(*made, picked[1], now - datetime.timedelta(days=1), False, "talk"))
        if index % 3 == 0:
            requests.append(
                _request(*made, picked[2], now - datetime.timedelta(minutes=30), True, "now")
            )
        if owner is None:
            continue
        for n, student in enumerate(picked[2:]):
            day = next_monday + datetime.timedelta(days=(index + n) % 5)
            starts = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12, 10)))
            starts += datetime.timedelta(days=7 * n)
            bookings.append(
                Appointment(
                    unit=school,
                    school=school,
                    student=student,
                    counsellor=owner,
                    starts_at=starts,
                    ends_at=starts + datetime.timedelta(minutes=40),
                    channel=Channel.FACE_TO_FACE,
                    status=AppointmentStatus.CONFIRMED,
                    booked_by=owner,
                    booked_as=BookedAs.STUDENT,
                    booked_at=now - datetime.timedelta(days=n + 1),
                )
            )
    HelpRequest.objects.bulk_create(requests, batch_size=500)
    Appointment.objects.bulk_create(bookings, batch_size=500)
    return {"help_requests": len(requests), "student_bookings": len(bookings)}
