# ruff: noqa: S608  (SQL built from model table names and fixed fragments; values are parameters)
"""Assignments, set-based: one INSERT … SELECT gives every student in an open campaign's scope
their assignment (also for students who join later: `students_changed`, `sync_open_campaigns`),
assignments follow class moves, and consent decides who takes part."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from xinqiao.orgs.models import PATH_END, Kind, OrgUnit
from xinqiao.people.models import Student, StudentStatus

from ..models import (
    Assignment,
    AssignmentStatus,
    Campaign,
    CampaignStatus,
    CampaignStudent,
    CampaignUnit,
    Consent,
)


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
        return max(int(cursor.rowcount), 0)


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


def consent_withheld(campaign: Campaign, student_id: int) -> bool:
    """Whether the student may not be screened in this campaign for want of consent: no granted
    consent where the guardian's is needed, else a recorded objection."""
    consents = Consent.objects.filter(campaign=campaign, student_id=student_id)
    if campaign.needs_guardian_consent:
        return not consents.filter(granted=True).exists()
    return consents.filter(granted=False).exists()


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
