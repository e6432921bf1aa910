"""Writes of group programmes, the hotline log and case conferences (docs/counselling.md). One
transaction each with its audit event; callers have checked the actor's scope through
selectors_groups.

A programme session holds its room as an appointment does: the room's row is locked (services'
`_lock`), then the overlap check against holding appointments and other sessions
(`_hold_or_refuse`), then the row (the database refuses the same room and start twice). Booking
an appointment checks the sessions too, so neither can clash with the other.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import User
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.people.models import Student, StudentStatus
from xinqiao.people.search import number_hash

from .models import (
    COUNSELLING_UNIT_KINDS,
    CallRisk,
    CaseConference,
    ConferenceAction,
    GroupKind,
    GroupMember,
    GroupProgramme,
    HotlineCall,
    ProgrammeSession,
    Room,
    RoomKind,
    SessionAttendance,
)
from .selectors import counsellors_of
from .services import _hold_or_refuse, _lock

HOTLINE_KINDS = (Kind.STATION, Kind.CENTRE)


def _school_id(unit: OrgUnit) -> int | None:
    return unit.pk if unit.kind == Kind.SCHOOL else None


# --- group programmes -------------------------------------------------------------------------
@transaction.atomic
def create_programme(
    *,
    actor: User,
    unit: OrgUnit,
    theme: str,
    kind: str,
    facilitators: Iterable[Any],
    description: str = "",
) -> GroupProgramme:
    """A new programme of `unit`; its facilitators are counsellors of the unit."""
    if unit.kind not in COUNSELLING_UNIT_KINDS:
        raise DomainError(_("Counselling belongs to a school, a station or the city centre."))
    if kind not in GroupKind.values:
        raise DomainError(_("Choose a kind."), field="kind")
    theme = " ".join(theme.split())
    if not theme:
        raise DomainError(_("Give the theme."), field="theme")
    allowed = {u.pk for u in counsellors_of(unit)}
    chosen = list({u.pk: u for u in facilitators}.values())
    if not chosen or any(u.pk not in allowed for u in chosen):
        raise DomainError(
            _("Choose facilitators among the unit's counsellors."), field="facilitators"
        )
    if GroupProgramme.objects.filter(unit=unit, theme=theme).exists():
        raise DomainError(_("This unit already has a programme with this theme."), field="theme")
    try:
        with transaction.atomic():
            programme = GroupProgramme.objects.create(
                unit=unit,
                theme=theme,
                description=description.strip()[:2000],
                kind=kind,
                created_by=actor,
                created_at=timezone.now(),
            )
    except IntegrityError:
        raise DomainError(
            _("This unit already has a programme with this theme."), field="theme"
        ) from None
    programme.facilitators.set(chosen)
    record_event(
        actor=actor,
        action="counselling.group.created",
        obj=programme,
        school_id=_school_id(unit),
        fields={"unit": unit.pk, "kind": kind, "facilitators": sorted(u.pk for u in chosen)},
    )
    return programme


@transaction.atomic
def add_members(
    *,
    actor: User,
    programme: GroupProgramme,
    students: Iterable[Student] = (),
    school_class: OrgUnit | None = None,
) -> int:
    """Add students (or a whole class's enrolled students) to the programme; those already in
    it are skipped. A school's programme takes only its own students. Returns how many joined."""
    wanted = {s.pk: s for s in students}
    if school_class is not None:
        for s in Student.objects.filter(school_class=school_class, status=StudentStatus.ENROLLED):
            wanted.setdefault(s.pk, s)
    if not wanted:
        raise DomainError(_("Choose students or a class."), field="students")
    unit = programme.unit
    if unit.kind == Kind.SCHOOL and any(s.school_id != unit.pk for s in wanted.values()):
        raise DomainError(_("Choose students of this school."), field="students")
    already = set(programme.members.values_list("student_id", flat=True))
    now = timezone.now()
    rows = [
        GroupMember(
            programme=programme, student=s, school_id=s.school_id, added_by=actor, added_at=now
        )
        for pk, s in wanted.items()
        if pk not in already
    ]
    GroupMember.objects.bulk_create(rows, ignore_conflicts=True)
    record_event(
        actor=actor,
        action="counselling.group.members_added",
        obj=programme,
        school_id=_school_id(unit),
        fields={
            "students": sorted(r.student_id for r in rows),
            "class": school_class.pk if school_class else None,
        },
    )
    return len(rows)


@transaction.atomic
def plan_session(
    *,
    actor: User,
    programme: GroupProgramme,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    room: Room | None = None,
) -> ProgrammeSession:
    """A planned session; its room (a group room of the unit) is held so that no appointment or
    other session takes it then."""
    if ends_at <= starts_at:
        raise DomainError(_("The end must come after the start."), field="ends_at")
    if room is not None and (
        room.unit_id != programme.unit_id or not room.is_active or room.kind != RoomKind.GROUP
    ):
        raise DomainError(_("Choose a group room of this unit."), field="room")
    if room is not None:
        _lock(counsellor_id=actor.pk, room_id=room.pk)
        _hold_or_refuse(counsellor=None, room=room, starts_at=starts_at, ends_at=ends_at)
    if programme.sessions.filter(starts_at=starts_at).exists():
        raise DomainError(_("This programme already has a session then."), field="starts_at")
    try:
        with transaction.atomic():
            session = ProgrammeSession.objects.create(
                programme=programme, starts_at=starts_at, ends_at=ends_at, room=room
            )
    except IntegrityError:
        raise DomainError(_("That time has just been taken. Choose another time.")) from None
    record_event(
        actor=actor,
        action="counselling.group_session.planned",
        obj=session,
        school_id=_school_id(programme.unit),
        fields={
            "programme": str(programme.code),
            "starts_at": starts_at.isoformat(),
            "room": room.pk if room else None,
        },
    )
    return session


@transaction.atomic
def record_session(
    *, actor: User, session: ProgrammeSession, record: str, present: Iterable[int]
) -> ProgrammeSession:
    """The session's short record (sealed) and attendance of every member: present if listed."""
    session = ProgrammeSession.objects.select_for_update().get(pk=session.pk)
    if session.starts_at > timezone.now():
        raise DomainError(_("Attendance is recorded once the session has begun."))
    present_ids = {int(p) for p in present}
    member_ids = list(
        GroupMember.objects.filter(programme_id=session.programme_id).values_list(
            "student_id", flat=True
        )
    )
    if present_ids - set(member_ids):
        raise DomainError(_("Only the programme's members can attend."))
    session.record = record.strip()[:4000]
    session.recorded_by = actor
    session.save(update_fields=["record", "recorded_by"])
    SessionAttendance.objects.filter(session=session).delete()
    SessionAttendance.objects.bulk_create(
        SessionAttendance(session=session, student_id=pk, present=pk in present_ids)
        for pk in member_ids
    )
    record_event(
        actor=actor,
        action="counselling.group_session.recorded",
        obj=session,
        fields={"present": len(present_ids), "members": len(member_ids)},
    )
    return session


# --- the hotline log --------------------------------------------------------------------------
def find_student(*, number: str, name: str) -> Student:
    """An enrolled student by 学籍号 with the name as a guard, anywhere in the city (a caller may
    be a student the station does not see yet). Nothing is revealed: no match and two matches
    give the same message; the caller's page shows no name back."""
    number, name = number.strip(), name.strip()
    if not number or not name:
        raise DomainError(
            _("Give the national student number and the student's name."), field="student_number"
        )
    found = list(
        Student.objects.filter(
            student_number_hash=number_hash(number), status=StudentStatus.ENROLLED
        )[:2]
    )
    if len(found) != 1 or found[0].name != name:
        raise DomainError(
            _("No single student matches this number and name. Check them."),
            field="student_number",
        )
    return found[0]


@transaction.atomic
def log_call(
    *,
    actor: User,
    unit: OrgUnit,
    client_key: str,
    channel: str,
    started_at: datetime.datetime,
    minutes: int,
    caller_kind: str,
    concern_code: str,
    risk: str,
    outcome: str,
    anonymous: bool = True,
    student: Student | None = None,
    concern: str = "",
    follow_up: str = "",
    follow_up_on: datetime.date | None = None,
    raise_alert: bool = False,
) -> HotlineCall:
    """Log one call or chat. An identified student's call with a risk can raise an alert (source
    hotline) at the risk's level through the alerts app. A double submit (same client key) logs
    one call."""
    if unit.kind not in HOTLINE_KINDS:
        raise DomainError(_("The hotline belongs to a station or the city centre."))
    existing = HotlineCall.objects.filter(client_key=client_key).first()
    if existing is not None:
        return existing
    if anonymous:
        student = None
    if raise_alert and (student is None or risk == CallRisk.NONE):
        raise DomainError(
            _("An alert needs an identified student and a risk level."), field="raise_alert"
        )
    if started_at > timezone.now():
        raise DomainError(_("The call cannot start in the future."), field="started_at")
    call = HotlineCall(
        unit=unit,
        channel=channel,
        started_at=started_at,
        minutes=minutes,
        taken_by=actor,
        anonymous=anonymous,
        caller_kind=caller_kind,
        student=student,
        school_id=student.school_id if student else None,
        concern_code=concern_code,
        concern=concern.strip()[:4000],
        risk=risk,
        outcome=outcome,
        follow_up=follow_up.strip()[:2000],
        follow_up_on=follow_up_on,
        client_key=client_key,
    )
    call.full_clean(exclude=["unit", "taken_by", "student", "school", "alert", "client_key"])
    try:
        with transaction.atomic():
            call.save()
    except IntegrityError:
        return HotlineCall.objects.get(client_key=client_key)
    if raise_alert and student is not None:
        from xinqiao.alerts.models import Source
        from xinqiao.alerts.services import raise_alert as raise_an_alert

        alert = raise_an_alert(
            student=student,
            level=risk,
            source=Source.HOTLINE,
            evidence={"call": str(call.code), "concern": concern_code, "unit": unit.pk},
            actor=actor,
        )
        call.alert = alert
        call.save(update_fields=["alert"])
    record_event(
        actor=actor,
        action="counselling.hotline.logged",
        obj=call,
        school_id=call.school_id,
        fields={
            "unit": unit.pk,
            "channel": channel,
            "anonymous": anonymous,
            "student": str(student.code) if student else None,
            "risk": risk,
            "outcome": outcome,
            "alert": call.alert_id,
        },
    )
    return call


# --- case conferences -------------------------------------------------------------------------
@transaction.atomic
def create_conference(
    *,
    actor: User,
    unit: OrgUnit,
    client_key: str,
    held_on: datetime.date,
    participants: Iterable[Any],
    question: str,
    presentation: str,
    advice: str = "",
) -> CaseConference:
    """The author's case conference: the question and the de-identified presentation (the
    author writes it; no student is linked). A double submit records one conference."""
    if unit.kind not in COUNSELLING_UNIT_KINDS:
        raise DomainError(_("Counselling belongs to a school, a station or the city centre."))
    existing = CaseConference.objects.filter(client_key=client_key).first()
    if existing is not None:
        return existing
    people = [u for u in {u.pk: u for u in participants}.values() if u.pk != actor.pk]
    if not people:
        raise DomainError(_("Choose the participants."), field="participants")
    if not question.strip() or not presentation.strip():
        raise DomainError(_("Give the question and the case presentation."), field="question")
    try:
        with transaction.atomic():
            conference = CaseConference.objects.create(
                unit=unit,
                held_on=held_on,
                author=actor,
                question=question.strip()[:2000],
                presentation=presentation.strip()[:8000],
                advice=advice.strip()[:4000],
                created_at=timezone.now(),
                client_key=client_key,
            )
    except IntegrityError:
        return CaseConference.objects.get(client_key=client_key)
    conference.participants.set(people)
    record_event(
        actor=actor,
        action="counselling.conference.created",
        obj=conference,
        school_id=_school_id(unit),
        fields={"unit": unit.pk, "participants": sorted(u.pk for u in people)},
    )
    return conference


@transaction.atomic
def record_advice(*, actor: User, conference: CaseConference, advice: str) -> CaseConference:
    conference.advice = advice.strip()[:4000]
    conference.save(update_fields=["advice"])
    record_event(actor=actor, action="counselling.conference.advice_recorded", obj=conference)
    return conference


@transaction.atomic
def add_action(
    *, actor: User, conference: CaseConference, text: str, owner: Any, due_on: datetime.date
) -> ConferenceAction:
    """A follow-up action with its owner (the author or a participant) and due date."""
    allowed = {conference.author_id, *conference.participants.values_list("pk", flat=True)}
    if owner.pk not in allowed:
        raise DomainError(_("Choose the author or a participant."), field="owner")
    if not text.strip():
        raise DomainError(_("Describe the action."), field="text")
    action = ConferenceAction.objects.create(
        conference=conference, text=text.strip()[:1000], owner=owner, due_on=due_on
    )
    record_event(
        actor=actor,
        action="counselling.conference.action_added",
        obj=conference,
        fields={"owner": owner.pk, "due_on": due_on.isoformat()},
    )
    return action
