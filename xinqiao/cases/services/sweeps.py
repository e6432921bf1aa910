# ruff: noqa: S608  (SQL built from model table names; values are parameters)
"""Special-period sweeps (R7) and incidents (R8), with group sessions.

- A **sweep** (e.g. exam season): the school's psychology teacher sets a review-by date; one
  `SweepReview` per open case the school holds is created in one INSERT … SELECT; optionally a
  chosen group (classes or listed students) is re-screened by a campaign created and opened through
  the screening services.
- An **incident**: what happened (encrypted), the affected students (whole classes and/or listed
  students of the school); a follow-up screening (campaign kind "incident") assigned to exactly
  those students; group sessions held for them.

Creates from forms are retry-safe: the form carries a `client_key`, and a repeated key returns
the row the first submit made.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access.scope import principal_for
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.core.types import Actor, User
from xinqiao.orgs.models import Kind, OrgUnit, Term
from xinqiao.people.models import Student, StudentStatus
from xinqiao.screening import services as screening_services
from xinqiao.screening.models import Campaign, CampaignKind

from ..models import (
    Case,
    CaseStatus,
    GroupSession,
    Incident,
    Sweep,
    SweepKind,
    SweepReview,
)
from ..selectors.common import can_handle
from ..selectors.schooling import can_handle_school, facilitators
from .common import clean_client_key, existing_row, lock_case

# Which screening a sweep's re-screen is (holidays and other periods: the teacher chooses).
SWEEP_CAMPAIGN_KIND: dict[str, str] = {
    SweepKind.EXAM_SEASON: CampaignKind.EXAM_SEASON,
    SweepKind.TERM_START: CampaignKind.TERM_START,
    SweepKind.GRADUATION: CampaignKind.GRADUATION,
    SweepKind.INCIDENT: CampaignKind.INCIDENT,
}
RESCREEN_KINDS = [
    CampaignKind.NEW_STUDENTS,
    CampaignKind.TERM_START,
    CampaignKind.EXAM_SEASON,
    CampaignKind.GRADUATION,
    CampaignKind.INCIDENT,
    CampaignKind.EMERGENCY,
]
ACTIVE_STATUSES = [StudentStatus.ENROLLED, StudentStatus.SUSPENDED]


def _require_school(actor: Actor, school: OrgUnit) -> None:
    if school.kind != Kind.SCHOOL or not can_handle_school(principal_for(actor), school):
        raise PermissionDenied


def _lock_school(school: OrgUnit) -> OrgUnit:
    """Serialise creates for one school, so that a concurrent repeat of a client key finds the
    first row instead of failing on the unique key."""
    return OrgUnit.objects.select_for_update().get(pk=school.pk)


def _end_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(
        datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min)
    )


def _term() -> Term:
    term = Term.objects.current() or Term.objects.on(timezone.localdate())
    if term is None:
        raise DomainError(_("There is no current term, so no screening can be started."))
    return term


def _check_group(
    school: OrgUnit, classes: Sequence[OrgUnit], students: Sequence[Student], *, field: str
) -> None:
    for cls in classes:
        if cls.kind != Kind.CLASS or cls.school_id != school.pk:
            raise DomainError(_("Choose classes of this school."), field=field)
    for student in students:
        if student.school_id != school.pk:
            raise DomainError(_("Every listed student must be at this school."), field=field)


def _start_campaign(
    *,
    actor: Actor,
    school: OrgUnit,
    name: str,
    kind: str,
    closes_on: datetime.date,
    units: Sequence[OrgUnit] = (),
    students: Sequence[Student] = (),
) -> Campaign:
    """Create and open a school campaign through the screening services (their own checks and
    audit events apply: the actor must be allowed to run the school's screening)."""
    now = timezone.now()
    closes_at = _end_of(closes_on)
    if closes_at <= now:
        raise DomainError(_("The screening must close after today."), field="closes_on")
    campaign = screening_services.create_campaign(
        actor=actor,
        name=name[:120],
        term=_term(),
        kind=kind,
        owner_unit=school,
        units=list(units),
        students=list(students),
        opens_at=now,
        closes_at=closes_at,
    )
    screening_services.open_campaign(actor=actor, campaign=campaign)
    campaign.refresh_from_db()
    return campaign


# --- sweeps -----------------------------------------------------------------------------------


def _insert_reviews(sweep: Sweep) -> int:
    """One review per open case the school holds, in one statement whatever the number."""
    review, case = SweepReview._meta.db_table, Case._meta.db_table
    qn = connection.ops.quote_name
    # Each review's row key (its encrypted note is bound to it), made by the database.
    code = (
        "gen_random_uuid()" if connection.vendor == "postgresql" else "lower(hex(randomblob(16)))"
    )
    sql = (
        f"INSERT INTO {qn(review)} (code, sweep_id, case_id, note) "
        f"SELECT {code}, %s, c.id, '' FROM {qn(case)} c WHERE c.school_id = %s AND c.status = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [sweep.pk, sweep.school_id, CaseStatus.OPEN])
        return max(int(cursor.rowcount), 0)


@transaction.atomic
def start_sweep(
    *,
    actor: User,
    school: OrgUnit,
    kind: str,
    title: str,
    review_by: datetime.date | None,
    client_key: str,
    rescreen_classes: Sequence[OrgUnit] = (),
    rescreen_students: Sequence[Student] = (),
    campaign_kind: str = "",
) -> Sweep:
    """Start a special-period sweep. Effects, in order: the school's psychology teacher; the
    school locked; the sweep already started with this `client_key` returned (a double submit);
    checks (kind, title, a review-by date not in the past); the `Sweep`; one `SweepReview` per
    open case of the school (set-based); when a group is chosen, a re-screening campaign for it
    created and opened (closing on the review-by date); audit `cases.sweep.started`."""
    client_key = clean_client_key(client_key)
    _require_school(actor, school)
    school = _lock_school(school)
    if (repeat := existing_row(Sweep, client_key, school_id=school.pk)) is not None:
        return repeat
    if kind not in SweepKind.values:
        raise DomainError(_("Choose the kind of special period."), field="kind")
    title = (title or "").strip()
    if not title:
        raise DomainError(_("Give the sweep a title."), field="title")
    if review_by is None or review_by < timezone.localdate():
        raise DomainError(_("The review-by date cannot be in the past."), field="review_by")
    rescreen = bool(rescreen_classes or rescreen_students)
    if rescreen:
        _check_group(school, rescreen_classes, rescreen_students, field="rescreen_classes")
        campaign_kind = campaign_kind or SWEEP_CAMPAIGN_KIND.get(kind, "")
        if campaign_kind not in RESCREEN_KINDS:
            raise DomainError(
                _("Choose which kind of screening the re-screen is."), field="campaign_kind"
            )
    sweep = Sweep.objects.create(
        school=school,
        kind=kind,
        title=title,
        review_by=review_by,
        started_by=actor,
        started_at=timezone.now(),
        client_key=client_key,
    )
    cases = _insert_reviews(sweep)
    if rescreen:
        sweep.campaign = _start_campaign(
            actor=actor,
            school=school,
            name=title,
            kind=campaign_kind,
            closes_on=review_by,
            units=rescreen_classes,
            students=rescreen_students,
        )
        sweep.save(update_fields=["campaign"])
    record_event(
        actor=actor,
        action="cases.sweep.started",
        obj=sweep,
        fields={
            "kind": kind,
            "review_by": review_by.isoformat(),
            "cases": cases,
            "campaign": str(sweep.campaign.code) if sweep.campaign else None,
            "rescreen_classes": [str(c.code) for c in rescreen_classes],
            "rescreen_students": len(rescreen_students),
        },
    )
    return sweep


@transaction.atomic
def review_sweep_case(review: SweepReview, *, actor: Actor, note: str) -> SweepReview:
    """Record the review of one case in a sweep (once). Effects: reviewer, time and the encrypted
    note on the `SweepReview`; audit `cases.sweep_review.recorded`."""
    case = lock_case(review.case)
    review = SweepReview.objects.select_for_update().select_related("sweep").get(pk=review.pk)
    if case.school_id != review.sweep.school_id or not can_handle(principal_for(actor), case):
        raise PermissionDenied
    if review.reviewed_at is not None:
        raise DomainError(_("This case has already been reviewed in this sweep."))
    note = (note or "").strip()
    if not note:
        raise DomainError(_("Write what the review found."), field="note")
    review.note = note
    review.reviewed_by = actor
    review.reviewed_at = timezone.now()
    review.save(update_fields=["note", "reviewed_by", "reviewed_at"])
    record_event(
        actor=actor,
        action="cases.sweep_review.recorded",
        obj=review,
        school_id=review.sweep.school_id,
        fields={"sweep": str(review.sweep.code), "case": str(case.code)},
    )
    return review


# --- incidents --------------------------------------------------------------------------------


def incident_campaign_name(incident: Incident) -> str:
    # The incident's title stays out of the campaign name: campaign names are shown widely.
    return _("Follow-up screening after an incident on %(day)s") % {
        "day": incident.occurred_on.isoformat()
    }


@transaction.atomic
def record_incident(
    *,
    actor: User,
    school: OrgUnit,
    title: str,
    occurred_on: datetime.date | None,
    description: str,
    client_key: str,
    classes: Sequence[OrgUnit] = (),
    students: Sequence[Student] = (),
    start_campaign: bool = False,
    campaign_closes_on: datetime.date | None = None,
) -> Incident:
    """Record a critical incident and its affected group. Effects, in order: the school's
    psychology teacher; the school locked; the incident already recorded with this `client_key`
    returned (a double submit); checks (title, date not in the future, description, at least one
    affected student); the `Incident` with its affected students (the listed students and every
    enrolled or suspended student of the chosen classes, fixed now); optionally the follow-up
    screening (`start_incident_campaign`); audit `cases.incident.recorded`."""
    client_key = clean_client_key(client_key)
    _require_school(actor, school)
    school = _lock_school(school)
    if (repeat := existing_row(Incident, client_key, school_id=school.pk)) is not None:
        return repeat
    title = (title or "").strip()
    if not title:
        raise DomainError(_("Give the incident a short title."), field="title")
    if occurred_on is None or occurred_on > timezone.localdate():
        raise DomainError(
            _("Give the date of the incident (not in the future)."), field="occurred_on"
        )
    description = (description or "").strip()
    if not description:
        raise DomainError(_("Describe what happened."), field="description")
    if start_campaign and campaign_closes_on is None:
        raise DomainError(
            _("Give the date the follow-up screening closes."), field="campaign_closes_on"
        )
    _check_group(school, classes, students, field="classes")
    affected_ids = list(
        Student.objects.filter(school=school, status__in=ACTIVE_STATUSES)
        .filter(Q(school_class__in=list(classes)) | Q(pk__in=[s.pk for s in students]))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not affected_ids:
        raise DomainError(
            _("Choose the affected students: whole classes, a list of students, or both."),
            field="classes",
        )
    incident = Incident.objects.create(
        school=school,
        title=title,
        occurred_on=occurred_on,
        description=description,
        recorded_by=actor,
        recorded_at=timezone.now(),
        client_key=client_key,
    )
    through = Incident.affected.through
    through.objects.bulk_create(
        [through(incident_id=incident.pk, student_id=pk) for pk in affected_ids], batch_size=500
    )
    record_event(
        actor=actor,
        action="cases.incident.recorded",
        obj=incident,
        fields={
            "occurred_on": occurred_on.isoformat(),
            "affected": len(affected_ids),
            "classes": [str(c.code) for c in classes],
        },
    )
    if start_campaign:
        start_incident_campaign(incident, actor=actor, closes_on=campaign_closes_on)
    return incident


@transaction.atomic
def start_incident_campaign(
    incident: Incident, *, actor: Actor, closes_on: datetime.date | None
) -> Campaign:
    """A follow-up screening (campaign kind "incident") assigned to exactly the affected students,
    created and opened through the screening services. Effects: the campaign and its
    assignments; `Incident.campaign`; audit `cases.incident.campaign_started`."""
    _require_school(actor, incident.school)
    incident = Incident.objects.select_for_update().select_related("school").get(pk=incident.pk)
    if incident.campaign_id is not None:
        raise DomainError(_("This incident already has a follow-up screening."))
    if closes_on is None:
        raise DomainError(_("Give the date the follow-up screening closes."), field="closes_on")
    students = list(incident.affected.select_related("school").order_by("pk"))
    campaign = _start_campaign(
        actor=actor,
        school=incident.school,
        name=incident_campaign_name(incident),
        kind=CampaignKind.INCIDENT,
        closes_on=closes_on,
        students=students,
    )
    incident.campaign = campaign
    incident.save(update_fields=["campaign"])
    record_event(
        actor=actor,
        action="cases.incident.campaign_started",
        obj=incident,
        fields={"campaign": str(campaign.code), "students": len(students)},
    )
    return campaign


@transaction.atomic
def record_group_session(
    incident: Incident,
    *,
    actor: Actor,
    held_at: datetime.datetime | None,
    facilitator: Any,
    topic: str,
    participants: Iterable[Student],
    client_key: str,
    note: str = "",
) -> GroupSession:
    """Record a group session (团体辅导) held for the incident's affected group. Checks: the
    school's psychology teacher; then (the incident locked) the session already recorded with
    this `client_key` is returned (a double submit); held, not in the future; a topic; a
    facilitator from the school or its district station; participants only from the affected
    group. Effects: the `GroupSession` with its participants; audit
    `cases.group_session.recorded`."""
    client_key = clean_client_key(client_key)
    _require_school(actor, incident.school)
    # The lock serialises creates for the incident: a concurrent repeat finds the first row.
    incident = (
        Incident.objects.select_for_update(of=("self",))
        .select_related("school")
        .get(pk=incident.pk)
    )
    if (repeat := existing_row(GroupSession, client_key, incident_id=incident.pk)) is not None:
        return repeat
    topic = (topic or "").strip()
    if not topic:
        raise DomainError(_("Give the topic of the session."), field="topic")
    if held_at is None or held_at > timezone.now() + datetime.timedelta(minutes=5):
        raise DomainError(
            _("Record a session once it has been held (not in the future)."), field="held_at"
        )
    if facilitator is None or not facilitators(incident.school).filter(pk=facilitator.pk).exists():
        raise DomainError(
            _("The facilitator must be a member of staff of the school or its district station."),
            field="facilitator",
        )
    ids = sorted({s.pk for s in participants})
    if not ids:
        raise DomainError(_("Choose who took part."), field="participants")
    if incident.affected.filter(pk__in=ids).count() != len(ids):
        raise DomainError(
            _("Participants must come from the incident's affected group."), field="participants"
        )
    session = GroupSession.objects.create(
        incident=incident,
        held_at=held_at,
        facilitator=facilitator,
        topic=topic,
        note=(note or "").strip(),
        recorded_at=timezone.now(),
        client_key=client_key,
    )
    session.participants.set(ids)
    record_event(
        actor=actor,
        action="cases.group_session.recorded",
        obj=session,
        school_id=incident.school_id,
        fields={
            "incident": str(incident.code),
            "held_at": held_at.isoformat(),
            "participants": len(ids),
        },
    )
    return session
