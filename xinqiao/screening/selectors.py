"""Screening reads. Every selector starts from the access layer (the principal's grants).

- Campaigns are visible to a user whose area overlaps the campaign (owner, covered units, listed
  students); progress is counted in SQL (GROUP BY) over the assignments in the user's area.
- Individual results (scores, bands, flags) are T3: the psychology teachers of the school.
  Head teachers see completion only. District and city see aggregates with small cells suppressed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.fields.json import KT
from django.http import Http404

from xinqiao.access.roles import Cap, Role, Tier
from xinqiao.access.scope import Principal
from xinqiao.analytics.disclosure import hierarchy_lines, protect
from xinqiao.instruments.engine import get_definition
from xinqiao.instruments.labels import band_label, check_label, instrument_name, score_label, text
from xinqiao.notifications import selectors as notifications_selectors
from xinqiao.notifications.models import Notification
from xinqiao.orgs.models import PATH_END, SEGMENT_WIDTH, Kind, OrgUnit, subtree_q
from xinqiao.people.models import Student

from .models import (
    REMINDER_KIND,
    Assignment,
    AssignmentStatus,
    Campaign,
    CampaignStatus,
    Response,
    Sitting,
)

SCREENING_CAPS = (
    Cap.VIEW_SCREENING_PROGRESS,
    Cap.VIEW_CLASS_PROGRESS,
    Cap.RUN_SITTINGS,
    Cap.RECORD_CONSENT,
    Cap.MANAGE_CAMPAIGNS,
    Cap.VIEW_SCREENING_RESULTS,
)


def primary_score(code: str, version: str | None = None) -> str:
    """The score shown in tables and trends: `total` when banded, else the last banded score."""
    defn = get_definition(code, version)
    if "total" in defn.bands:
        return "total"
    banded = [s.name for s in defn.scores if s.name in defn.bands]
    return banded[-1] if banded else defn.scores[0].name


# --- areas and campaigns ---------------------------------------------------------------------


def _areas(principal: Principal, *caps: str) -> list[OrgUnit]:
    areas: dict[int, OrgUnit] = {}
    for cap in caps or SCREENING_CAPS:
        for grant in principal.grants_with(cap):
            areas[grant.area.pk] = grant.area
    return list(areas.values())


def _ancestor_paths(unit: OrgUnit) -> list[str]:
    step = SEGMENT_WIDTH + 1
    return [unit.path[:i] for i in range(step, len(unit.path) + 1, step)]


def campaigns_for(principal: Principal, *caps: str) -> QuerySet[Campaign]:
    """Campaigns overlapping the user's area for any of `caps` (default: any screening cap)."""
    q = Q(pk__in=[])
    for area in _areas(principal, *caps):
        q |= subtree_q(area, field="owner_unit__path")
        q |= subtree_q(area, field="units__unit__path")
        q |= Q(units__unit__path__in=_ancestor_paths(area))
        q |= subtree_q(area, field="listed_students__student__school__path")
    ids = Campaign.objects.filter(q).values("pk")
    return Campaign.objects.filter(pk__in=ids).select_related("owner_unit", "term")


def get_campaign(principal: Principal, code: Any, cap: str) -> Campaign:
    """404 when the campaign is outside every screening area of the user, 403 without `cap`."""
    campaign = campaigns_for(principal).filter(code=code).first()
    if campaign is None:
        raise Http404
    if not campaigns_for(principal, cap).filter(pk=campaign.pk).exists():
        raise PermissionDenied
    return campaign


def assignment_scope_q(principal: Principal, cap: str) -> Q:
    q = Q(pk__in=[])
    for grant in principal.grants_with(cap):
        area = grant.area
        if area.kind in (Kind.GRADE, Kind.CLASS):
            q |= subtree_q(area, field="school_class__path")
        else:
            q |= subtree_q(area, field="school__path")
    return q


def scoped_assignments(principal: Principal, campaign: Campaign, cap: str) -> QuerySet[Assignment]:
    return Assignment.objects.filter(campaign=campaign).filter(assignment_scope_q(principal, cap))


def classes_in_scope(principal: Principal, campaign: Campaign, cap: str) -> list[OrgUnit]:
    ids = (
        scoped_assignments(principal, campaign, cap)
        .exclude(school_class=None)
        .values("school_class")
        .distinct()
    )
    return list(
        OrgUnit.objects.filter(pk__in=ids).select_related("parent", "school").order_by("path")
    )


# --- progress --------------------------------------------------------------------------------

PROGRESS_GROUPS = {
    "district": "school__parent",
    "school": "school",
    "grade": "grade",
    "class": "school_class",
}


@dataclass
class ProgressRow:
    """One unit's students by state. The states partition the students (each counted once, a
    re-sit under its original): they add up to `total`, the unit's size."""

    unit: OrgUnit | None
    not_started: int
    started: int  # answering now (the original or its re-sit)
    completed: int  # handed in (the original or its re-sit)
    invalid: int  # handed in but invalid: a re-sit is due
    no_consent: int
    absent: int
    suspended: int

    STATES = (
        "not_started",
        "started",
        "completed",
        "invalid",
        "no_consent",
        "absent",
        "suspended",
    )

    @property
    def total(self) -> int:
        return sum(getattr(self, state) for state in self.STATES)

    @property
    def assigned(self) -> int:
        """Everyone but the suspended."""
        return self.total - self.suspended

    @property
    def missing(self) -> int:
        """Still to take it: not started, answering or absent (an invalid one awaits a re-sit)."""
        return self.not_started + self.started + self.absent

    @property
    def to_take(self) -> int:
        """Still to take it, a re-sit included (a class's own count)."""
        return self.missing + self.invalid

    @property
    def percent(self) -> int:
        due = self.assigned - self.no_consent
        return round(100 * self.completed / due) if due > 0 else 0


def _state_counts(assignments: QuerySet[Assignment], group: str) -> list[dict[str, Any]]:
    """Originals (re-sits counted under them) per `group`, one count per ProgressRow state, in one
    GROUP BY: an original whose re-sit is handed in counts as handed in, one whose re-sit is
    being answered as answering. A voided original (its hand-in set aside) counts by its re-sit:
    not started until the re-sit is begun."""
    resits = Assignment.objects.filter(resit_of=OuterRef("pk"))
    waiting = ~Q(resat=True) & ~Q(resitting=True)  # neither re-sat nor re-sitting
    return list(
        assignments.filter(resit_of__isnull=True)
        .annotate(
            resat=Exists(resits.filter(status=AssignmentStatus.COMPLETED)),
            resitting=Exists(resits.filter(status=AssignmentStatus.STARTED)),
        )
        .values(group)
        .annotate(
            not_started=Count(
                "id",
                filter=Q(status=AssignmentStatus.ASSIGNED)
                | (Q(status=AssignmentStatus.VOID) & waiting),
            ),
            started=Count(
                "id",
                filter=Q(status=AssignmentStatus.STARTED) | (Q(resitting=True) & ~Q(resat=True)),
            ),
            completed=Count("id", filter=Q(status=AssignmentStatus.COMPLETED) | Q(resat=True)),
            invalid=Count("id", filter=Q(status=AssignmentStatus.INVALID) & waiting),
            no_consent=Count("id", filter=Q(status=AssignmentStatus.NO_CONSENT)),
            absent=Count("id", filter=Q(status=AssignmentStatus.ABSENT) & waiting),
            suspended=Count("id", filter=Q(status=AssignmentStatus.SUSPENDED)),
        )
        .order_by(group)
    )


def progress(
    principal: Principal,
    campaign: Campaign,
    *,
    by: str = "school",
    cap: str = Cap.VIEW_SCREENING_PROGRESS,
) -> list[ProgressRow]:
    """Counts per unit in one GROUP BY. An original whose re-sit is handed in counts as handed
    in, one whose re-sit is being answered as answering."""
    group = PROGRESS_GROUPS[by]
    rows = _state_counts(scoped_assignments(principal, campaign, cap), group)
    units = OrgUnit.objects.in_bulk([r[group] for r in rows if r[group]])
    out = [
        ProgressRow(unit=units.get(r[group]), **{state: r[state] for state in ProgressRow.STATES})
        for r in rows
    ]
    out.sort(key=lambda row: row.unit.path if row.unit else "")
    return out


def class_states(
    principal: Principal, campaign: Campaign, school_class: OrgUnit
) -> ProgressRow | None:
    """One class's row of `progress` (the class page's summary)."""
    rows = progress(principal, campaign, by="class", cap=Cap.VIEW_CLASS_PROGRESS)
    return next((row for row in rows if row.unit == school_class), None)


def progress_total(rows: Sequence[ProgressRow]) -> ProgressRow:
    return ProgressRow(
        unit=None, **{state: sum(getattr(r, state) for r in rows) for state in ProgressRow.STATES}
    )


@dataclass
class ClassEntry:
    assignment: Assignment
    student: Student
    resit_status: str = ""
    current: Assignment | None = None  # the newest of the original and its re-sits

    @property
    def sign_ins(self) -> int:
        """Sign-ins from different browsers to the current questionnaire: more than one means it
        was opened on several devices (someone else may have used the code)."""
        return int((self.current or self.assignment).sign_ins or 0)

    @property
    def voidable(self) -> bool:
        """The current questionnaire is handed in (and may be voided by a psychology teacher)."""
        return (self.current or self.assignment).status in (
            AssignmentStatus.COMPLETED,
            AssignmentStatus.INVALID,
        )

    @property
    def done(self) -> bool:
        return (
            self.assignment.status == AssignmentStatus.COMPLETED
            or self.resit_status == AssignmentStatus.COMPLETED
        )


def class_list(principal: Principal, campaign: Campaign, school_class: OrgUnit) -> list[ClassEntry]:
    """Students of one class with their status (no scores): who is still missing comes first."""
    if not scoped_assignments(principal, campaign, Cap.VIEW_CLASS_PROGRESS).filter(
        school_class=school_class
    ).exists() and not principal.sees_unit(school_class, Cap.VIEW_CLASS_PROGRESS):
        raise Http404
    assignments = list(
        scoped_assignments(principal, campaign, Cap.VIEW_CLASS_PROGRESS)
        .filter(school_class=school_class)
        .select_related("student")
        .order_by("student__name", "id")
        .only(
            "id",
            "status",
            "resit_of_id",
            "student__name",
            "student__code",
            "student__student_number",
            "student__student_number_hash",  # the row key the number is opened with
            "student_id",
            "completed_at",
            "link_token",
            "sign_ins",
        )
    )
    originals = [a for a in assignments if a.resit_of_id is None]
    resit_status: dict[int, str] = {}
    for a in assignments:
        if (
            a.resit_of_id is not None
            and resit_status.get(a.resit_of_id) != AssignmentStatus.COMPLETED
        ):
            resit_status[a.resit_of_id] = a.status
    current: dict[int, Assignment] = {}
    for a in sorted(assignments, key=lambda a: a.pk):
        current[a.resit_of_id or a.pk] = a
    entries = [
        ClassEntry(a, a.student, resit_status.get(a.pk, ""), current.get(a.pk)) for a in originals
    ]
    order: dict[str, int] = {
        AssignmentStatus.ASSIGNED: 0,
        AssignmentStatus.STARTED: 0,
        AssignmentStatus.ABSENT: 1,
        AssignmentStatus.INVALID: 2,
        AssignmentStatus.VOID: 2,
    }
    entries.sort(key=lambda e: (e.done, order.get(e.assignment.status, 3), e.student.name))
    return entries


def my_classes(principal: Principal) -> list[tuple[Campaign, list[tuple[OrgUnit, ProgressRow]]]]:
    """Open campaigns × the classes the user is responsible for, with their progress."""
    out = []
    for campaign in campaigns_for(principal, Cap.VIEW_CLASS_PROGRESS).filter(
        status=CampaignStatus.OPEN
    ):
        rows = progress(principal, campaign, by="class", cap=Cap.VIEW_CLASS_PROGRESS)
        out.append((campaign, [(r.unit, r) for r in rows if r.unit is not None]))
    return out


def open_sittings(campaign: Campaign, classes: Iterable[OrgUnit]) -> dict[int, Sitting]:
    from django.utils import timezone

    return {
        s.school_class_id: s
        for s in Sitting.objects.filter(
            campaign=campaign,
            school_class__in=list(classes),
            closed_at__isnull=True,
            closes_at__gt=timezone.now(),
        )
    }


def unread_notifications(user: Any) -> list[Notification]:
    """The head teacher's reminders not read in the inbox yet."""
    return notifications_selectors.unread_of_kind(user=user, kind=REMINDER_KIND)


# --- results (T3: psychology teachers of the school) -----------------------------------------


def result_schools(principal: Principal, campaign: Campaign) -> list[OrgUnit]:
    ids = (
        scoped_assignments(principal, campaign, Cap.VIEW_SCREENING_RESULTS)
        .values("school")
        .distinct()
    )
    return list(OrgUnit.objects.filter(pk__in=ids).order_by("path"))


def get_result_school(principal: Principal, campaign: Campaign, code: Any) -> OrgUnit:
    """The school whose individual results the user reads: 404 outside their area, 403 if not
    one of its psychology teachers (or, when the campaign allows it, the district station's)."""
    school = OrgUnit.objects.filter(code=code, kind=Kind.SCHOOL).first()
    if school is None or not any(a.contains(school) for a in _areas(principal)):
        raise Http404
    for grant in principal.grants_with(Cap.VIEW_SCREENING_RESULTS, Tier.T3):
        own_school = grant.unit.kind == Kind.SCHOOL and grant.unit.pk == school.pk
        station = campaign.results_visibility == "psychology_and_station" and grant.area.contains(
            school
        )
        if own_school or station:
            return school
    raise PermissionDenied


@dataclass
class StudentResult:
    assignment: Assignment
    student: Student
    responses: list[Response] = field(default_factory=list)

    @property
    def critical(self) -> list[tuple[str, list[str]]]:
        return [(r.instrument_code, r.critical) for r in self.responses if r.critical]

    @property
    def invalid(self) -> bool:
        return any(not r.valid for r in self.responses)

    @property
    def critical_labelled(self) -> list[tuple[str, list[str]]]:
        """(instrument name, item numbers) of the critical items answered positively."""
        return [(instrument_name(code), items) for code, items in self.critical]

    def cells(self, columns: Sequence[ResultColumn]) -> list[dict[str, Any]]:
        by_code = {r.instrument_code: r for r in self.responses}
        out = []
        for column in columns:
            r = by_code.get(column.code)
            band = None if r is None else r.bands.get(column.score)
            out.append(
                {
                    "score": None if r is None else r.scores.get(column.score),
                    "band": band,
                    "band_label": band_label(column.code, column.score, band),
                    "valid": None if r is None else r.valid,
                    "flags": [] if r is None else [check_label(f) for f in r.flags],
                }
            )
        return out


@dataclass(frozen=True)
class ResultColumn:
    """An instrument's primary score as a results column: codes for data, labels for people."""

    code: str
    score: str

    @property
    def name(self) -> str:
        return instrument_name(self.code)

    @property
    def score_label(self) -> str:
        return score_label(self.code, self.score)


def results_columns(campaign: Campaign) -> list[ResultColumn]:
    seen: dict[str, str] = {}
    for entry in campaign.battery.all().order_by("position", "stage_band"):
        if entry.instrument_code not in seen:
            seen[entry.instrument_code] = primary_score(
                entry.instrument_code, entry.instrument_version
            )
    return [ResultColumn(code, score) for code, score in seen.items()]


def school_results(
    principal: Principal, campaign: Campaign, school: OrgUnit
) -> list[StudentResult]:
    """Per student, critical items answered positively first, then invalid, then by class."""
    assignments = list(
        Assignment.objects.filter(campaign=campaign, school=school)
        .filter(assignment_scope_q(principal, Cap.VIEW_SCREENING_RESULTS))
        .filter(status__in=[AssignmentStatus.COMPLETED, AssignmentStatus.INVALID])
        .select_related("student", "school_class", "grade")
        .order_by("school_class__path", "student__name", "id")
    )
    responses: dict[int, list[Response]] = {}
    for r in Response.objects.filter(assignment__in=[a.pk for a in assignments]).order_by("id"):
        responses.setdefault(r.assignment_id, []).append(r)
    rows = [StudentResult(a, a.student, responses.get(a.pk, [])) for a in assignments]
    rows.sort(key=lambda row: (not row.critical, not row.invalid))
    return rows


@dataclass
class BandCount:
    unit: OrgUnit | None
    instrument: str
    score: str
    n: int
    bands: dict[str, int | None]

    @property
    def instrument_name(self) -> str:
        return instrument_name(self.instrument)

    @property
    def labelled_bands(self) -> list[tuple[str, int | None]]:
        return [
            (band_label(self.instrument, self.score, band) if band != "none" else "—", n)
            for band, n in self.bands.items()
        ]


def band_counts(
    campaign: Campaign, *, group: str, assignments: QuerySet[Assignment]
) -> list[BandCount]:
    """Count valid responses per (unit, instrument, band of the primary score), GROUP BY in SQL."""
    out: list[BandCount] = []
    for column in results_columns(campaign):
        code, score = column.code, column.score
        rows = (
            Response.objects.filter(
                assignment__in=assignments.exclude(status=AssignmentStatus.VOID).values("pk"),
                instrument_code=code,
                valid=True,
            )
            .annotate(band=KT(f"bands__{score}"))
            .values(f"assignment__{group}", "band")
            .annotate(n=Count("id"))
            .order_by()
        )
        grouped: dict[Any, dict[str, int]] = {}
        for r in rows:
            grouped.setdefault(r[f"assignment__{group}"], {})[r["band"] or "none"] = r["n"]
        units = OrgUnit.objects.in_bulk([k for k in grouped if k])
        for unit_id, bands in grouped.items():
            out.append(BandCount(units.get(unit_id), code, score, sum(bands.values()), dict(bands)))
    out.sort(key=lambda b: (b.instrument, b.unit.path if b.unit else ""))
    return out


@dataclass
class AggregateTable:
    instrument: str
    score: str
    bands: list[tuple[str, str]]  # (code, label)
    rows: list[dict[str, Any]]  # {"unit", "n", band codes…, "cells"}; None = hidden
    total: dict[str, Any] | None = None  # the area's row, same shape


# Responses whose primary score has no band of the definition: counted in n, never shown alone.
NO_BAND = "none"


def _protected_table(
    code: str,
    score: str,
    bands: list[tuple[str, str]],
    counts: Iterable[Mapping[str, Any]],
    by: str,
) -> AggregateTable:
    known = {b for b, _ in bands}
    by_school: dict[Any, dict[str, int]] = {}
    groups: dict[Any, list[Any]] = {}
    for r in counts:
        school, district = r["assignment__school"], r["assignment__school__parent"]
        if school not in by_school:
            by_school[school] = {}
            groups.setdefault(district, []).append(school)
        band = r["band"] if r["band"] in known else NO_BAND
        by_school[school][band] = by_school[school].get(band, 0) + r["n"]
    columns = [b for b, _ in bands]
    if any(NO_BAND in cells for cells in by_school.values()):
        columns.append(NO_BAND)
    columns.append("n")
    values: dict[tuple[str, Any, str], int] = {}
    for school, cells in by_school.items():
        for c in columns[:-1]:
            values["unit", school, c] = cells.get(c, 0)
        values["unit", school, "n"] = sum(cells.values())
    for district, schools in groups.items():
        for c in columns:
            values["group", district, c] = sum(values["unit", s, c] for s in schools)
    for c in columns:
        values["all", None, c] = sum(values["group", d, c] for d in groups)
    hidden = protect(values, hierarchy_lines(groups, columns, "n"))
    units = OrgUnit.objects.in_bulk([k for k in [*by_school, *groups] if k])

    def row(level: str, key: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"unit": units.get(key) if key else None}
        for c in columns:
            out[c] = None if (level, key, c) in hidden else values[level, key, c]
        out["cells"] = [out[b] for b, _ in bands]
        return out

    level, keys = ("unit", list(by_school)) if by == "school" else ("group", list(groups))
    rows = sorted((row(level, k) for k in keys), key=lambda r: r["unit"].path if r["unit"] else "")
    total = row("all", None) if by_school else None
    return AggregateTable(code, score, bands, rows, total)


def aggregates(principal: Principal, campaign: Campaign, *, by: str) -> list[AggregateTable]:
    """Band counts per district or school, no individual data: per instrument, one query counting
    valid responses by school and band, and one loading the units.

    Both views, and the area's total row, come from one protected two-level table (schools within
    their districts, the districts' subtotals, the total), so that no view gives back a cell the
    other hides (analytics.disclosure, docs/disclosure.md)."""
    if by not in ("district", "school"):
        raise ValueError(by)
    assignments = scoped_assignments(principal, campaign, Cap.VIEW_SCREENING_PROGRESS).exclude(
        status=AssignmentStatus.VOID
    )  # a voided hand-in is not counted
    tables = []
    for column in results_columns(campaign):
        code, score = column.code, column.score
        defn = get_definition(code)
        bands = [(b.code, text(b.label)) for b in defn.bands.get(score, ())]
        counts = (
            Response.objects.filter(
                assignment__in=assignments.values("pk"), instrument_code=code, valid=True
            )
            .annotate(band=KT(f"bands__{score}"))
            .values("assignment__school", "assignment__school__parent", "band")
            .annotate(n=Count("id"))
            .order_by()
        )
        tables.append(_protected_table(code, score, bands, counts, by))
    return tables


# --- a student's archive ---------------------------------------------------------------------


@dataclass
class ArchiveEntry:
    response: Response
    campaign: Campaign
    score: str
    value: float | None
    band: str | None

    @property
    def band_label(self) -> str:
        return band_label(self.response.instrument_code, self.score, self.band)

    @property
    def voided(self) -> bool:
        """Kept in the archive, marked; never in the trend."""
        return bool(self.response.assignment.status == AssignmentStatus.VOID)


def list_responses_for_student(*, principal: Principal, student: Student) -> list[ArchiveEntry]:
    """All screening responses of one student across terms (T3), oldest first."""
    if principal.tier_for(student) < Tier.T3:
        raise PermissionDenied
    responses = (
        Response.objects.filter(assignment__student=student)
        .select_related("assignment__campaign__term")
        .order_by("submitted_at", "id")
    )
    out = []
    for r in responses:
        score = primary_score(r.instrument_code, r.instrument_version)
        out.append(
            ArchiveEntry(r, r.assignment.campaign, score, r.scores.get(score), r.bands.get(score))
        )
    return out


def archive_trends(entries: Sequence[ArchiveEntry]) -> dict[str, Any]:
    """ECharts-ready data: one line per instrument over the submission dates (valid only)."""
    dates = sorted({e.response.submitted_at.date().isoformat() for e in entries})
    series: dict[str, list[float | None]] = {}
    for e in entries:
        if not e.response.valid or e.voided or e.value is None:
            continue
        line = series.setdefault(e.response.instrument_code, [None] * len(dates))
        line[dates.index(e.response.submitted_at.date().isoformat())] = e.value
    return {
        "dates": dates,
        "series": [{"name": name, "data": data} for name, data in sorted(series.items())],
    }


def unit_label(unit: OrgUnit | None) -> str:
    return unit.name if unit is not None else "—"


__all__ = [
    "PATH_END",
    "aggregates",
    "campaigns_for",
    "class_list",
    "get_campaign",
    "list_responses_for_student",
    "progress",
    "school_results",
]


# --- scoped getters for the views ----------------------------------------------------------


def get_class(principal: Principal, campaign: Any, class_code: Any, cap: str) -> OrgUnit:
    """A class of the campaign's area: 404 outside the user's areas, 403 without `cap`."""
    unit = OrgUnit.objects.filter(code=class_code, kind=Kind.CLASS).first()
    if unit is None or not any(a.contains(unit) for a in _areas(principal)):
        raise Http404
    if not principal.sees_unit(unit, cap):
        raise PermissionDenied
    return unit


def get_assignment(principal: Principal, campaign: Any, student_code: Any) -> Assignment:
    """A student's (non-re-sit) assignment: 404 out of scope, 403 without MANAGE_ASSIGNMENTS."""
    student = principal.get_student(student_code, tier=Tier.T1)
    assignment = (
        Assignment.objects.filter(campaign=campaign, student=student, resit_of__isnull=True)
        .select_related("student", "school_class")
        .first()
    )
    if assignment is None:
        raise Http404
    if not principal.students(cap=Cap.MANAGE_ASSIGNMENTS).filter(pk=student.pk).exists():
        raise PermissionDenied
    return assignment


def void_candidates(
    principal: Principal, campaign: Any, student_code: Any
) -> tuple[Assignment, list[Assignment]]:
    """The student's original assignment (404 out of scope, 403 without MANAGE_ASSIGNMENTS) and
    all their assignments of the campaign, newest first (the hand-in to void is among them)."""
    original = get_assignment(principal, campaign, student_code)
    assignments = list(
        Assignment.objects.filter(campaign=campaign, student_id=original.student_id)
        .select_related("student", "school_class")
        .order_by("-id")
    )
    return original, assignments


def get_sitting(principal: Principal, key: Any) -> Sitting:
    """A sitting by its key: 404 outside the user's areas, 403 without RUN_SITTINGS."""
    sitting = (
        Sitting.objects.filter(key=key).select_related("campaign", "school_class", "school").first()
    )
    if sitting is None or not any(a.contains(sitting.school_class) for a in _areas(principal)):
        raise Http404
    if not principal.sees_unit(sitting.school_class, Cap.RUN_SITTINGS):
        raise PermissionDenied
    return sitting


def open_campaign_completion(
    principal: Principal, *, cap: str = Cap.VIEW_SCREENING_PROGRESS, limit: int = 5
) -> list[tuple[Campaign, ProgressRow]]:
    """The open campaigns in the user's area, soonest to close first, each with its students by
    state in the user's scope (the home page): two queries, whatever the number of campaigns or
    students. Counted as `progress` counts them (a re-sit under its original)."""
    campaigns = list(
        campaigns_for(principal, cap)
        .filter(status=CampaignStatus.OPEN)
        .order_by("closes_at")[:limit]
    )
    if not campaigns:
        return []
    rows = _state_counts(
        Assignment.objects.filter(campaign__in=[c.pk for c in campaigns]).filter(
            assignment_scope_q(principal, cap)
        ),
        "campaign",
    )
    by_campaign = {
        r["campaign"]: ProgressRow(unit=None, **{s: r[s] for s in ProgressRow.STATES}) for r in rows
    }
    empty = ProgressRow(unit=None, **dict.fromkeys(ProgressRow.STATES, 0))
    return [(c, by_campaign.get(c.pk, empty)) for c in campaigns]


def campaign_owner_units(principal: Principal) -> QuerySet[OrgUnit]:
    """Units the principal may run a campaign for: a psychology teacher's school, an
    administrator's area."""
    ids = []
    for grant in principal.grants_with(Cap.MANAGE_CAMPAIGNS):
        if grant.role == Role.PSYCHOLOGY_TEACHER:
            if grant.unit.kind == Kind.SCHOOL:
                ids.append(grant.unit.pk)
        else:
            ids.append(grant.area.pk)
    return OrgUnit.objects.filter(pk__in=ids).order_by("path")


def campaign_coverable_units(principal: Principal) -> QuerySet[OrgUnit]:
    """Units a campaign may cover: a school's grades and classes, a district's or the city's
    districts and schools (the campaign form's picker)."""
    owners = list(campaign_owner_units(principal))
    q = Q(pk__in=[])
    for owner in owners:
        kinds = (
            [Kind.SCHOOL, Kind.GRADE, Kind.CLASS]
            if owner.kind == Kind.SCHOOL
            else [Kind.CITY, Kind.DISTRICT, Kind.SCHOOL]
        )
        q |= Q(path__gte=owner.path, path__lt=owner.path + "~", kind__in=kinds)
    return OrgUnit.objects.filter(q).order_by("path")


def get_slip_class(principal: Principal, class_code: Any) -> OrgUnit:
    """A class whose sign-in slips the user may print: 404 outside the user's areas (or not a
    class), 403 without PRINT_SIGN_IN_SLIPS there."""
    unit = OrgUnit.objects.filter(code=class_code, kind=Kind.CLASS).select_related("parent").first()
    if unit is None or not principal.sees_unit(unit, Cap.VIEW_ORG_TREE):
        raise Http404
    if not principal.sees_unit(unit, Cap.PRINT_SIGN_IN_SLIPS):
        raise PermissionDenied
    return unit


def slip_students(principal: Principal, school_class: OrgUnit) -> list[Student]:
    """The enrolled students of the class, by name, as the user may print them."""
    return list(
        principal.students(cap=Cap.PRINT_SIGN_IN_SLIPS)
        .filter(school_class=school_class)
        .enrolled()
        .select_related("school_class__parent")
        .order_by("name", "pk")
    )


# --- guardians' consent (the family pages) -------------------------------------------------------
# Once a student has begun the questionnaire the guardian's answer can no longer change it.
STARTED_STATES = (AssignmentStatus.STARTED, AssignmentStatus.COMPLETED, AssignmentStatus.INVALID)


@dataclass
class ConsentRequest:
    """One open campaign that asks a child's guardian for consent, with the answer so far. Only
    what a guardian may know: the campaign's name and dates, and whether the child has begun
    (never a score, band, alert or level)."""

    campaign: Campaign
    student: Student
    started: bool
    granted: bool | None = None  # None: no answer recorded yet
    answered_at: Any = None
    answered_by_me: bool = False
    note: str = ""

    @property
    def awaiting(self) -> bool:
        return self.granted is None and not self.started

    @property
    def can_answer(self) -> bool:
        return not self.started


def guardian_consent_requests(
    *, principal: Principal, students: Iterable[Student]
) -> list[ConsentRequest]:
    """The open campaigns that ask for guardian consent and cover these students (each one the
    principal may answer for: Cap.GIVE_CONSENT), newest first; three queries whatever the count."""
    from .models import Consent, ConsentBasis

    allowed = principal.students(cap=Cap.GIVE_CONSENT).filter(pk__in=[s.pk for s in students])
    by_pk = {s.pk: s for s in students}
    assignments = list(
        Assignment.objects.filter(
            student_id__in=allowed.values("pk"),
            resit_of__isnull=True,
            campaign__status=CampaignStatus.OPEN,
            campaign__consent_basis=ConsentBasis.GUARDIAN_CONSENT,
        )
        .select_related("campaign")
        .order_by("-campaign__opens_at", "campaign_id", "student_id")
    )
    consents = {
        (c.campaign_id, c.student_id): c
        for c in Consent.objects.filter(
            campaign_id__in={a.campaign_id for a in assignments},
            student_id__in={a.student_id for a in assignments},
        )
    }
    requests = []
    for a in assignments:
        consent = consents.get((a.campaign_id, a.student_id))
        requests.append(
            ConsentRequest(
                campaign=a.campaign,
                student=by_pk[a.student_id],
                started=a.status in STARTED_STATES or a.started_at is not None,
                granted=consent.granted if consent else None,
                answered_at=consent.recorded_at if consent else None,
                answered_by_me=bool(consent and consent.recorded_by_id == principal.user_id),
                note=consent.note if consent else "",
            )
        )
    return requests


# --- the questionnaire's signed-in student, for pages reached from its end -------------------
def student_of_take_session(request: Any) -> Student | None:
    """The student this browser is signed in as in the questionnaire (the /take/ session's signed
    cookie with its current sign-in nonce), or None. Only a page under /take/ receives that
    cookie: the counselling app's "talk to someone" entry at the end of a questionnaire."""
    from .taking import services as taking_services
    from .taking.session import binding

    try:
        bound = taking_services.load_bound(binding(request))
    except taking_services.TakingError:
        return None
    return Student.objects.filter(pk=bound.student_id).select_related("school").first()
