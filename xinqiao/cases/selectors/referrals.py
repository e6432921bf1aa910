"""Referrals through the green channel (绿色通道, R9/R25): reads.

- The hospital directory of a case: partner hospitals (org units of kind "hospital") hung under
  the city or under the school's district, with the psychiatrists assigned at each.
- The psychiatrist's scope. A psychiatrist's grant sits at a hospital; it covers the students with
  a referral (not cancelled) to that hospital that names this psychiatrist, or that names nobody
  yet (any psychiatrist of the hospital may take it; taking it names them, and the others lose
  it). Access ends PSYCHIATRIST_ACCESS_DAYS (default 30) after the feedback or the case's
  closure. Nothing else: no case page, no other student of the school. Registered with the access
  layer (`register_student_scope`), so `principal.students()` and `get_student` follow it.
- What a psychiatrist reads of a referral: the reason, the student's name, age, school and class,
  the guardians (phone masked), the school's owner, the legal basis, the current level and the
  latest screening totals. Never the case notes, follow-ups or screening answers.
- The case page's view of referrals, and the "awaiting feedback" list for the boards.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from xinqiao.access import holders
from xinqiao.access.roles import Cap, Role, Tier
from xinqiao.access.scope import Principal
from xinqiao.instruments.labels import band_label, instrument_name, score_label
from xinqiao.orgs.models import Kind, OrgUnit
from xinqiao.people.models import Guardian, Student

from ..models import Case, ConsentAnswer, GuardianContact, Referral, ReferralStatus
from .common import can_handle, can_read_notes, visible_cases

OPEN_STATUSES = (ReferralStatus.SENT, ReferralStatus.RECEIVED, ReferralStatus.SEEN)
_RELATED = (
    "case",
    "case__owner__staff",
    "student",
    "student__school",
    "student__school_class",
    "hospital",
    "psychiatrist__staff",
    "cancelled_by__staff",
    "sent_by__staff",
    "feedback_by__staff",
    "consent_document",
    "feedback_letter",
)


# --- the psychiatrist's scope ---------------------------------------------------------------------
def _hospital_grants(principal: Principal) -> list[OrgUnit]:
    return [
        g.unit
        for g in principal.grants_with(Cap.GIVE_REFERRAL_FEEDBACK)
        if g.role == Role.PSYCHIATRIST and g.unit.kind == Kind.HOSPITAL
    ]


def access_days() -> int:
    """How long a psychiatrist keeps access to a referral after its feedback or the case's
    closure (issue 13: access ends; settings.PSYCHIATRIST_ACCESS_DAYS)."""
    return int(getattr(settings, "PSYCHIATRIST_ACCESS_DAYS", 30))


def _referral_at_q(user: Any, hospital: OrgUnit, prefix: str = "") -> Q:
    """Referrals to `hospital` naming `user` or nobody, not cancelled, and neither answered nor
    closed more than PSYCHIATRIST_ACCESS_DAYS ago."""
    since = timezone.now() - datetime.timedelta(days=access_days())
    return (
        Q(**{f"{prefix}hospital": hospital})
        & (Q(**{f"{prefix}psychiatrist": user}) | Q(**{f"{prefix}psychiatrist__isnull": True}))
        & ~Q(**{f"{prefix}status": ReferralStatus.CANCELLED})
        & (Q(**{f"{prefix}feedback_at__isnull": True}) | Q(**{f"{prefix}feedback_at__gte": since}))
        & (
            Q(**{f"{prefix}case__closed_at__isnull": True})
            | Q(**{f"{prefix}case__closed_at__gte": since})
        )
    )


def psychiatrist_students_q(principal: Principal, unit: Any) -> Q:
    """Students a psychiatrist's grant at hospital `unit` covers (a Q over Student)."""
    if unit is None or unit.kind != Kind.HOSPITAL or principal.user is None:
        return Q(pk__in=[])
    referred = Referral.objects.filter(student=OuterRef("pk")).filter(
        _referral_at_q(principal.user, unit)
    )
    return Q(Exists(referred))


def psychiatrist_referral_q(principal: Principal) -> Q:
    """Referrals a psychiatrist may open (a Q over Referral)."""
    q = Q(pk__in=[])
    for hospital in _hospital_grants(principal):
        q |= _referral_at_q(principal.user, hospital)
    return q


def psychiatrist_referrals(*, principal: Principal) -> QuerySet[Referral]:
    """The psychiatrist's inbox: their referrals (and their hospitals' unassigned ones), newest
    first."""
    principal.require(Cap.GIVE_REFERRAL_FEEDBACK)
    return (
        Referral.objects.filter(psychiatrist_referral_q(principal))
        .select_related(*_RELATED)
        .order_by("-sent_at", "-id")
    )


def get_referral_for_psychiatrist(*, principal: Principal, code: Any) -> Referral:
    """403 without the capability, 404 when the referral is not theirs to see."""
    principal.require(Cap.GIVE_REFERRAL_FEEDBACK)
    referral = (
        Referral.objects.filter(psychiatrist_referral_q(principal), code=code)
        .select_related(*_RELATED)
        .first()
    )
    if referral is None:
        raise Http404
    return referral


def works_at(principal: Principal, hospital: OrgUnit) -> bool:
    return any(h.pk == hospital.pk for h in _hospital_grants(principal))


def is_psychiatrist_for(principal: Principal, referral: Referral) -> bool:
    """May this user act on the referral as its psychiatrist (receive, see, give feedback)?"""
    return (
        referral.hospital_id in {h.pk for h in _hospital_grants(principal)}
        and referral.psychiatrist_id in (None, getattr(principal.user, "pk", None))
        and referral.status != ReferralStatus.CANCELLED
    )


# --- the hospital directory -----------------------------------------------------------------------
# Another app (partners: hospital areas, 片区) tells which hospitals — and psychiatrists — serve a
# case's school: {hospital id: [psychiatrist user ids]}; the directory lists them first.
AreaHospitals = Callable[[Case], dict[int, list[int]]]
_area_hospitals: list[AreaHospitals] = []


def register_area_hospitals(build: AreaHospitals) -> None:
    if build not in _area_hospitals:
        _area_hospitals.append(build)


@dataclass
class HospitalEntry:
    hospital: OrgUnit
    psychiatrists: list[Any] = field(default_factory=list)
    suggested: bool = False  # the hospital serves the school's area (片区)
    suggested_psychiatrists: list[int] = field(default_factory=list)

    @property
    def area(self) -> str:
        parent = self.hospital.parent
        return parent.name if parent is not None else ""


def hospitals_for(case: Case) -> QuerySet[OrgUnit]:
    """Partner hospitals for a case: active hospitals under the city or the school's district
    (any ancestor of the school); the district's own first."""
    return (
        OrgUnit.objects.filter(
            kind=Kind.HOSPITAL, is_active=True, parent__in=case.school.ancestors()
        )
        .select_related("parent")
        .order_by("-depth", "sort_order", "name", "pk")
    )


def psychiatrists_at(hospital: OrgUnit) -> list[Any]:
    """Active users holding the psychiatrist role at `hospital`, by name."""
    users = holders.psychiatrists_by_hospital([hospital.pk]).get(hospital.pk, [])
    return sorted(users, key=lambda u: (person_name(u), u.pk))


def hospital_directory(case: Case) -> list[HospitalEntry]:
    hospitals = list(hospitals_for(case))
    by_hospital = holders.psychiatrists_by_hospital([h.pk for h in hospitals])
    suggested: dict[int, list[int]] = {}
    for build in _area_hospitals:
        for hospital_id, psychiatrist_ids in build(case).items():
            suggested.setdefault(hospital_id, []).extend(psychiatrist_ids)
    entries = [
        HospitalEntry(
            h,
            sorted(by_hospital.get(h.pk, []), key=lambda u: (person_name(u), u.pk)),
            suggested=h.pk in suggested,
            suggested_psychiatrists=suggested.get(h.pk, []),
        )
        for h in hospitals
    ]
    return sorted(entries, key=lambda e: not e.suggested)  # stable: the area's hospitals first


def person_name(user: Any) -> str:
    """Staff name, else full name, else username ("" for nobody)."""
    if user is None:
        return ""
    staff = getattr(user, "staff", None)  # RelatedObjectDoesNotExist is an AttributeError
    if staff is not None and staff.name:
        return str(staff.name)
    return str(user.get_full_name() or user.get_username())


# --- choices for the referral form --------------------------------------------------------------
def consent_contacts(case: Case) -> QuerySet[GuardianContact]:
    """Guardian contacts of this case where the guardian gave consent: the psychology teacher
    must choose the one that recorded consent to this referral (PIPL art. 23, separate consent)."""
    return (
        GuardianContact.objects.filter(case=case, consent=ConsentAnswer.GIVEN)
        .select_related("guardian")
        .order_by("-contacted_at", "-id")
    )


def open_referral(case: Case) -> Referral | None:
    return case.referrals.filter(status__in=OPEN_STATUSES).order_by("-sent_at").first()


# --- the psychology teacher's side ------------------------------------------------------------
def get_referral_for_handler(*, principal: Principal, code: Any) -> Referral:
    """A referral of a case the user runs (cancel): 403 without the capability, 404 when the case
    is out of scope."""
    principal.require(Cap.HANDLE_CASES)
    referral = (
        Referral.objects.filter(
            code=code, case__in=visible_cases(principal=principal, cap=Cap.HANDLE_CASES)
        )
        .select_related(*_RELATED)
        .first()
    )
    if referral is None:
        raise Http404
    if not can_handle(principal, referral.case):
        raise PermissionDenied
    return referral


@dataclass
class TimelineStep:
    key: str
    at: datetime.datetime | None
    by: str = ""

    @property
    def label(self) -> str:
        return str(ReferralStatus(self.key).label)


@dataclass
class ReferralRow:
    referral: Referral
    steps: list[TimelineStep]
    cancel_reason: str = ""
    show_details: bool = False  # reason and feedback (T3)


def timeline(referral: Referral) -> list[TimelineStep]:
    steps = [TimelineStep("sent", referral.sent_at, person_name(referral.sent_by))]
    if referral.received_at:
        steps.append(TimelineStep("received", referral.received_at))
    if referral.seen_at:
        steps.append(TimelineStep("seen", referral.seen_at))
    if referral.feedback_at:
        steps.append(
            TimelineStep("feedback", referral.feedback_at, person_name(referral.feedback_by))
        )
    if referral.cancelled_at:
        steps.append(
            TimelineStep("cancelled", referral.cancelled_at, person_name(referral.cancelled_by))
        )
    return steps


def case_referrals(*, principal: Principal, case: Case) -> list[ReferralRow]:
    """The case page's referral list, newest first; details only for T3 readers."""
    referrals = list(case.referrals.select_related(*_RELATED).order_by("-sent_at", "-id"))
    details = can_read_notes(principal, case)
    rows = []
    for r in referrals:
        rows.append(
            ReferralRow(
                referral=r,
                steps=timeline(r),
                cancel_reason=r.get_cancel_reason_display(),
                show_details=details,
            )
        )
    return rows


def awaiting_feedback(principal: Principal) -> QuerySet[Referral]:
    """Referrals of the cases this user sees that still wait for the hospital (sent, received,
    seen), oldest first: for the psychology teacher's worklist."""
    return (
        Referral.objects.filter(
            case__in=visible_cases(principal=principal), status__in=OPEN_STATUSES
        )
        .select_related(*_RELATED)
        .order_by("sent_at", "id")
    )


# --- what a psychiatrist reads ------------------------------------------------------------------
@dataclass
class ScreeningTotal:
    instrument: str
    score: str
    value: Any
    band: str | None
    valid: bool
    submitted_at: datetime.datetime

    @property
    def instrument_name(self) -> str:
        return instrument_name(self.instrument)

    @property
    def score_label(self) -> str:
        return score_label(self.instrument, self.score)

    @property
    def band_label(self) -> str:
        return band_label(self.instrument, self.score, self.band)


@dataclass
class ReferralSummary:
    referral: Referral
    student: Student
    age: int
    guardians: list[Guardian]
    owner_name: str
    level: str
    level_label: str
    screening: list[ScreeningTotal]
    can_act: bool


def age_on(birth_date: datetime.date, day: datetime.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def latest_screening_totals(*, principal: Principal, student: Student) -> list[ScreeningTotal]:
    """The latest response per instrument: its primary score and band (no answers)."""
    from xinqiao.screening.selectors import list_responses_for_student

    if principal.tier_for(student) < Tier.T3:
        return []
    latest: dict[str, Any] = {}
    for entry in list_responses_for_student(principal=principal, student=student):
        latest[entry.response.instrument_code] = entry  # oldest first: the last one wins
    return [
        ScreeningTotal(
            instrument=code,
            score=e.score,
            value=e.value,
            band=e.band,
            valid=e.response.valid,
            submitted_at=e.response.submitted_at,
        )
        for code, e in sorted(latest.items())
    ]


def referral_summary(*, principal: Principal, referral: Referral) -> ReferralSummary:
    """What the psychiatrist's referral page shows. The caller audits the read."""
    student = referral.student
    case = referral.case
    return ReferralSummary(
        referral=referral,
        student=student,
        age=age_on(student.birth_date, timezone.localdate()),
        guardians=list(Guardian.objects.current().filter(student=student)),
        owner_name=person_name(case.owner),
        level=case.level if case.is_open else "",
        level_label=case.get_level_display() if case.is_open else "",
        screening=latest_screening_totals(principal=principal, student=student),
        can_act=is_psychiatrist_for(principal, referral),
    )


SUMMARY_FIELDS = [
    "reason",
    "consent_basis",
    "student",
    "guardians",
    "level",
    "screening_totals",
]
