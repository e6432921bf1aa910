"""The demo city's group programmes and hotline log (docs/counselling.md): in every school a
group programme kept by its first psychology teacher, in a group room of the school, with eight
members of one class, four weekly sessions (two past with attendance and a short record, two
planned); at every station and the city centre a month of hotline calls and online chats (most
anonymous, some naming a student of the area; none raises an alert). Rows are bulk-created;
deterministic for a seed."""

from __future__ import annotations

import datetime
import random
import uuid
from typing import Any

from django.utils import timezone

from xinqiao.counselling.models import (
    CallChannel,
    CallerKind,
    CallOutcome,
    CallRisk,
    ConcernCode,
    GroupKind,
    GroupMember,
    GroupProgramme,
    HotlineCall,
    ProgrammeSession,
    Room,
    RoomKind,
    SessionAttendance,
)
from xinqiao.counselling.selectors import counsellors_of
from xinqiao.orgs.models import Kind, OrgUnit, subtree_q
from xinqiao.people.models import Student, StudentStatus

THEMES = [
    ("新生适应成长小组", GroupKind.DEVELOPMENTAL),
    ("考前情绪调适团体辅导", GroupKind.PROBLEM_FOCUSED),
    ("人际交往能力训练营", GroupKind.DEVELOPMENTAL),
    ("自信心提升小组", GroupKind.DEVELOPMENTAL),
    ("学习动力激发团体", GroupKind.PROBLEM_FOCUSED),
]
RECORDS = ["破冰活动顺利，成员参与积极。", "围绕情绪识别进行分享，个别成员较沉默，课后关注。"]
CONCERNS = ["考试前紧张，睡眠不好。", "和同学闹矛盾，不想上学。", "家长询问孩子情绪低落怎么办。"]


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def _group_room(unit: OrgUnit) -> Room:
    room = Room.objects.filter(unit=unit, kind=RoomKind.GROUP, is_active=True).first()
    if room is None:
        room, _created = Room.objects.get_or_create(
            unit=unit, name="团体辅导室", defaults={"kind": RoomKind.GROUP, "capacity": 20}
        )
    return room


def seed_demo_counselling_groups(*, seed: int) -> dict[str, int]:
    """Call inside the demo city's transaction, after its staff and students exist."""
    rng = random.Random(seed * 11 + 15)
    today = timezone.localdate()
    monday = today - datetime.timedelta(days=today.weekday())
    counts = {"group_programmes": 0, "group_sessions": 0, "hotline_calls": 0}
    members: list[GroupMember] = []
    sessions: list[ProgrammeSession] = []
    attendance: list[SessionAttendance] = []
    for school in OrgUnit.objects.filter(kind=Kind.SCHOOL, is_active=True).order_by("path"):
        people = counsellors_of(school)
        if not people:
            continue
        psych = people[0]
        theme, kind = THEMES[counts["group_programmes"] % len(THEMES)]
        programme = GroupProgramme.objects.create(
            unit=school,
            theme=theme,
            kind=kind,
            description="每周一次，共四次；以体验活动和分享为主。",
            created_by=psych,
            created_at=timezone.now() - datetime.timedelta(days=21),
        )
        programme.facilitators.add(psych)
        counts["group_programmes"] += 1
        students = list(
            Student.objects.filter(school=school, status=StudentStatus.ENROLLED)
            .exclude(school_class=None)
            .order_by("school_class__path", "pk")[:8]
        )
        members += [
            GroupMember(
                programme=programme,
                student=s,
                school=school,
                added_by=psych,
                added_at=programme.created_at,
            )
            for s in students
        ]
        room = _group_room(school)
        for week in (-2, -1, 1, 2):
            day = monday + datetime.timedelta(weeks=week, days=3)  # Thursdays
            session = ProgrammeSession(
                programme=programme,
                starts_at=_at(day, 15, 30),
                ends_at=_at(day, 16, 30),
                room=room,
            )
            if week < 0:
                session.record = RECORDS[week + 2]
                session.recorded_by = psych
                attendance += [
                    SessionAttendance(session=session, student=s, present=rng.random() < 0.85)
                    for s in students
                ]
            sessions.append(session)
    GroupMember.objects.bulk_create(members)
    ProgrammeSession.objects.bulk_create(sessions)
    for row in attendance:
        row.session_id = row.session.pk
    SessionAttendance.objects.bulk_create(attendance)
    counts["group_sessions"] = len(sessions)
    counts["hotline_calls"] = _hotline(rng)
    return counts


def _hotline(rng: random.Random) -> int:
    calls: list[HotlineCall] = []
    now = timezone.now()
    units = OrgUnit.objects.filter(kind__in=[Kind.STATION, Kind.CENTRE], is_active=True)
    for unit in units.select_related("parent").order_by("path"):
        people = counsellors_of(unit)
        if not people:
            continue
        area = unit.parent if unit.kind == Kind.STATION and unit.parent else unit
        pool: list[Any] = list(
            Student.objects.filter(
                subtree_q(area, field="school__path"), status=StudentStatus.ENROLLED
            ).order_by("pk")[:200]
        )
        for i in range(10):
            identified = bool(pool) and i % 4 == 0
            student = rng.choice(pool) if identified else None
            risk = rng.choice([CallRisk.NONE, CallRisk.NONE, CallRisk.YELLOW]) if i else "none"
            calls.append(
                HotlineCall(
                    unit=unit,
                    channel=CallChannel.PHONE if i % 3 else CallChannel.ONLINE,
                    started_at=now - datetime.timedelta(days=3 * i + 1, hours=rng.randint(0, 8)),
                    minutes=rng.randint(8, 45),
                    taken_by=people[i % len(people)],
                    anonymous=student is None,
                    caller_kind=CallerKind.STUDENT if i % 2 == 0 else CallerKind.PARENT,
                    student=student,
                    school_id=student.school_id if student else None,
                    concern_code=rng.choice(
                        [ConcernCode.STUDY, ConcernCode.PEERS, ConcernCode.FAMILY]
                    ),
                    concern=CONCERNS[i % len(CONCERNS)],
                    risk=risk,
                    outcome=CallOutcome.ADVICE if i % 5 else CallOutcome.SCHOOL_COUNSELLOR,
                    client_key=f"demo-{uuid.UUID(int=rng.getrandbits(128))}",
                )
            )
    HotlineCall.objects.bulk_create(calls)
    return len(calls)
