# ruff: noqa: S608  (SQL built from model table names and fixed fragments; values are parameters)
"""Screening writes: campaigns and their lifecycle, assignments, consent, sittings, submission.

Every write is keyword-only, takes `actor=`, runs in one transaction and records its audit event
in that transaction. Authorisation: the services check that the actor may act on the campaign's
owner unit (views have already checked the capability).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from xinqiao.access.roles import Cap, Role
from xinqiao.access.scope import principal_for
from xinqiao.audit.services import record_event
from xinqiao.core.errors import DomainError
from xinqiao.instruments.engine import (
    UnknownInstrumentError,
    get_definition,
)
from xinqiao.orgs.models import PATH_END, Kind, OrgUnit, Term
from xinqiao.people.models import Student, StudentStatus

from .models import (
    Assignment,
    AssignmentStatus,
    BatteryEntry,
    Campaign,
    CampaignStatus,
    CampaignStudent,
    CampaignUnit,
    Consent,
    ConsentBasis,
    Response,
    Sitting,
    StageBand,
)

# The default battery per stage band (docs/screening.md explains the choice and the sources).
DEFAULT_BATTERY: dict[str, list[str]] = {
    StageBand.PRIMARY_LOWER: [],
    StageBand.PRIMARY_UPPER: ["Y-PSC-17"],
    StageBand.JUNIOR: ["PHQ-A", "GAD-7", "ASQ"],
    StageBand.SENIOR: ["PHQ-A", "GAD-7", "ASQ"],
    StageBand.VOCATIONAL: ["PHQ-A", "GAD-7", "ASQ"],
}

SITTING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
SITTING_CODE_LENGTH = 6


def default_battery() -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for band, codes in DEFAULT_BATTERY.items():
        out[band] = [(code, get_definition(code).version) for code in codes]
    return out


# --- authorisation helpers -------------------------------------------------------------------


def can_manage(actor: Any, owner_unit: OrgUnit) -> bool:
    """City/district admins for their area; a psychology teacher for their own school."""
    principal = principal_for(actor)
    for grant in principal.grants_with(Cap.MANAGE_CAMPAIGNS):
        if not grant.area.contains(owner_unit):
            continue
        if grant.role == Role.PSYCHOLOGY_TEACHER and (
            owner_unit.kind != Kind.SCHOOL or grant.unit.kind != Kind.SCHOOL
        ):
            continue
        return True
    return False


def _require_manage(actor: Any, campaign: Campaign) -> None:
    if actor is not None and not can_manage(actor, campaign.owner_unit):
        raise DomainError(_("You may not manage this campaign."))


def _require_status(campaign: Campaign, *allowed: str, message: str) -> None:
    if campaign.status not in allowed:
        raise DomainError(message)


# --- campaigns -------------------------------------------------------------------------------


def _validate_battery(battery: Mapping[str, Sequence[Any]]) -> list[BatteryEntry]:
    entries: list[BatteryEntry] = []
    for band, items in battery.items():
        if band not in StageBand.values:
            raise DomainError(_("Unknown school stage: %(band)s") % {"band": band}, field="battery")
        for position, item in enumerate(items):
            code, version = (item, None) if isinstance(item, str) else item
            try:
                defn = get_definition(code, version)
            except UnknownInstrumentError:
                raise DomainError(
                    _("Unknown instrument: %(code)s") % {"code": code}, field="battery"
                ) from None
            if defn.respondent != "self":
                raise DomainError(
                    _("%(code)s is answered by parents or teachers, not by students.")
                    % {"code": defn.code},
                    field="battery",
                )
            entries.append(
                BatteryEntry(
                    stage_band=band,
                    instrument_code=defn.code,
                    instrument_version=defn.version,
                    position=position,
                )
            )
    return entries


def _check_units_within(owner: OrgUnit, units: Iterable[OrgUnit]) -> list[OrgUnit]:
    units = list(units)
    for unit in units:
        if not owner.contains(unit):
            raise DomainError(
                _("%(unit)s is outside %(owner)s.") % {"unit": unit.name, "owner": owner.name},
                field="units",
            )
        if unit.kind not in (Kind.CITY, Kind.DISTRICT, Kind.SCHOOL, Kind.GRADE, Kind.CLASS):
            raise DomainError(
                _("Only cities, districts, schools, grades and classes can be covered.")
            )
    return units


@transaction.atomic
def create_campaign(
    *,
    actor: Any,
    name: str,
    term: Term,
    kind: str,
    owner_unit: OrgUnit,
    opens_at: Any,
    closes_at: Any,
    units: Iterable[OrgUnit] | None = None,
    grade_levels: Sequence[int] = (),
    students: Iterable[Student] = (),
    battery: Mapping[str, Sequence[Any]] | None = None,
    consent_basis: str = ConsentBasis.STATUTORY_DUTY,
    legal_basis_note: str = "",
    results_visibility: str = "school_psychology_teachers",
    checks: dict[str, Any] | None = None,
    student_login: str = "student_number",
) -> Campaign:
    if actor is not None and not can_manage(actor, owner_unit):
        raise DomainError(_("You may not create a campaign for %(unit)s.") % {"unit": owner_unit})
    if closes_at <= opens_at:
        raise DomainError(_("The campaign must close after it opens."), field="closes_at")
    covered = _check_units_within(owner_unit, units if units is not None else [owner_unit])
    students = list(students)
    for student in students:
        if not owner_unit.contains(student.school):
            raise DomainError(
                _("A listed student is outside the campaign's area."), field="students"
            )
    if not covered and not students:
        raise DomainError(_("Choose the units or the students the campaign covers."), field="units")
    entries = _validate_battery(battery if battery is not None else default_battery())
    campaign = Campaign.objects.create(
        name=name,
        term=term,
        kind=kind,
        owner_unit=owner_unit,
        opens_at=opens_at,
        closes_at=closes_at,
        consent_basis=consent_basis,
        legal_basis_note=legal_basis_note,
        results_visibility=results_visibility,
        checks=checks or {},
        student_login=student_login,
        grade_levels=sorted({int(g) for g in grade_levels}),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    CampaignUnit.objects.bulk_create([CampaignUnit(campaign=campaign, unit=u) for u in covered])
    CampaignStudent.objects.bulk_create(
        [CampaignStudent(campaign=campaign, student=s) for s in students]
    )
    for entry in entries:
        entry.campaign = campaign
    BatteryEntry.objects.bulk_create(entries)
    record_event(
        actor=actor,
        action="screening.campaign.created",
        obj=campaign,
        school_id=owner_unit.pk if owner_unit.kind == Kind.SCHOOL else None,
        fields={
            "name": name,
            "kind": kind,
            "owner_unit": str(owner_unit.code),
            "units": [str(u.code) for u in covered],
            "students": len(students),
            "battery": [
                f"{e.stage_band}:{e.instrument_code}@{e.instrument_version}" for e in entries
            ],
            "consent_basis": consent_basis,
        },
    )
    return campaign


_EDITABLE = {
    "name",
    "kind",
    "opens_at",
    "closes_at",
    "consent_basis",
    "legal_basis_note",
    "results_visibility",
    "checks",
    "student_login",
    "grade_levels",
}


@transaction.atomic
def update_campaign(*, actor: Any, campaign: Campaign, **changes: Any) -> Campaign:
    """Change a draft's settings (an open campaign may only move its closing time)."""
    _require_manage(actor, campaign)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise DomainError(_("These settings cannot be changed: %(f)s") % {"f": ", ".join(unknown)})
    if campaign.status == CampaignStatus.OPEN and set(changes) - {"closes_at", "name"}:
        raise DomainError(_("An open campaign can only change its name and closing time."))
    if campaign.status in (CampaignStatus.CLOSED, CampaignStatus.ARCHIVED):
        raise DomainError(_("A closed campaign cannot be changed."))
    for name, value in changes.items():
        setattr(campaign, name, value)
    if campaign.closes_at <= campaign.opens_at:
        raise DomainError(_("The campaign must close after it opens."), field="closes_at")
    campaign.save()
    record_event(
        actor=actor, action="screening.campaign.updated", obj=campaign, fields=_fields(changes)
    )
    return campaign


def _fields(changes: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in changes.items()}


@transaction.atomic
def set_battery(
    *, actor: Any, campaign: Campaign, battery: Mapping[str, Sequence[Any]]
) -> list[BatteryEntry]:
    """Replace the battery. Refused once the campaign has opened: answers must stay comparable."""
    _require_manage(actor, campaign)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != CampaignStatus.DRAFT:
        raise DomainError(_("The battery of an open or closed campaign cannot change."))
    entries = _validate_battery(battery)
    BatteryEntry.objects.filter(campaign=campaign).delete()
    for entry in entries:
        entry.campaign = campaign
    BatteryEntry.objects.bulk_create(entries)
    record_event(
        actor=actor,
        action="screening.battery.changed",
        obj=campaign,
        fields={
            "battery": [
                f"{e.stage_band}:{e.instrument_code}@{e.instrument_version}" for e in entries
            ]
        },
    )
    return entries


@transaction.atomic
def open_campaign(*, actor: Any, campaign: Campaign) -> int:
    """draft → open: create every assignment in one INSERT … SELECT. Returns the number created."""
    _require_manage(actor, campaign)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _require_status(
        campaign, CampaignStatus.DRAFT, message=_("Only a draft campaign can be opened.")
    )
    if not BatteryEntry.objects.filter(campaign=campaign).exists():
        raise DomainError(_("The campaign has no instruments."))
    campaign.status = CampaignStatus.OPEN
    campaign.opened_at = timezone.now()
    campaign.save(update_fields=["status", "opened_at"])
    created = create_assignments(campaign)
    record_event(
        actor=actor,
        action="screening.campaign.opened",
        obj=campaign,
        fields={"assignments": created},
    )
    return created


@transaction.atomic
def close_campaign(*, actor: Any, campaign: Campaign) -> Campaign:
    _require_manage(actor, campaign)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _require_status(
        campaign, CampaignStatus.OPEN, message=_("Only an open campaign can be closed.")
    )
    now = timezone.now()
    campaign.status = CampaignStatus.CLOSED
    campaign.closed_at = now
    campaign.save(update_fields=["status", "closed_at"])
    closed_sittings = Sitting.objects.filter(campaign=campaign, closed_at__isnull=True).update(
        closed_at=now
    )
    record_event(
        actor=actor,
        action="screening.campaign.closed",
        obj=campaign,
        fields={"sittings_closed": closed_sittings},
    )
    return campaign


@transaction.atomic
def archive_campaign(*, actor: Any, campaign: Campaign) -> Campaign:
    _require_manage(actor, campaign)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    _require_status(
        campaign, CampaignStatus.CLOSED, message=_("Only a closed campaign can be archived.")
    )
    campaign.status = CampaignStatus.ARCHIVED
    campaign.archived_at = timezone.now()
    campaign.save(update_fields=["status", "archived_at"])
    record_event(actor=actor, action="screening.campaign.archived", obj=campaign, fields={})
    return campaign


# --- assignments (set-based) -----------------------------------------------------------------


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def assignment_insert_sql(
    campaign: Campaign, *, school_ids: Sequence[int] | None = None
) -> tuple[str, list[Any]]:
    """The INSERT … SELECT that assigns every student in the campaign's scope not yet assigned.

    Suspended students get status `suspended`; students without what the consent basis needs get
    `no_consent`. Idempotent (NOT EXISTS), so it also serves students who join while open.
    """
    unit_q: list[str] = []
    params: list[Any] = []
    units = list(
        OrgUnit.objects.filter(pk__in=CampaignUnit.objects.filter(campaign=campaign).values("unit"))
    )
    for unit in units:
        column = "c.path" if unit.kind in (Kind.GRADE, Kind.CLASS) else "sch.path"
        unit_q.append(f"({column} >= %s AND {column} < %s)")
        params += [unit.path, unit.path + PATH_END]
    scope = "(" + " OR ".join(unit_q) + ")" if unit_q else "1=0"
    if campaign.grade_levels:
        scope += " AND g.grade_level IN (" + ",".join("%s" for _ in campaign.grade_levels) + ")"
        params += list(campaign.grade_levels)
    scope = (
        f"(({scope}) OR s.id IN (SELECT cs.student_id FROM {_table(CampaignStudent)} cs "
        f"WHERE cs.campaign_id = %s))"
    )
    params.append(campaign.pk)
    if school_ids is not None:
        scope += (
            " AND s.school_id IN (" + ",".join("%s" for _ in school_ids) + ")"
            if school_ids
            else " AND 1=0"
        )
        params += list(school_ids)

    if campaign.needs_guardian_consent:
        consent_missing = (
            f"NOT EXISTS (SELECT 1 FROM {_table(Consent)} k WHERE k.campaign_id = %s "
            f"AND k.student_id = s.id AND k.granted = %s)"
        )
    else:  # statutory duty: only a recorded objection withholds the questionnaire
        consent_missing = (
            f"EXISTS (SELECT 1 FROM {_table(Consent)} k WHERE k.campaign_id = %s "
            f"AND k.student_id = s.id AND k.granted = %s)"
        )
    consent_params = [campaign.pk, campaign.needs_guardian_consent]
    empty_json = "'[]'::jsonb" if connection.vendor == "postgresql" else "'[]'"
    sql = f"""
INSERT INTO {_table(Assignment)}
    (campaign_id, student_id, school_id, school_class_id, grade_id, stage_band, instruments,
     status, created_at)
SELECT %s, s.id, s.school_id, s.school_class_id, c.parent_id,
    CASE WHEN sch.stage = 'vocational' THEN 'vocational'
         WHEN g.grade_level BETWEEN 1 AND 3 THEN 'primary_lower'
         WHEN g.grade_level BETWEEN 4 AND 6 THEN 'primary_upper'
         WHEN g.grade_level BETWEEN 7 AND 9 THEN 'junior'
         WHEN g.grade_level >= 10 THEN 'senior'
         WHEN sch.stage = 'primary' THEN 'primary_upper'
         WHEN sch.stage IN ('senior') THEN 'senior'
         ELSE 'junior' END,
    {empty_json},
    CASE WHEN s.status = %s THEN %s
         WHEN {consent_missing} THEN %s
         ELSE %s END,
    %s
FROM {_table(Student)} s
JOIN {_table(OrgUnit)} sch ON sch.id = s.school_id
LEFT JOIN {_table(OrgUnit)} c ON c.id = s.school_class_id
LEFT JOIN {_table(OrgUnit)} g ON g.id = c.parent_id
WHERE s.status IN (%s, %s)
  AND {scope}
  AND NOT EXISTS (SELECT 1 FROM {_table(Assignment)} a
                  WHERE a.campaign_id = %s AND a.student_id = s.id AND a.resit_of_id IS NULL)
"""
    all_params = [
        campaign.pk,
        StudentStatus.SUSPENDED,
        AssignmentStatus.SUSPENDED,
        *consent_params,
        AssignmentStatus.NO_CONSENT,
        AssignmentStatus.ASSIGNED,
        timezone.now(),
        StudentStatus.ENROLLED,
        StudentStatus.SUSPENDED,
        *params,
        campaign.pk,
    ]
    return sql, all_params


def create_assignments(campaign: Campaign, *, school_ids: Sequence[int] | None = None) -> int:
    sql, params = assignment_insert_sql(campaign, school_ids=school_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def _open_campaigns_covering(school_ids: Sequence[int] | None) -> list[Campaign]:
    campaigns = Campaign.objects.filter(status=CampaignStatus.OPEN)
    if school_ids is None:
        return list(campaigns)
    paths = list(OrgUnit.objects.filter(pk__in=school_ids).values_list("path", flat=True))
    prefixes: set[str] = set()
    for path in paths:
        prefixes.update(path[:i] for i in range(8, len(path) + 1, 8))
    covering = Q(units__unit__path__in=prefixes) | Q(
        listed_students__student__school_id__in=school_ids
    )
    # A grade or class inside one of the schools.
    for path in paths:
        covering |= Q(units__unit__path__gte=path, units__unit__path__lt=path + PATH_END)
    return list(campaigns.filter(covering).distinct())


@transaction.atomic
def sync_open_campaigns(*, school_ids: Sequence[int] | None = None) -> int:
    """Give assignments to students who joined an open campaign's scope; re-check statuses.

    The roster import and people services call this with the schools they touched; the periodic
    task `screening.tasks.sync_open_campaigns` calls it for everything.
    """
    total = 0
    for campaign in _open_campaigns_covering(school_ids):
        total += create_assignments(campaign, school_ids=school_ids)
        base = Assignment.objects.filter(campaign=campaign, resit_of__isnull=True)
        if school_ids is not None:
            base = base.filter(school_id__in=school_ids)
        # Suspension lifted → the student is assigned again (subject to consent below).
        base.filter(
            status=AssignmentStatus.SUSPENDED, student__status=StudentStatus.ENROLLED
        ).update(status=AssignmentStatus.ASSIGNED)
        base.filter(
            status__in=[AssignmentStatus.ASSIGNED, AssignmentStatus.NO_CONSENT],
            student__status=StudentStatus.SUSPENDED,
        ).update(status=AssignmentStatus.SUSPENDED)
        _apply_consent_status(campaign, base)
        _follow_class_moves(base)
    return total


def _follow_class_moves(assignments: Any) -> int:
    """Students not yet started who moved class (or school) take it with their new class."""
    from django.db.models import F, OuterRef, Subquery

    moved = assignments.filter(
        status__in=[
            AssignmentStatus.ASSIGNED,
            AssignmentStatus.NO_CONSENT,
            AssignmentStatus.SUSPENDED,
        ],
    ).exclude(school_class=F("student__school_class"))
    student = Student.objects.filter(pk=OuterRef("student_id"))
    return Assignment.objects.filter(pk__in=moved.values("pk")).update(
        school_id=Subquery(student.values("school_id")[:1]),
        school_class_id=Subquery(student.values("school_class_id")[:1]),
        grade_id=Subquery(student.values("school_class__parent_id")[:1]),
    )


def _apply_consent_status(campaign: Campaign, assignments: Any) -> None:
    granted = Consent.objects.filter(campaign=campaign, granted=True).values("student_id")
    refused = Consent.objects.filter(campaign=campaign, granted=False).values("student_id")
    if campaign.needs_guardian_consent:
        assignments.filter(status=AssignmentStatus.ASSIGNED).exclude(student_id__in=granted).update(
            status=AssignmentStatus.NO_CONSENT
        )
        assignments.filter(status=AssignmentStatus.NO_CONSENT, student_id__in=granted).update(
            status=AssignmentStatus.ASSIGNED
        )
    else:
        assignments.filter(status=AssignmentStatus.ASSIGNED, student_id__in=refused).update(
            status=AssignmentStatus.NO_CONSENT
        )
        assignments.filter(status=AssignmentStatus.NO_CONSENT).exclude(
            student_id__in=refused
        ).update(status=AssignmentStatus.ASSIGNED)


def students_changed(*, school_ids: Sequence[int]) -> int:
    """Hook for roster import / people services: students were added or moved in these schools."""
    if not Campaign.objects.filter(status=CampaignStatus.OPEN).exists():
        return 0
    return sync_open_campaigns(school_ids=list(school_ids))


# --- consent ---------------------------------------------------------------------------------


@transaction.atomic
def record_consents(
    *,
    actor: Any,
    campaign: Campaign,
    students: Sequence[Student],
    granted: bool,
    note: str = "",
) -> int:
    """Record guardian consent (or refusal) for several students at once, e.g. a whole class."""
    campaign = Campaign.objects.get(pk=campaign.pk)
    if campaign.status in (CampaignStatus.CLOSED, CampaignStatus.ARCHIVED):
        raise DomainError(_("The campaign is closed."))
    principal = principal_for(actor)
    allowed = principal.students(cap=Cap.RECORD_CONSENT).filter(pk__in=[s.pk for s in students])
    if allowed.count() != len({s.pk for s in students}):
        raise DomainError(_("Some students are outside your responsibility."))
    now = timezone.now()
    basis = (
        ConsentBasis.GUARDIAN_CONSENT if campaign.needs_guardian_consent else campaign.consent_basis
    )
    ids = [s.pk for s in students]
    existing = set(
        Consent.objects.filter(campaign=campaign, student_id__in=ids).values_list(
            "student_id", flat=True
        )
    )
    Consent.objects.filter(campaign=campaign, student_id__in=existing).update(
        granted=granted, recorded_by=actor, recorded_at=now, note=note, basis=basis
    )
    Consent.objects.bulk_create(
        [
            Consent(
                campaign=campaign,
                student_id=pk,
                basis=basis,
                granted=granted,
                recorded_by=actor,
                recorded_at=now,
                note=note,
            )
            for pk in ids
            if pk not in existing
        ]
    )
    if campaign.status == CampaignStatus.OPEN:
        _apply_consent_status(
            campaign, Assignment.objects.filter(campaign=campaign, student_id__in=ids)
        )
    school_ids = {s.school_id for s in students}
    record_event(
        actor=actor,
        action="screening.consent.recorded",
        obj=campaign,
        school_id=school_ids.pop() if len(school_ids) == 1 else None,
        fields={"students": len(ids), "granted": granted, "basis": basis},
    )
    return len(ids)


# --- absences and re-sits --------------------------------------------------------------------


def _require_assignment_manager(actor: Any, assignment: Assignment) -> None:
    principal = principal_for(actor)
    if not principal.students(cap=Cap.MANAGE_ASSIGNMENTS).filter(pk=assignment.student_id).exists():
        raise DomainError(_("This student is outside your responsibility."))


@transaction.atomic
def mark_absent(*, actor: Any, assignment: Assignment) -> Assignment:
    _require_assignment_manager(actor, assignment)
    assignment = (
        Assignment.objects.select_for_update().select_related("campaign").get(pk=assignment.pk)
    )
    if assignment.campaign.status != CampaignStatus.OPEN:
        raise DomainError(_("The campaign is not open."))
    if assignment.status not in (AssignmentStatus.ASSIGNED, AssignmentStatus.STARTED):
        raise DomainError(_("Only a student who has not finished can be marked absent."))
    assignment.status = AssignmentStatus.ABSENT
    assignment.save(update_fields=["status"])
    record_event(
        actor=actor,
        action="screening.assignment.marked_absent",
        obj=assignment,
        fields={"student": str(assignment.student.code)},
    )
    return assignment


@transaction.atomic
def assign_resit(
    *, actor: Any, assignment: Assignment, instruments: Sequence[str] = ()
) -> Assignment:
    """A re-sit (or, with `instruments`, a follow-up) linked to the original by `resit_of`.

    It carries a one-time personal link token for a make-up outside a class sitting.
    """
    _require_assignment_manager(actor, assignment)
    original = (
        Assignment.objects.select_for_update().select_related("campaign").get(pk=assignment.pk)
    )
    if original.campaign.status != CampaignStatus.OPEN:
        raise DomainError(_("The campaign is not open."))
    if original.status in (AssignmentStatus.NO_CONSENT, AssignmentStatus.SUSPENDED):
        raise DomainError(_("This student may not take the questionnaire."))
    codes = []
    for code in instruments:
        try:
            defn = get_definition(code)
        except UnknownInstrumentError:
            raise DomainError(_("Unknown instrument: %(code)s") % {"code": code}) from None
        codes.append(defn.code)
    if original.resit_of is not None:
        original = original.resit_of  # always link to the first sitting
    if Assignment.objects.filter(
        resit_of=original, status__in=[AssignmentStatus.ASSIGNED, AssignmentStatus.STARTED]
    ).exists():
        raise DomainError(_("A re-sit is already waiting for this student."))
    resit = Assignment.objects.create(
        campaign=original.campaign,
        student_id=original.student_id,
        school_id=original.school_id,
        school_class_id=original.school_class_id,
        grade_id=original.grade_id,
        stage_band=original.stage_band,
        instruments=codes,
        status=AssignmentStatus.ASSIGNED,
        link_token=secrets.token_urlsafe(24),
        resit_of=original,
        created_at=timezone.now(),
    )
    record_event(
        actor=actor,
        action="screening.assignment.resit_assigned",
        obj=resit,
        fields={"original": original.pk, "instruments": codes},
    )
    return resit


def battery_for(assignment: Assignment) -> list[tuple[str, str]]:
    """The (instrument code, version) list this assignment answers, in order."""
    if assignment.instruments:
        entries = {
            e.instrument_code: e.instrument_version
            for e in BatteryEntry.objects.filter(campaign_id=assignment.campaign_id)
        }
        return [(c, entries.get(c) or get_definition(c).version) for c in assignment.instruments]
    return list(
        BatteryEntry.objects.filter(
            campaign_id=assignment.campaign_id, stage_band=assignment.stage_band
        )
        .order_by("position", "id")
        .values_list("instrument_code", "instrument_version")
    )


# --- sittings --------------------------------------------------------------------------------


def _new_sitting_code() -> str:
    return "".join(secrets.choice(SITTING_ALPHABET) for _ in range(SITTING_CODE_LENGTH))


def can_run_sitting(actor: Any, school_class: OrgUnit) -> bool:
    principal = principal_for(actor)
    return principal.sees_unit(school_class, Cap.RUN_SITTINGS)


@transaction.atomic
def open_sitting(
    *, actor: Any, campaign: Campaign, school_class: OrgUnit, minutes: int = 60
) -> Sitting:
    if school_class.kind != Kind.CLASS:
        raise DomainError(_("A sitting is for one class."))
    if not can_run_sitting(actor, school_class):
        raise DomainError(_("You may not open a sitting for this class."))
    if campaign.status != CampaignStatus.OPEN:
        raise DomainError(_("The campaign is not open."))
    if not Assignment.objects.filter(campaign=campaign, school_class=school_class).exists():
        raise DomainError(_("Nobody in this class takes part in the campaign."))
    now = timezone.now()
    closes_at = min(now + timedelta(minutes=max(5, min(minutes, 240))), campaign.closes_at)
    if closes_at <= now:
        raise DomainError(_("The campaign's window has ended."))
    for _attempt in range(10):
        try:
            with transaction.atomic():
                sitting = Sitting.objects.create(
                    code=_new_sitting_code(),
                    campaign=campaign,
                    school_class=school_class,
                    school_id=school_class.school_id or school_class.pk,
                    opened_by=actor,
                    opened_at=now,
                    closes_at=closes_at,
                )
            break
        except IntegrityError:
            continue
    else:  # pragma: no cover - 31^6 codes
        raise DomainError(_("Could not find a free sitting code; try again."))
    record_event(
        actor=actor,
        action="screening.sitting.opened",
        obj=sitting,
        fields={"class": str(school_class.code), "campaign": str(campaign.code)},
    )
    return sitting


@transaction.atomic
def close_sitting(*, actor: Any, sitting: Sitting) -> Sitting:
    if not can_run_sitting(actor, sitting.school_class):
        raise DomainError(_("You may not close this sitting."))
    if sitting.closed_at is None:
        sitting.closed_at = timezone.now()
        sitting.save(update_fields=["closed_at"])
        record_event(actor=actor, action="screening.sitting.closed", obj=sitting, fields={})
    return sitting


def find_assignment_for_sitting(
    *,
    sitting_code: str,
    student_number: str | None = None,
    last_digits: str | None = None,
    birth_date: Any = None,
) -> Assignment:
    """The assignment a student takes in this sitting, or a DomainError saying why not."""
    code = (sitting_code or "").strip().upper()
    now = timezone.now()
    sitting = (
        Sitting.objects.select_related("campaign")
        .filter(code=code, closed_at__isnull=True, closes_at__gt=now)
        .first()
    )
    if sitting is None or sitting.campaign.status != CampaignStatus.OPEN:
        raise DomainError(_("This sitting code is not valid or the sitting has ended."))
    candidates = Assignment.objects.filter(
        campaign=sitting.campaign, school_class_id=sitting.school_class_id
    ).select_related("student", "campaign")
    if student_number:
        candidates = candidates.filter(student__student_number=student_number.strip().upper())
    elif last_digits and birth_date:
        digits = last_digits.strip().upper()
        if len(digits) < 4:
            raise DomainError(_("Enter at least the last four digits of your student number."))
        candidates = candidates.filter(
            student__student_number__endswith=digits, student__birth_date=birth_date
        )
    else:
        raise DomainError(_("Enter your student number."))
    rows = list(candidates.order_by("-id")[:5])
    if not rows or len({a.student_id for a in rows}) != 1:
        raise DomainError(_("We could not find you in this class. Check what you typed."))
    for assignment in rows:
        if assignment.status in (
            AssignmentStatus.ASSIGNED,
            AssignmentStatus.STARTED,
            AssignmentStatus.ABSENT,
        ):
            return assignment
    status = rows[0].status
    if status == AssignmentStatus.NO_CONSENT:
        raise DomainError(_("You do not take part in this screening. Please tell your teacher."))
    if status == AssignmentStatus.SUSPENDED:
        raise DomainError(_("You do not take part in this screening. Please tell your teacher."))
    raise DomainError(_("You have already finished this questionnaire. Thank you!"))


def find_assignment_for_link(*, token: str) -> Assignment:
    assignment = (
        Assignment.objects.select_related("campaign", "student").filter(link_token=token).first()
    )
    if (
        assignment is None
        or assignment.campaign.status != CampaignStatus.OPEN
        or assignment.status not in (AssignmentStatus.ASSIGNED, AssignmentStatus.STARTED)
    ):
        raise DomainError(_("This link is not valid any more."))
    return assignment


# --- submission ------------------------------------------------------------------------------


@transaction.atomic
def submit_assignment(*, assignment: Assignment, client_key: str) -> list[Response]:
    """Hand in an assignment's autosaved answers (staff or paper entry, tests). Idempotent.

    The one submission path is the student side's (`taking.services.submit_answers`: scoring,
    validity, alerts, in one transaction); this adds the audit event of a staff hand-in.
    """
    from .taking.services import submit_answers

    submitted = submit_answers(assignment_id=assignment.pk, client_key=client_key)
    if submitted.first_time:
        record_event(
            actor=None,
            action="screening.response.submitted",
            obj=assignment,
            fields={
                "instruments": [r.instrument_code for r in submitted.responses],
                "valid": all(r.valid for r in submitted.responses),
            },
        )
    # The fast path inserts with one raw statement; read back rows with their ids.
    return list(Response.objects.filter(assignment=assignment).order_by("id"))


# --- reminders -------------------------------------------------------------------------------


def behind_schedule(*, completed: int, due: int, opens_at: Any, closes_at: Any, now: Any) -> bool:
    """A class is behind when its completion trails the share of the window already gone by
    more than 20 points (and the campaign is at least a quarter of the way through)."""
    if due <= 0:
        return False
    window = (closes_at - opens_at).total_seconds()
    elapsed = min(max((now - opens_at).total_seconds() / window, 0.0), 1.0) if window > 0 else 1.0
    return elapsed >= 0.25 and completed / due < elapsed - 0.2


@transaction.atomic
def send_progress_reminders(*, now: Any = None) -> int:
    """In-app reminder (and an email, by the notification channels) to head teachers of classes
    behind, once a day per class and campaign. The message is about the class (its reference)
    and names the campaign, so one sent today for the same class and text is not sent again."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Count
    from django.urls import reverse

    from xinqiao.access.models import RoleAssignment
    from xinqiao.notifications import services as notifications
    from xinqiao.notifications.models import Notification

    from .models import REMINDER_KIND

    now = now or timezone.now()
    sent = 0
    for campaign in Campaign.objects.filter(status=CampaignStatus.OPEN, opens_at__lte=now):
        rows = (
            Assignment.objects.filter(campaign=campaign, resit_of__isnull=True)
            .exclude(school_class=None)
            .exclude(status__in=[AssignmentStatus.SUSPENDED, AssignmentStatus.NO_CONSENT])
            .values("school_class")
            .annotate(
                due=Count("id"),
                done=Count(
                    "id",
                    filter=Q(status__in=[AssignmentStatus.COMPLETED, AssignmentStatus.INVALID]),
                ),
            )
        )
        behind = [
            r["school_class"]
            for r in rows
            if behind_schedule(
                completed=r["done"],
                due=r["due"],
                opens_at=campaign.opens_at,
                closes_at=campaign.closes_at,
                now=now,
            )
        ]
        if not behind:
            continue
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        already = set(
            Notification.objects.filter(
                kind=REMINDER_KIND,
                ref_type=ContentType.objects.get_for_model(OrgUnit),
                ref_id__in=behind,
                created_at__gte=day_start,
            ).values_list("recipient_id", "ref_id", "subject")
        )
        heads = (
            RoleAssignment.objects.active()
            .filter(role=Role.HEAD_TEACHER, org_unit_id__in=behind)
            .select_related("user", "org_unit")
        )
        url = reverse("screening:my-classes")
        new = []
        for head in heads:
            notes = notifications.outbox_rows(
                recipients=[head.user],
                kind=REMINDER_KIND,
                params={"class": head.org_unit.name, "campaign": campaign.name},
                url=url,
                ref=head.org_unit,
                now=now,
            )
            new += [n for n in notes if (n.recipient_id, n.ref_id, n.subject) not in already]
        sent += notifications.queue(new)
    return sent
